package jobs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"swapdesk/db"
	"swapdesk/internal/media"
)

// ArchiveStore is what the archiver needs from the database.
type ArchiveStore interface {
	DueForArchive(ctx context.Context, now time.Time, limit int) ([]db.Job, error)
	ScheduleArchive(ctx context.Context, id int64, at time.Time, attempts int, detail string) error
	MarkArchived(ctx context.Context, id int64, path, sha256 string, size int64) error
	EndArchive(ctx context.Context, id int64, state, detail string) error
}

// Opener streams a URL through the safe fetcher.
type Opener interface {
	Open(ctx context.Context, rawURL string, maxBytes int64) (*media.Response, error)
}

// ArchiverConfig builds an Archiver.
type ArchiverConfig struct {
	Store ArchiveStore
	Open  Opener
	// Dir is where archived videos go (DATA_DIR/media).
	Dir string
	Log *slog.Logger
	Now func() time.Time
	// MaxBytes caps one result (default 2 GiB).
	MaxBytes int64
	// RetryBase and RetryMax bound the backoff between attempts (defaults
	// 30 s and 1 h). Attempts go on until Akool's URL expires.
	RetryBase, RetryMax time.Duration
	// Tick is how often the loop looks for due work (default 2 s).
	Tick time.Duration
	// Timeout bounds one download (default 30 min).
	Timeout time.Duration
}

// Archiver copies finished results into the data directory before Akool
// deletes them (7 days after completion), so the gallery outlives Akool.
type Archiver struct {
	cfg ArchiverConfig
	log *slog.Logger
	loop
}

// NewArchiver returns an Archiver; call Run to start it.
func NewArchiver(cfg ArchiverConfig) *Archiver {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 2 << 30
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = time.Hour
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Minute
	}
	return &Archiver{cfg: cfg, log: cfg.Log, loop: newLoop(cfg.Tick)}
}

// Run archives due results until ctx is cancelled; Kick makes it look now.
func (a *Archiver) Run(ctx context.Context) { a.loop.run(ctx, a.ArchiveDue) }

// ArchiveDue works through every result due now and returns how many it
// tried.
func (a *Archiver) ArchiveDue(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		due, err := a.cfg.Store.DueForArchive(ctx, a.cfg.Now(), 10)
		if err != nil {
			a.log.Error("find results to archive", "err", err)
			return n
		}
		if len(due) == 0 {
			return n
		}
		for _, j := range due {
			a.Archive(ctx, j)
			n++
		}
	}
	return n
}

// permanentError is a result that no retry will fix; its message is
// user-safe.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// Archive makes one attempt at job j's result and records the outcome:
// archived, a retry later, expired (Akool's URL died first) or failed.
func (a *Archiver) Archive(ctx context.Context, j db.Job) {
	now := a.cfg.Now()
	if !j.ResultExpiresAt.IsZero() && !now.Before(j.ResultExpiresAt) {
		a.end(ctx, j, db.ArchiveExpired, "Akool's copy expired before it could be archived")
		return
	}
	rel, sum, size, err := a.download(ctx, j)
	if err == nil {
		if err := a.cfg.Store.MarkArchived(ctx, j.ID, rel, sum, size); err != nil {
			a.log.Error("record archive", "job_id", j.ID, "err", err)
			_ = os.Remove(filepath.Join(a.cfg.Dir, rel))
			return
		}
		a.log.Info("result archived", "job_id", j.ID, "bytes", size, "sha256", sum)
		return
	}
	if ctx.Err() != nil {
		return
	}
	var perm *permanentError
	if errors.As(err, &perm) {
		a.end(ctx, j, db.ArchiveFailed, perm.msg)
		return
	}
	attempts := j.ArchiveAttempts + 1
	next := now.Add(Backoff(a.cfg.RetryBase, a.cfg.RetryMax, attempts-1))
	if !j.ResultExpiresAt.IsZero() {
		// The last useful try is a minute before Akool deletes its copy.
		last := j.ResultExpiresAt.Add(-time.Minute)
		if next.After(last) {
			next = last
		}
		if !next.After(now) {
			a.end(ctx, j, db.ArchiveExpired, "Akool's copy expired before it could be archived: "+userMessage(err))
			return
		}
	}
	a.log.Warn("archive failed, will retry", "job_id", j.ID, "attempt", attempts, "next", next, "err", err)
	if serr := a.cfg.Store.ScheduleArchive(ctx, j.ID, next, attempts, userMessage(err)); serr != nil {
		a.log.Error("schedule archive", "job_id", j.ID, "err", serr)
	}
}

