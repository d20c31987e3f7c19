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
	"strconv"
	"time"

	"swapdesk/db"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
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

// MediaStore is where archived results go (see internal/storage).
type MediaStore interface {
	Create(ctx context.Context, key string, opts storage.WriteOptions) (storage.Writer, error)
	Delete(ctx context.Context, key string) error
}

// ArchiverConfig builds an Archiver.
type ArchiverConfig struct {
	Store ArchiveStore
	Open  Opener
	// Media is where archived videos go, under results/YYYY-MM/<job>.mp4.
	Media MediaStore
	Log   *slog.Logger
	Now   func() time.Time
	// MaxBytes caps one result (default 2 GiB).
	MaxBytes int64
	// RetryBase and RetryMax bound the backoff between attempts (defaults
	// 30 s and 1 h). Attempts go on until Akool's URL expires.
	RetryBase, RetryMax time.Duration
	// Tick is how often the loop looks for due work (default 2 s).
	Tick time.Duration
	// Timeout bounds one download (default 30 min).
	Timeout time.Duration
	// OnArchived, when set, is called with each job whose result was just
	// archived (the poster maker is kicked). It must not block.
	OnArchived func(db.Job)
}

// Archiver copies finished results into the data directory before Akool
// deletes them (7 days after completion), so the gallery outlives Akool.
type Archiver struct {
	cfg ArchiverConfig
	log *slog.Logger
	loop
	held *holds // jobs whose outcome could not be written
}

// archiveBatch is how many due results one query of the loop fetches.
const archiveBatch = 10

// maxNotMP4 is how many downloads must find something other than an MP4
// before the result is given up as archive_failed.
const maxNotMP4 = 3

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
	return &Archiver{cfg: cfg, log: cfg.Log, loop: newLoop(cfg.Tick), held: newHolds()}
}

// Run archives due results until ctx is cancelled; Kick makes it look now.
func (a *Archiver) Run(ctx context.Context) { a.loop.run(ctx, a.ArchiveDue) }

// ArchiveDue works through every result due now, each at most once, and
// returns how many it tried.
func (a *Archiver) ArchiveDue(ctx context.Context) int {
	now := a.cfg.Now()
	tried := map[int64]bool{}
	n := 0
	for ctx.Err() == nil {
		limit := archiveBatch + a.held.count(now)
		due, err := a.cfg.Store.DueForArchive(ctx, now, limit)
		if err != nil {
			a.log.Error("find results to archive", "err", err)
			return n
		}
		fresh := 0
		for _, j := range due {
			if tried[j.ID] || a.held.has(j.ID, now) {
				continue
			}
			tried[j.ID] = true
			fresh++
			a.Archive(ctx, j)
			n++
		}
		if fresh == 0 || len(due) < limit {
			return n
		}
	}
	return n
}

// permanentError is a result that no retry will fix; its message is
// user-safe.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// Archive makes one attempt at job j's result and records the outcome:
// archived, a retry later, expired (Akool's URL died first) or failed. When
// the outcome cannot be recorded the job is held back (RetryBase·2ⁿ) rather
// than downloaded again at once.
func (a *Archiver) Archive(ctx context.Context, j db.Job) {
	now := a.cfg.Now()
	if !j.ResultExpiresAt.IsZero() && !now.Before(j.ResultExpiresAt) {
		a.end(ctx, j, db.ArchiveExpired, "Akool's copy expired before it could be archived")
		return
	}
	attempts := j.ArchiveAttempts + 1
	key, sum, size, err := a.download(ctx, j)
	if err == nil {
		if err := a.cfg.Store.MarkArchived(ctx, j.ID, key, sum, size); err != nil {
			a.log.Error("record archive", "job_id", j.ID, "err", err)
			if err := a.cfg.Media.Delete(context.WithoutCancel(ctx), key); err != nil {
				a.log.Error("remove unrecorded archive", "job_id", j.ID, "key", key, "err", err)
			}
			a.held.set(j.ID, now.Add(Backoff(a.cfg.RetryBase, a.cfg.RetryMax, attempts-1)))
			return
		}
		a.log.Info("result archived", "job_id", j.ID, "bytes", size, "sha256", sum)
		if a.cfg.OnArchived != nil {
			a.cfg.OnArchived(j)
		}
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
	if errors.Is(err, errNotMP4) && attempts >= maxNotMP4 {
		// Akool's link keeps serving something else (an error page, say):
		// more tries until it expires would not change that.
		a.end(ctx, j, db.ArchiveFailed, fmt.Sprintf("Akool's result is not an MP4 video (checked %d times).", attempts))
		return
	}
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
		a.held.set(j.ID, next)
	}
}

