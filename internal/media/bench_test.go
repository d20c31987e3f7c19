package media

import (
	"context"
	"strconv"
	"testing"
)

const benchVideoSize = 50_000_000 // 50 MB

// benchProbeVideo probes a fresh URL each iteration (no cache hits) and
// reports the bytes and requests each probe cost.
func benchProbeVideo(b *testing.B, moovFirst bool) {
	open, moovSize := bigMP4(b, benchVideoSize, moovFirst, false)
	fs := newFileServer(b, open, false)
	p := localProber(b, ProberOptions{})
	ctx := context.Background()
	before := p.Fetcher().Stats()
	i := 0
	for b.Loop() {
		i++
		info, err := p.ProbeVideo(ctx, fs.URL+"/v.mp4?n="+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		if info.Duration != 2 {
			b.Fatalf("duration %v", info.Duration)
		}
	}
	after := p.Fetcher().Stats()
	b.ReportMetric(float64(after.BytesRead-before.BytesRead)/float64(i), "bytes-fetched/op")
	b.ReportMetric(float64(after.Requests-before.Requests)/float64(i), "requests/op")
	b.ReportMetric(float64(moovSize), "moov-bytes")
}

// Target: <= 64 KiB per probe.
func BenchmarkProbeVideo50MBFastStart(b *testing.B) { benchProbeVideo(b, true) }

// Target: <= 64 KiB + the moov size per probe.
func BenchmarkProbeVideo50MBMoovAtEnd(b *testing.B) { benchProbeVideo(b, false) }

func BenchmarkProbeVideoWarmCache(b *testing.B) {
	fs := newFileServer(b, bytesFile(readFixture(b, "faststart.mp4")), false)
	p := localProber(b, ProberOptions{})
	ctx := context.Background()
	link := fs.URL + "/v.mp4"
	if _, err := p.ProbeVideo(ctx, link); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.ProbeVideo(ctx, link); err != nil {
			b.Fatal(err)
		}
	}
	if fs.hits.Load() != 1 {
		b.Fatalf("hits = %d, want 1", fs.hits.Load())
	}
}

func BenchmarkProbeImageWarmCache(b *testing.B) {
	fs := newFileServer(b, bytesFile(readFixture(b, "image.png")), false)
	p := localProber(b, ProberOptions{})
	ctx := context.Background()
	link := fs.URL + "/a.png"
	if _, err := p.ProbeImage(ctx, link); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.ProbeImage(ctx, link); err != nil {
			b.Fatal(err)
		}
	}
	if fs.hits.Load() != 1 {
		b.Fatalf("hits = %d, want 1", fs.hits.Load())
	}
}

func BenchmarkValidateURL(b *testing.B) {
	for b.Loop() {
		if _, err := ValidateURL("https://cdn.example.com/media/2026/01/motion-clip.mp4?sig=abc123", false); err != nil {
			b.Fatal(err)
		}
	}
}
