package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/poster"
	"swapdesk/internal/storage"
)

// PosterStore is what the poster maker needs from the database.
type PosterStore interface {
	DueForPoster(ctx context.Context, limit int) ([]db.Job, error)
	MarkPoster(ctx context.Context, id int64, posterKey, previewKey string) error
	PosterAttempt(ctx context.Context, id int64, attempts int, final bool) error
	MarkPostersUnavailable(ctx context.Context) (int64, error)
	RequeuePosters(ctx context.Context, failed, all bool) (int64, error)
}

// FrameMaker cuts a poster and a preview clip out of a local video file
// (poster.Maker, ffmpeg).
type FrameMaker interface {
	Poster(ctx context.Context, in, out string, at float64) error
	Preview(ctx context.Context, in, out string, at float64) error
}

// PosterMedia is the media store as the poster maker uses it: it reads
// archived results and writes posters and previews.
type PosterMedia interface {
	Open(ctx context.Context, key string) (storage.Reader, error)
	Create(ctx context.Context, key string, opts storage.WriteOptions) (storage.Writer, error)
	Delete(ctx context.Context, key string) error
}

// PostersConfig builds a Posters.
type PostersConfig struct {
	Store PosterStore
	// Maker is ffmpeg; nil when it is not installed: results are then
	// marked 'unavailable' and pages show the character image instead.
	Maker FrameMaker
	Media PosterMedia
	Log   *slog.Logger
	Now   func() time.Time
	// TempDir holds the copy of a result ffmpeg reads and what it writes
	// (default os.TempDir()).
	TempDir string
	// MaxAttempts is how many failures give a poster up as 'failed'
	// (default 3); RetryBase and RetryMax bound the pause between them
	// (defaults 1 min and 30 min).
	MaxAttempts         int
	RetryBase, RetryMax time.Duration
	// Tick is how often the loop looks for results without a poster when
	// nobody kicks it (default 1 min): the backfill of older results.
	Tick time.Duration
}

// Posters makes a poster and a preview clip, once, for every archived
// result: right after the archiver kicks it, and for results archived
// before posters existed as a background backfill. One at a time: ffmpeg
// takes a core, and the machine serves pages too.
type Posters struct {
	cfg PostersConfig
	log *slog.Logger
	loop
	held *holds // failed attempts waiting for their backoff
}

// posterBatch is how many results one query of the loop fetches.
const posterBatch = 10

// NewPosters returns a Posters; call Run to start it.
func NewPosters(cfg PostersConfig) *Posters {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = time.Minute
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Minute
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Minute
	}
	return &Posters{cfg: cfg, log: cfg.Log, loop: newLoop(cfg.Tick), held: newHolds()}
}

// Available reports whether posters can be made (ffmpeg is installed).
func (p *Posters) Available() bool { return p.cfg.Maker != nil }

// Run makes due posters until ctx is cancelled; Kick makes it look now.
// With ffmpeg installed it first puts back in line the results marked
// 'unavailable' while it was not.
func (p *Posters) Run(ctx context.Context) {
	p.Resume(ctx)
	p.loop.run(ctx, p.MakeDue)
}

// Resume puts the results marked 'unavailable' back in line when ffmpeg is
// installed now. Run calls it first.
func (p *Posters) Resume(ctx context.Context) {
	if !p.Available() {
		return
	}
	if n, err := p.cfg.Store.RequeuePosters(ctx, false, false); err != nil {
		p.log.Error("requeue posters", "err", err)
	} else if n > 0 {
		p.log.Info("ffmpeg found: making posters for results archived without it", "count", n)
	}
}

// MakeDue makes the poster of every result waiting for one, each at most
// once per call, and returns how many it tried. Without ffmpeg it marks
// them 'unavailable' instead.
func (p *Posters) MakeDue(ctx context.Context) int {
	if !p.Available() {
		if n, err := p.cfg.Store.MarkPostersUnavailable(ctx); err != nil {
			p.log.Error("mark posters unavailable", "err", err)
		} else if n > 0 {
			p.log.Info("ffmpeg is not installed: results shown with their character image", "count", n)
		}
		return 0
	}
	tried := map[int64]bool{}
	n := 0
	for ctx.Err() == nil {
		now := p.cfg.Now()
		limit := posterBatch + p.held.count(now)
		due, err := p.cfg.Store.DueForPoster(ctx, limit)
		if err != nil {
			p.log.Error("find results without a poster", "err", err)
			return n
		}
		fresh := 0
		for _, j := range due {
			if tried[j.ID] || p.held.has(j.ID, now) {
				continue
			}
			tried[j.ID] = true
			fresh++
			p.Make(ctx, j)
			n++
		}
		if fresh == 0 || len(due) < limit {
			return n
		}
	}
	return n
}