func (a *Archiver) end(ctx context.Context, j db.Job, state, detail string) {
	a.log.Warn("archive given up", "job_id", j.ID, "state", state, "detail", detail)
	if err := a.cfg.Store.EndArchive(ctx, j.ID, state, detail); err != nil {
		a.log.Error("end archive", "job_id", j.ID, "err", err)
		a.held.set(j.ID, a.cfg.Now().Add(Backoff(a.cfg.RetryBase, a.cfg.RetryMax, j.ArchiveAttempts)))
	}
}

// errNotMP4 is a result that does not start like an MP4 file.
var errNotMP4 = errors.New("the result is not an MP4 video")

// ResultKey is the store key of job id's result, finished at finished.
// Results archived before the media store existed keep the key the
// database recorded for them ("YYYY-MM/<job>.mp4").
func ResultKey(id int64, finished time.Time) string {
	return "results/" + finished.UTC().Format("2006-01") + "/" + strconv.FormatInt(id, 10) + ".mp4"
}

// download checks that the result starts like an MP4 and streams it into
// the media store (never holding it in memory), checking its size and
// computing its SHA-256 on the way; the object is committed only when
// both check out. It returns the store key, the SHA-256 and the size.
func (a *Archiver) download(ctx context.Context, j db.Job) (key, sum string, size int64, err error) {
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
	// An MP4 starts with its ftyp box: check before writing anything, so an
	// error page is not streamed to the store first.
	head := make([]byte, 12)
	if n, err := io.ReadFull(res.Body, head); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			if res.ContentLength > int64(n) {
				return "", "", 0, fmt.Errorf("download: got %d of %d bytes", n, res.ContentLength)
			}
			return "", "", 0, errNotMP4
		}
		return "", "", 0, permanentIf(fmt.Errorf("download: %w", err), a.cfg.MaxBytes)
	}
	if !bytes.Equal(head[4:8], []byte("ftyp")) {
		return "", "", 0, errNotMP4
	}

	key = ResultKey(j.ID, j.FinishedAt)
	w, err := a.cfg.Media.Create(ctx, key, storage.WriteOptions{ContentType: "video/mp4"})
	if err != nil {
		return "", "", 0, fmt.Errorf("media store: %w", err)
	}
	defer w.Abort() // after Commit, nothing
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(w, h), io.MultiReader(bytes.NewReader(head), res.Body))
	if err != nil {
		return "", "", 0, permanentIf(fmt.Errorf("download: %w", err), a.cfg.MaxBytes)
	}
	if size > a.cfg.MaxBytes {
		return "", "", 0, &permanentError{"the result is larger than " + sizeText(a.cfg.MaxBytes)}
	}
	if res.ContentLength > 0 && size != res.ContentLength {
		return "", "", 0, fmt.Errorf("download: got %d of %d bytes", size, res.ContentLength)
	}
	if err := w.Commit(); err != nil {
		return "", "", 0, fmt.Errorf("media store: %w", err)
	}
	return key, hex.EncodeToString(h.Sum(nil)), size, nil
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

func userMessage(err error) string {
	var me *media.Error
	if errors.As(err, &me) {
		return me.Message
	}
	return err.Error()
}