func (a *Archiver) end(ctx context.Context, j db.Job, state, detail string) {
	a.log.Warn("archive given up", "job_id", j.ID, "state", state, "detail", detail)
	if err := a.cfg.Store.EndArchive(ctx, j.ID, state, detail); err != nil {
		a.log.Error("end archive", "job_id", j.ID, "err", err)
	}
}

// download streams the result into a temp file (never holding it in
// memory), checks it is an MP4, fsyncs and renames it into place. It
// returns the path relative to Dir, the SHA-256 and the size.
func (a *Archiver) download(ctx context.Context, j db.Job) (rel, sum string, size int64, err error) {
	if j.ResultURL == "" {
		return "", "", 0, &permanentError{"Akool gave no result URL"}
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	res, err := a.cfg.Open.Open(ctx, j.ResultURL, a.cfg.MaxBytes+1)
	if err != nil {
		return "", "", 0, permanentIf(err, a.cfg.MaxBytes)
	}
	defer res.Body.Close()

	sub := j.FinishedAt.UTC().Format("2006-01")
	dir := filepath.Join(a.cfg.Dir, sub)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", 0, err
	}
	tmp, err := os.CreateTemp(dir, ".incoming-*.mp4")
	if err != nil {
		return "", "", 0, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	head := &headCapture{max: 12}
	size, err = io.Copy(io.MultiWriter(tmp, h, head), res.Body)
	if err != nil {
		return "", "", 0, permanentIf(fmt.Errorf("download: %w", err), a.cfg.MaxBytes)
	}
	if size > a.cfg.MaxBytes {
		return "", "", 0, &permanentError{"the result is larger than " + sizeText(a.cfg.MaxBytes)}
	}
	if res.ContentLength > 0 && size != res.ContentLength {
		return "", "", 0, fmt.Errorf("download: got %d of %d bytes", size, res.ContentLength)
	}
	if len(head.b) < 12 || !bytes.Equal(head.b[4:8], []byte("ftyp")) {
		return "", "", 0, fmt.Errorf("the result is not an MP4 video")
	}
	if err = tmp.Sync(); err != nil {
		return "", "", 0, err
	}
	if err = tmp.Close(); err != nil {
		return "", "", 0, err
	}
	name := strconv.FormatInt(j.ID, 10) + ".mp4"
	if err = os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return "", "", 0, err
	}
	syncDir(dir)
	return filepath.ToSlash(filepath.Join(sub, name)), hex.EncodeToString(h.Sum(nil)), size, nil
}

// permanentIf marks the fetch errors no retry will fix: a result over the
// size cap, or a URL we may not fetch at all.
func permanentIf(err error, maxBytes int64) error {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &permanentError{"the result is larger than " + sizeText(maxBytes)}
	case errors.Is(err, media.ErrForbiddenAddress), errors.Is(err, media.ErrInvalidURL):
		return &permanentError{"Akool's result link cannot be fetched: " + userMessage(err)}
	}
	return err
}

func sizeText(n int64) string {
	if n >= 1<<20 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// headCapture keeps the first max bytes written to it.
type headCapture struct {
	b   []byte
	max int
}

func (h *headCapture) Write(p []byte) (int, error) {
	if need := h.max - len(h.b); need > 0 {
		h.b = append(h.b, p[:min(need, len(p))]...)
	}
	return len(p), nil
}

// syncDir makes a rename durable; failures only cost durability.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

func userMessage(err error) string {
	var me *media.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}