// Make makes one attempt at job j's poster and preview and records the
// outcome: done, a retry after a backoff, or 'failed' after MaxAttempts.
func (p *Posters) Make(ctx context.Context, j db.Job) {
	start := time.Now()
	posterKey, previewKey, err := p.make(ctx, j)
	if err == nil {
		err = p.cfg.Store.MarkPoster(ctx, j.ID, posterKey, previewKey)
		if errors.Is(err, apperr.ErrNotFound) {
			// Deleted (or no longer archived) meanwhile: nothing may keep
			// its frames.
			p.remove(ctx, j.ID, posterKey, previewKey)
			return
		}
		if err == nil {
			p.log.Info("poster made", "job_id", j.ID, "took", time.Since(start).Round(time.Millisecond))
			return
		}
	}
	if ctx.Err() != nil {
		return
	}
	attempts := j.PosterAttempts + 1
	final := attempts >= p.cfg.MaxAttempts
	p.log.Warn("poster not made", "job_id", j.ID, "attempt", attempts, "final", final, "err", err)
	if err := p.cfg.Store.PosterAttempt(ctx, j.ID, attempts, final); err != nil {
		p.log.Error("record poster attempt", "job_id", j.ID, "err", err)
	}
	if !final {
		p.held.set(j.ID, p.cfg.Now().Add(Backoff(p.cfg.RetryBase, p.cfg.RetryMax, attempts-1)))
	}
}

func (p *Posters) remove(ctx context.Context, id int64, keys ...string) {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if err := p.cfg.Media.Delete(context.WithoutCancel(ctx), k); err != nil {
			p.log.Error("remove unrecorded poster", "job_id", id, "key", k, "err", err)
		}
	}
}

// PosterTempDir makes (if needed) dataDir/tmp, where the poster maker
// keeps its working copies, and removes what a killed run left there.
func PosterTempDir(dataDir string) (string, error) {
	dir := filepath.Join(dataDir, "tmp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", dir, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, posterTempPattern))
	for _, d := range left {
		os.RemoveAll(d)
	}
	return dir, nil
}

const posterTempPattern = "swapdesk-poster-*"

// PosterKey and PreviewKey are the store keys of job id's poster and
// preview clip, by the month its result was archived from (as ResultKey).
func PosterKey(id int64, finished time.Time) string {
	return "posters/" + finished.UTC().Format("2006-01") + "/" + strconv.FormatInt(id, 10) + ".jpg"
}

// PreviewKey: see PosterKey.
func PreviewKey(id int64, finished time.Time) string {
	return "previews/" + finished.UTC().Format("2006-01") + "/" + strconv.FormatInt(id, 10) + ".mp4"
}

// make copies j's archived result to a temp file for ffmpeg (one way for
// every store: ffmpeg never reaches the network or the store itself), cuts
// the poster and the preview, and stores both.
func (p *Posters) make(ctx context.Context, j db.Job) (posterKey, previewKey string, err error) {
	dir, err := os.MkdirTemp(p.cfg.TempDir, posterTempPattern)
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(dir)
	in := dir + "/result.mp4"
	if err := p.copyOut(ctx, j.ArchivePath, in); err != nil {
		return "", "", err
	}
	length := j.VideoDuration
	if length <= 0 {
		length = j.BilledSeconds
	}
	at := poster.At(length)
	jpg, clip := dir+"/poster.jpg", dir+"/preview.mp4"
	if err := p.cfg.Maker.Poster(ctx, in, jpg, at); err != nil {
		return "", "", fmt.Errorf("poster: %w", err)
	}
	if err := p.cfg.Maker.Preview(ctx, in, clip, at); err != nil {
		return "", "", fmt.Errorf("preview: %w", err)
	}
	posterKey, previewKey = PosterKey(j.ID, j.FinishedAt), PreviewKey(j.ID, j.FinishedAt)
	if err := p.store(ctx, jpg, posterKey, "image/jpeg"); err != nil {
		return "", "", err
	}
	if err := p.store(ctx, clip, previewKey, "video/mp4"); err != nil {
		p.remove(ctx, j.ID, posterKey)
		return "", "", err
	}
	return posterKey, previewKey, nil
}

// copyOut streams the object key into the file path.
func (p *Posters) copyOut(ctx context.Context, key, path string) error {
	r, err := p.cfg.Media.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("open archived result: %w", err)
	}
	defer r.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("copy archived result: %w", err)
	}
	return f.Close()
}

// store writes the file path into the media store under key, committed
// only when whole.
func (p *Posters) store(ctx context.Context, path, key, contentType string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return err
	} else if st.Size() == 0 {
		return fmt.Errorf("ffmpeg wrote an empty %s", contentType)
	}
	w, err := p.cfg.Media.Create(ctx, key, storage.WriteOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	defer w.Abort()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	return nil
}

// RequeuePosters puts results back in line for a poster: those without
// one (unavailable or failed), or with all every result. It returns how
// many (for `swapdesk media posters`).
func (p *Posters) RequeuePosters(ctx context.Context, all bool) (int64, error) {
	return p.cfg.Store.RequeuePosters(ctx, true, all)
}
