package media

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The sandbox's sample inputs (static/samples) must pass our own probes.
func TestSampleInputs(t *testing.T) {
	dir := filepath.Join("..", "..", "static", "samples")
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("sample input missing: %v", err)
		}
		return b
	}
	png := read("character.png")
	fs := newFileServer(t, bytesFile(png), false)
	img, err := localProber(t, ProberOptions{}).ProbeImage(context.Background(), fs.URL+"/character.png")
	if err != nil {
		t.Fatalf("character.png: %v", err)
	}
	if want := (ImageInfo{Format: "png", Width: 256, Height: 256, Size: int64(len(png))}); img != want {
		t.Errorf("character.png = %+v, want %+v", img, want)
	}

	mp4 := read("motion.mp4")
	fs = newFileServer(t, bytesFile(mp4), false)
	vid, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), fs.URL+"/motion.mp4")
	if err != nil {
		t.Fatalf("motion.mp4: %v", err)
	}
	if want := (VideoInfo{Duration: 12, Width: 320, Height: 240, Codec: "avc1", Size: int64(len(mp4)), FastStart: true}); vid != want {
		t.Errorf("motion.mp4 = %+v, want %+v", vid, want)
	}
	if len(png) > 16<<10 || len(mp4) > 64<<10 {
		t.Errorf("samples should stay small: %d and %d bytes", len(png), len(mp4))
	}
}
