package poster

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// needFFmpeg skips tb without ffmpeg on PATH (CI installs it).
func needFFmpeg(tb testing.TB) *Maker {
	tb.Helper()
	m, err := New(time.Minute)
	if err != nil {
		tb.Skip("ffmpeg is not on PATH; install it (apt-get install ffmpeg) to run this test")
	}
	return m
}

// testVideo makes a seconds-long H.264 MP4 of width x height with sound,
// with ffmpeg's test source, in a temp dir of tb (never committed).
func testVideo(tb testing.TB, m *Maker, width, height, seconds int) string {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "in.mp4")
	size := strconv.Itoa(width) + "x" + strconv.Itoa(height)
	cmd := exec.Command(m.Path(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30:duration="+strconv.Itoa(seconds),
		"-f", "lavfi", "-i", "sine=frequency=440:duration="+strconv.Itoa(seconds),
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("make test video: %v: %s", err, b)
	}
	return out
}

// probe returns ffprobe's answer about a file's first video stream and its
// audio streams.
func probe(t *testing.T, path string) string {
	t.Helper()
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		t.Skip("ffprobe is not on PATH")
	}
	b, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height:format=duration",
		"-of", "compact", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, b)
	}
	return string(b)
}

func TestPosterAndPreview(t *testing.T) {
	m := needFFmpeg(t)
	in := testVideo(t, m, 1280, 720, 4)
	dir := t.TempDir()
	ctx := context.Background()

	jpg := filepath.Join(dir, "poster.jpg")
	if err := m.Poster(ctx, in, jpg, At(4)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jpg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("poster is not a JPEG: % x", b[:min(8, len(b))])
	}
	if got := probe(t, jpg); !bytes.Contains([]byte(got), []byte("width=640|height=360")) {
		t.Errorf("poster: %s, want 640x360", got)
	}

	clip := filepath.Join(dir, "preview.mp4")
	if err := m.Preview(ctx, in, clip, At(4)); err != nil {
		t.Fatal(err)
	}
	got := probe(t, clip)
	for _, want := range []string{"codec_name=h264", "width=480|height=270"} {
		if !bytes.Contains([]byte(got), []byte(want)) {
			t.Errorf("preview: %s, want %s", got, want)
		}
	}
	if bytes.Contains([]byte(got), []byte("codec_type=audio")) {
		t.Errorf("preview has sound: %s", got)
	}
	// faststart: the index (moov) comes before the media data (mdat).
	b, err = os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	if moov, mdat := bytes.Index(b, []byte("moov")), bytes.Index(b, []byte("mdat")); moov < 0 || moov > mdat {
		t.Errorf("preview is not faststart: moov at %d, mdat at %d", moov, mdat)
	}
}

// A file that is not a video fails with ffmpeg's reason, and a video
// smaller than the poster width is not enlarged.
func TestPosterBadInputAndSmallVideo(t *testing.T) {
	m := needFFmpeg(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.mp4")
	if err := os.WriteFile(bad, []byte("<html>not a video</html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := m.Poster(context.Background(), bad, filepath.Join(dir, "p.jpg"), 0); err == nil {
		t.Fatal("poster of an HTML page: no error")
	}
	small := testVideo(t, m, 320, 240, 1)
	out := filepath.Join(dir, "small.jpg")
	if err := m.Poster(context.Background(), small, out, At(1)); err != nil {
		t.Fatal(err)
	}
	if got := probe(t, out); !bytes.Contains([]byte(got), []byte("width=320|height=240")) {
		t.Errorf("small poster: %s, want 320x240 (not enlarged)", got)
	}
}

func TestAt(t *testing.T) {
	for _, c := range []struct{ in, want float64 }{{0, 0}, {-1, 0}, {4, 0.4}, {10, 1}, {12, 1}, {120, 1}} {
		if got := At(c.in); got != c.want {
			t.Errorf("At(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// BenchmarkPoster12s720p makes the poster of a 12 s 720p result (the
// target: < 2 s each), and BenchmarkPreview12s720p its preview clip.
func BenchmarkPoster12s720p(b *testing.B) {
	m := needFFmpeg(b)
	in := testVideo(b, m, 1280, 720, 12)
	out := filepath.Join(b.TempDir(), "p.jpg")
	b.ResetTimer()
	for b.Loop() {
		if err := m.Poster(context.Background(), in, out, At(12)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPreview12s720p(b *testing.B) {
	m := needFFmpeg(b)
	in := testVideo(b, m, 1280, 720, 12)
	out := filepath.Join(b.TempDir(), "p.mp4")
	b.ResetTimer()
	for b.Loop() {
		if err := m.Preview(context.Background(), in, out, At(12)); err != nil {
			b.Fatal(err)
		}
	}
}
