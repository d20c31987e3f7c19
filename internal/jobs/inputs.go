package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
)

// MaxKeptImageBytes caps a character image Swapdesk keeps a copy of.
const MaxKeptImageBytes = 10 << 20

// InputStore is what the input keeper needs from the database.
type InputStore interface {
	SetJobImage(ctx context.Context, id int64, key, contentType string) error
}

// InputsConfig builds an Inputs.
type InputsConfig struct {
	Store InputStore
	// Open fetches the member's link through the safe fetcher (no private
	// addresses, redirects checked).
	Open  Opener
	Media MediaStore
	Log   *slog.Logger
	// MaxBytes caps one image (default MaxKeptImageBytes).
	MaxBytes int64
	// Timeout bounds one copy (default 1 min).
	Timeout time.Duration
	// Queue is how many submitted jobs may wait for their copy (default
	// 256); more are logged and skipped.
	Queue int
}

// Inputs keeps a copy of each submitted job's character image in the media
// store (inputs/YYYY-MM/<job>.png|jpg), so "this character -> this result"
// outlives the member's link. It runs beside the request: the member's
// redirect never waits for it, and a failure only leaves the job without a
// copy (logged). The motion video stays a link: it can be large.
type Inputs struct {
	cfg   InputsConfig
	log   *slog.Logger
	queue chan db.Job
}

// NewInputs returns an Inputs; call Run to start it.
func NewInputs(cfg InputsConfig) *Inputs {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = MaxKeptImageBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 256
	}
	return &Inputs{cfg: cfg, log: cfg.Log, queue: make(chan db.Job, cfg.Queue)}
}

// Keep asks for a copy of job j's character image; it never blocks.
func (k *Inputs) Keep(j db.Job) {
	select {
	case k.queue <- j:
	default:
		k.log.Warn("too many character images waiting to be kept; skipped", "job_id", j.ID)
	}
}

// Run keeps the images asked for, one at a time, until ctx is cancelled.
func (k *Inputs) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-k.queue:
			if err := k.KeepImage(ctx, j); err != nil && ctx.Err() == nil {
				k.log.Warn("character image not kept", "job_id", j.ID, "err", err)
			}
		}
	}
}

// InputKey is the store key of job id's character image, created at
// created, with extension ext ("png" or "jpg").
func InputKey(id int64, created time.Time, ext string) string {
	return "inputs/" + created.UTC().Format("2006-01") + "/" + strconv.FormatInt(id, 10) + "." + ext
}

// KeepImage copies job j's character image into the media store now and
// records it. The file must start like a PNG or JPEG and be at most
// MaxBytes; otherwise nothing is kept and the error says why.
func (k *Inputs) KeepImage(ctx context.Context, j db.Job) error {
	ctx, cancel := context.WithTimeout(ctx, k.cfg.Timeout)
	defer cancel()
	res, err := k.cfg.Open.Open(ctx, j.ImageURL, k.cfg.MaxBytes)
	if err != nil {
		return fmt.Errorf("fetch: %w", err)
	}
	defer res.Body.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(res.Body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return fmt.Errorf("fetch: %w", err)
	}
	head = head[:n]
	ext, contentType, ok := media.SniffImage(head)
	if !ok {
		return errors.New("not a PNG or JPEG image")
	}
	key := InputKey(j.ID, j.CreatedAt, ext)
	w, err := k.cfg.Media.Create(ctx, key, storage.WriteOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	defer w.Abort()
	// The fetcher fails a read past MaxBytes, so a cut-off copy is never
	// committed.
	if _, err := io.Copy(w, io.MultiReader(bytes.NewReader(head), res.Body)); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("media store: %w", err)
	}
	if err := k.cfg.Store.SetJobImage(ctx, j.ID, key, contentType); err != nil {
		if errors.Is(err, apperr.ErrNotFound) {
			// Deleted meanwhile: its image goes too.
			if derr := k.cfg.Media.Delete(context.WithoutCancel(ctx), key); derr != nil {
				k.log.Error("remove unrecorded character image", "job_id", j.ID, "key", key, "err", derr)
			}
		}
		return fmt.Errorf("record: %w", err)
	}
	k.log.Info("character image kept", "job_id", j.ID, "key", key)
	return nil
}
