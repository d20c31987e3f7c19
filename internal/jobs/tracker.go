package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"golang.org/x/time/rate"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/apperr"
)

// TrackerStore is what the tracker needs from the database.
type TrackerStore interface {
	DueForPoll(ctx context.Context, now time.Time, limit int) ([]db.Job, error)
	SchedulePoll(ctx context.Context, id int64, at time.Time, attempts int) error
	ApplyUpdate(ctx context.Context, id int64, u db.Update) (db.Job, bool, error)
	JobByAkoolID(ctx context.Context, akoolID string) (db.Job, error)
	RecordWebhook(ctx context.Context, w db.WebhookRecord) error
}

// ResultGetter asks Akool about a job.
type ResultGetter interface {
	GetResult(ctx context.Context, id string) (*akool.Job, error)
}

// TrackerConfig builds a Tracker.
type TrackerConfig struct {
	Store TrackerStore
	Akool ResultGetter
	Log   *slog.Logger
	Now   func() time.Time
	// ClientID and ClientSecret verify and decrypt webhooks. Without a
	// ClientID every webhook is refused (polling still tracks jobs).
	ClientID, ClientSecret string
	// PollBase and PollMax bound the per-job backoff: the n-th poll of a job
	// waits PollBase·2ⁿ, at most PollMax, ±20% jitter. Defaults 5 s and 60 s.
	PollBase, PollMax time.Duration
	// Rate and Burst limit calls to Akool across all jobs (default 5/s, 5).
	Rate  rate.Limit
	Burst int
	// Tick is how often the loop looks for due jobs when nothing kicks it
	// (default 1 s).
	Tick time.Duration
	// ResultTTL is how long Akool keeps a result (default 7 days).
	ResultTTL time.Duration
	// OnSettled is called after a job reaches a final state (e.g. to kick
	// the archiver). Optional.
	OnSettled func(db.Job)
}

// Tracker follows jobs until Akool finishes them: webhooks are hints that
// make it poll at once, and polling with backoff is the safety net. All its
// state is in the database, so after a restart it resumes every open job.
type Tracker struct {
	cfg     TrackerConfig
	log     *slog.Logger
	limiter *rate.Limiter
	loop
}

// NewTracker returns a Tracker; call Run to start it.
func NewTracker(cfg TrackerConfig) *Tracker {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollBase <= 0 {
		cfg.PollBase = 5 * time.Second
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = 60 * time.Second
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 5
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 5
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.ResultTTL <= 0 {
		cfg.ResultTTL = 7 * 24 * time.Hour
	}
	return &Tracker{cfg: cfg, log: cfg.Log, limiter: rate.NewLimiter(cfg.Rate, cfg.Burst), loop: newLoop(cfg.Tick)}
}

// Run polls due jobs until ctx is cancelled; Kick makes it look now.
func (t *Tracker) Run(ctx context.Context) { t.loop.run(ctx, t.PollDue) }

// PollDue polls every job that is due now. It returns how many it polled.
func (t *Tracker) PollDue(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		due, err := t.cfg.Store.DueForPoll(ctx, t.cfg.Now(), 20)
		if err != nil {
			t.log.Error("find jobs to poll", "err", err)
			return n
		}
		if len(due) == 0 {
			return n
		}
		for _, j := range due {
			if err := t.limiter.Wait(ctx); err != nil {
				return n
			}
			t.Poll(ctx, j)
			n++
		}
	}
	return n
}

// Poll asks Akool about one job, applies what it says and schedules the
// next poll if the job is still open.
func (t *Tracker) Poll(ctx context.Context, j db.Job) {
	res, err := t.cfg.Akool.GetResult(ctx, j.AkoolID)
	if err != nil {
		t.pollFailed(ctx, j, err)
		return
	}
	u, ok := t.update(res, db.SourcePoll)
	if !ok {
		t.log.Warn("akool reported an unknown status", "job_id", j.ID, "status", int(res.Status))
		t.reschedule(ctx, j, j.PollAttempts+1)
		return
	}
	job, applied, err := t.cfg.Store.ApplyUpdate(ctx, j.ID, u)
	if err != nil {
		t.log.Error("apply poll result", "job_id", j.ID, "err", err)
		t.reschedule(ctx, j, j.PollAttempts+1)
		return
	}
	if job.Final() {
		if applied {
			t.settled(job)
		}
		return
	}
	attempts := j.PollAttempts + 1
	if applied {
		attempts = 0 // it moved: look again soon
	}
	t.reschedule(ctx, j, attempts)
}

