package jobs

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/poster"
	"swapdesk/internal/storage"
)

// archivedFixture submits a job through the service, finishes it and
// archives video (the bytes of a result) under its key in st.
func archivedFixture(t *testing.T, st storage.Store, video []byte) (*fixture, db.Job) {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t, 100)
	job, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	charged := job.EstimateCredits
	if _, _, err := f.store.ApplyUpdate(ctx, job.ID, db.Update{Status: db.JobSucceeded, Source: db.SourcePoll,
		ResultURL: "https://akool.example/r.mp4", VideoDuration: 12, Charged: &charged, ExpiresAt: f.now.Add(7 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	job, err = f.store.JobByID(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	key := ResultKey(job.ID, job.FinishedAt)
	w, err := st.Create(ctx, key, storage.WriteOptions{ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(video); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.store.MarkArchived(ctx, job.ID, key, "", int64(len(video))); err != nil {
		t.Fatal(err)
	}
	if job, err = f.store.JobByID(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	return f, job
}

// fakeMaker writes tiny stand-ins for what ffmpeg makes, or fails.
type fakeMaker struct {
	fail    error
	calls   atomic.Int64
	onStart func() // run before each poster
}

func (m *fakeMaker) Poster(_ context.Context, in, out string, _ float64) error {
	m.calls.Add(1)
	if m.onStart != nil {
		m.onStart()
	}
	if _, err := os.Stat(in); err != nil {
		return err
	}
	if m.fail != nil {
		return m.fail
	}
	return os.WriteFile(out, []byte("\xff\xd8\xff\xe0 a jpeg"), 0o600)
}

func (m *fakeMaker) Preview(_ context.Context, _, out string, _ float64) error {
	return os.WriteFile(out, []byte(mp4Header()), 0o600)
}

func jobState(t *testing.T, f *fixture, id int64) db.Job {
	t.Helper()
	j, err := f.store.JobByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// With ffmpeg, an archived result gets a real poster and preview, once.
func TestPostersMadeOnceWithFFmpeg(t *testing.T) {
	maker, err := poster.New(time.Minute)
	if err != nil {
		t.Skip("ffmpeg is not on PATH; install it to run this test")
	}
	video := filepath.Join(t.TempDir(), "in.mp4")
	if b, err := exec.Command(maker.Path(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10:duration=2",
		"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", video).CombinedOutput(); err != nil {
		t.Fatalf("make video: %v: %s", err, b)
	}
	b, err := os.ReadFile(video)
	if err != nil {
		t.Fatal(err)
	}
	st := fileMedia(t, t.TempDir())
	f, job := archivedFixture(t, st, b)
	p := NewPosters(PostersConfig{Store: f.store, Maker: maker, Media: st, TempDir: t.TempDir()})
	ctx := context.Background()
	if n := p.MakeDue(ctx); n != 1 {
		t.Fatalf("made %d posters, want 1", n)
	}
	got := jobState(t, f, job.ID)
	if got.PosterState != db.PosterDone || got.PosterKey != PosterKey(job.ID, job.FinishedAt) || got.PreviewKey != PreviewKey(job.ID, job.FinishedAt) {
		t.Fatalf("state %q poster %q preview %q", got.PosterState, got.PosterKey, got.PreviewKey)
	}
	for _, key := range []string{got.PosterKey, got.PreviewKey} {
		if info, err := st.Stat(ctx, key); err != nil || info.Size == 0 {
			t.Errorf("%s: %+v, %v", key, info, err)
		}
	}
	if n := p.MakeDue(ctx); n != 0 {
		t.Errorf("a second run made %d posters, want 0", n)
	}
}

// A failing poster is retried after a backoff, then given up as failed.
func TestPostersRetryThenFail(t *testing.T) {
	st := fileMedia(t, t.TempDir())
	f, job := archivedFixture(t, st, []byte(mp4Header()))
	maker := &fakeMaker{fail: errors.New("ffmpeg: exit status 1: moov atom not found")}
	now := f.now
	p := NewPosters(PostersConfig{Store: f.store, Maker: maker, Media: st, TempDir: t.TempDir(), MaxAttempts: 2,
		RetryBase: time.Minute, RetryMax: time.Minute, Now: func() time.Time { return now }})
	ctx := context.Background()
	p.MakeDue(ctx)
	if got := jobState(t, f, job.ID); got.PosterState != db.PosterNone || got.PosterAttempts != 1 {
		t.Fatalf("after one failure: state %q, attempts %d; want '' and 1", got.PosterState, got.PosterAttempts)
	}
	if n := p.MakeDue(ctx); n != 0 {
		t.Fatalf("retried at once (%d), want after the backoff", n)
	}
	now = now.Add(2 * time.Minute)
	if n := p.MakeDue(ctx); n != 1 {
		t.Fatalf("after the backoff tried %d, want 1", n)
	}
	got := jobState(t, f, job.ID)
	if got.PosterState != db.PosterFailed || got.PosterAttempts != 2 || got.PosterKey != "" {
		t.Fatalf("after the last failure: state %q, attempts %d, key %q", got.PosterState, got.PosterAttempts, got.PosterKey)
	}
	if n := p.MakeDue(ctx); n != 0 || maker.calls.Load() != 2 {
		t.Errorf("a failed poster was tried again: %d, calls %d", n, maker.calls.Load())
	}
	// swapdesk media posters puts it back in line.
	if n, err := p.RequeuePosters(ctx, false); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	maker.fail = nil
	if p.MakeDue(ctx); jobState(t, f, job.ID).PosterState != db.PosterDone {
		t.Error("requeued poster not made")
	}
}

// Without ffmpeg results are marked unavailable; once it is there they are
// made.
func TestPostersUnavailableWithoutFFmpeg(t *testing.T) {
	st := fileMedia(t, t.TempDir())
	f, job := archivedFixture(t, st, []byte(mp4Header()))
	ctx := context.Background()
	NewPosters(PostersConfig{Store: f.store, Media: st}).MakeDue(ctx)
	if got := jobState(t, f, job.ID); got.PosterState != db.PosterUnavailable {
		t.Fatalf("state %q, want unavailable", got.PosterState)
	}
	p := NewPosters(PostersConfig{Store: f.store, Maker: &fakeMaker{}, Media: st, TempDir: t.TempDir()})
	if n := p.MakeDue(ctx); n != 0 {
		t.Fatalf("made %d posters before Resume, want 0", n)
	}
	p.Resume(ctx)
	if n := p.MakeDue(ctx); n != 1 || jobState(t, f, job.ID).PosterState != db.PosterDone {
		t.Fatalf("after Resume made %d, state %q; want 1, done", n, jobState(t, f, job.ID).PosterState)
	}
}

// A job deleted while its poster is made keeps no files.
func TestPosterOfAJobDeletedMeanwhile(t *testing.T) {
	st := fileMedia(t, t.TempDir())
	f, job := archivedFixture(t, st, []byte(mp4Header()))
	ctx := context.Background()
	maker := &fakeMaker{onStart: func() {
		if _, err := f.store.DeleteJob(ctx, job.ID, f.userID); err != nil {
			t.Error(err)
		}
	}}
	p := NewPosters(PostersConfig{Store: f.store, Maker: maker, Media: st, TempDir: t.TempDir()})
	p.MakeDue(ctx)
	for _, key := range []string{PosterKey(job.ID, job.FinishedAt), PreviewKey(job.ID, job.FinishedAt)} {
		if _, err := st.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s of a deleted job: %v, want not found", key, err)
		}
	}
}
