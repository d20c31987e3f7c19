package jobs

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/poster"
	"swapdesk/internal/storage"
)

// benchPosterStore records posters and nothing else.
type benchPosterStore struct{ marked int }

func (s *benchPosterStore) DueForPoster(context.Context, int) ([]db.Job, error) { return nil, nil }
func (s *benchPosterStore) MarkPoster(context.Context, int64, string, string) error {
	s.marked++
	return nil
}
func (s *benchPosterStore) PosterAttempt(context.Context, int64, int, bool) error { return nil }
func (s *benchPosterStore) MarkPostersUnavailable(context.Context) (int64, error) { return 0, nil }
func (s *benchPosterStore) RequeuePosters(context.Context, bool, bool) (int64, error) {
	return 0, nil
}

// BenchmarkMakePoster12s720p is the whole step for a 12 s 720p result in
// a file store: copy it out, cut the poster and the 3 s preview with
// ffmpeg, store both. The target is a poster in < 2 s; the poster alone is
// BenchmarkPoster12s720p in internal/poster. The video is made here with
// ffmpeg (never committed).
func BenchmarkMakePoster12s720p(b *testing.B) {
	maker, err := poster.New(time.Minute)
	if err != nil {
		b.Skip("ffmpeg is not on PATH")
	}
	video := filepath.Join(b.TempDir(), "in.mp4")
	if out, err := exec.Command(maker.Path(), "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30:duration=12",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=12",
		"-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", video).CombinedOutput(); err != nil {
		b.Fatalf("make video: %v: %s", err, out)
	}
	body, err := os.ReadFile(video)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := storage.Open(ctx, storage.Location{Scheme: "file", Dir: b.TempDir()}, storage.Credentials{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	job := db.Job{ID: 42, ArchivePath: "results/2026-12/42.mp4", VideoDuration: 12, FinishedAt: time.Now()}
	w, err := st.Create(ctx, job.ArchivePath, storage.WriteOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w.Write(body)
	if err := w.Commit(); err != nil {
		b.Fatal(err)
	}
	store := &benchPosterStore{}
	p := NewPosters(PostersConfig{Store: store, Maker: maker, Media: st, TempDir: b.TempDir()})
	b.ResetTimer()
	for b.Loop() {
		p.Make(ctx, job)
	}
	b.ReportMetric(float64(len(body))/1e6, "MB-result")
	if store.marked != b.N {
		b.Fatalf("made %d posters in %d runs", store.marked, b.N)
	}
}