func (t *Tracker) pollFailed(ctx context.Context, j db.Job, err error) {
	if code, ok := akool.Code(err); ok && code == akool.CodeContentNotExist {
		// Akool no longer knows the job: it will never finish.
		job, applied, aerr := t.cfg.Store.ApplyUpdate(ctx, j.ID, db.Update{Status: db.JobFailed, Source: db.SourcePoll,
			FailReason: "Akool no longer has this job, so it cannot finish. Your credits were returned."})
		if aerr != nil {
			t.log.Error("fail unknown job", "job_id", j.ID, "err", aerr)
			t.reschedule(ctx, j, j.PollAttempts+1)
			return
		}
		if applied {
			t.settled(job)
		}
		return
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return
	}
	attempts := j.PollAttempts + 1
	if !akool.IsRetryable(err) {
		// Auth or plan trouble: keep trying slowly; an admin must act.
		t.log.Error("poll akool", "job_id", j.ID, "err", err)
		attempts = 64
	} else {
		t.log.Warn("poll akool, will retry", "job_id", j.ID, "attempt", attempts, "err", err)
	}
	t.reschedule(ctx, j, attempts)
}

func (t *Tracker) reschedule(ctx context.Context, j db.Job, attempts int) {
	at := t.cfg.Now().Add(Backoff(t.cfg.PollBase, t.cfg.PollMax, attempts))
	if err := t.cfg.Store.SchedulePoll(ctx, j.ID, at, attempts); err != nil {
		t.log.Error("schedule poll", "job_id", j.ID, "err", err)
	}
}

func (t *Tracker) settled(j db.Job) {
	t.log.Info("job finished", "job_id", j.ID, "status", j.Status, "charged", derefInt(j.ChargedCredits))
	if t.cfg.OnSettled != nil {
		t.cfg.OnSettled(j)
	}
}

// update turns Akool's record into a store update.
func (t *Tracker) update(res *akool.Job, source string) (db.Update, bool) {
	u := db.Update{Source: source, VideoDuration: res.VideoDuration}
	switch res.Status {
	case akool.StatusQueued:
		u.Status = db.JobQueued
	case akool.StatusProcessing:
		u.Status = db.JobProcessing
	case akool.StatusCompleted:
		u.Status = db.JobSucceeded
		u.ResultURL = res.ResultURL
		if res.DeductionCredit > 0 {
			c := res.Credits()
			u.Charged = &c
		}
		done := res.UpdateTime
		if done.IsZero() {
			done = t.cfg.Now()
		}
		u.ExpiresAt = done.Add(t.cfg.ResultTTL)
	case akool.StatusFailed:
		u.Status = db.JobFailed
		u.FailReason = res.FailReason
	default:
		return u, false
	}
	return u, true
}

// ErrWebhookRejected is returned by HandleWebhook for a body that does not
// verify; the caller answers 401 and nothing is applied.
var ErrWebhookRejected = errors.New("webhook rejected")

// HandleWebhook verifies and decrypts an Akool webhook, stores it, and
// treats it as a hint: the job is polled at once, and only what the poll
// says is applied. A webhook for a job we do not know returns nil (so Akool
// stops retrying) and changes nothing. It returns ErrWebhookRejected for a
// body that does not verify.
func (t *Tracker) HandleWebhook(ctx context.Context, body []byte) error {
	rec := db.WebhookRecord{Body: string(body)}
	if len(rec.Body) > 16<<10 {
		rec.Body = rec.Body[:16<<10]
	}
	if t.cfg.ClientID == "" {
		rec.Outcome = "refused: AKOOL_CLIENT_ID is not configured"
		t.record(ctx, rec)
		return fmt.Errorf("%w: no client id configured", ErrWebhookRejected)
	}
	ev, err := akool.VerifyWebhook(body, t.cfg.ClientID, t.cfg.ClientSecret)
	if err != nil {
		rec.Outcome = "refused: " + err.Error()
		t.record(ctx, rec)
		return fmt.Errorf("%w: %w", ErrWebhookRejected, err)
	}
	rec.Verified, rec.AkoolID, rec.Status = true, ev.ID, int(ev.Status)
	job, err := t.cfg.Store.JobByAkoolID(ctx, ev.ID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		rec.Outcome = "ignored: unknown job"
		t.record(ctx, rec)
		t.log.Warn("webhook for an unknown job", "akool_id", ev.ID, "status", int(ev.Status))
		return nil
	case err != nil:
		return err
	}
	if job.Final() {
		rec.Outcome = "ignored: job already " + job.Status
		t.record(ctx, rec)
		return nil
	}
	rec.Outcome = "poll scheduled"
	t.record(ctx, rec)
	if err := t.cfg.Store.SchedulePoll(ctx, job.ID, t.cfg.Now(), 0); err != nil {
		return err
	}
	t.Kick()
	return nil
}

func (t *Tracker) record(ctx context.Context, rec db.WebhookRecord) {
	if err := t.cfg.Store.RecordWebhook(ctx, rec); err != nil {
		t.log.Error("store webhook", "err", err)
	}
}

// Backoff returns base·2ⁿ with ±20% jitter, so jobs submitted together do
// not poll together, capped at max. Capped delays are spread over
// [0.8·max, max] instead of all landing on max.
func Backoff(base, max time.Duration, n int) time.Duration {
	d := float64(max) * 2
	if n < 32 {
		d = float64(base) * math.Pow(2, float64(n))
	}
	d *= 0.8 + 0.4*rand.Float64()
	if d > float64(max) {
		d = float64(max) * (0.8 + 0.2*rand.Float64())
	}
	return time.Duration(d)
}

func derefInt(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}
