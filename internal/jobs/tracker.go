package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/credits"
)

// TrackerStore is what the tracker needs from the database.
type TrackerStore interface {
	DueForPoll(ctx context.Context, now time.Time, limit int) ([]db.Job, error)
	SchedulePoll(ctx context.Context, id int64, at time.Time, attempts int) error
	PullPollForward(ctx context.Context, id int64, now time.Time) (bool, error)
	ApplyUpdate(ctx context.Context, id int64, u db.Update) (db.Job, bool, error)
	AcceptWebhook(ctx context.Context, w db.WebhookRecord, now time.Time) (db.WebhookResult, error)
	PruneWebhooks(ctx context.Context, before time.Time) (int64, error)
}

// ResultGetter asks Akool about a job.
type ResultGetter interface {
	GetResult(ctx context.Context, id string) (*akool.Job, error)
}

// TrackerConfig builds a Tracker.
type TrackerConfig struct {
	Store TrackerStore
	// Akool answers the polls. Give the tracker a client without automatic
	// retries (akool.RetryPolicy{MaxAttempts: 1}): the tracker has its own
	// backoff, and only then does Rate bound every call it makes.
	Akool ResultGetter
	Log   *slog.Logger
	Now   func() time.Time
	// ClientID and ClientSecret verify and decrypt webhooks. Without a
	// ClientID every webhook is refused (polling still tracks jobs).
	ClientID, ClientSecret string
	// Webhooks says Akool was given our webhook URL, so polling is only the
	// safety net: PollBase and PollMax then default to 20 s and 5 min.
	Webhooks bool
	// PollBase and PollMax bound the per-job backoff: the n-th poll of a job
	// waits PollBase·2ⁿ ±20% jitter, at most PollMax. Defaults 5 s and 60 s
	// (see Webhooks).
	PollBase, PollMax time.Duration
	// PollTimeout bounds one poll of Akool (default 20 s), so one hanging
	// call cannot hold up the others for long.
	PollTimeout time.Duration
	// Workers is how many polls may be in flight at once (default 4). Rate
	// bounds how often they start.
	Workers int
	// Rate and Burst limit calls to Akool across all jobs (default 5/s, 5).
	Rate  rate.Limit
	Burst int
	// Tick is how often the loop looks for due jobs when nothing kicks it
	// (default 1 s).
	Tick time.Duration
	// ResultTTL is how long Akool keeps a result (default akool.ResultTTL).
	ResultTTL time.Duration
	// WebhookRetention is how long received webhooks are kept (default 30
	// days); older ones are pruned about once an hour.
	WebhookRetention time.Duration
	// OnSettled is called after a job reaches a final state (e.g. to kick
	// the archiver). Optional.
	OnSettled func(db.Job)
}

// pollBatch is how many due jobs one query of the loop fetches.
const pollBatch = 20

// pruneEvery is how often the tracker prunes old webhooks.
const pruneEvery = time.Hour

// Tracker follows jobs until Akool finishes them: webhooks are hints that
// make it poll at once, and polling with backoff is the safety net. All its
// lasting state is in the database, so after a restart it resumes every
// open job.
type Tracker struct {
	cfg     TrackerConfig
	log     *slog.Logger
	limiter *rate.Limiter
	loop

	mu sync.Mutex
	// inflight holds the jobs being polled now, and repoll those of them a
	// webhook arrived for meanwhile: Akool may have answered the poll before
	// the change the webhook reports, so they are polled again at once.
	inflight, repoll map[int64]bool
	held             *holds // jobs whose next poll could not be written
	lastPrune        time.Time
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
		if cfg.Webhooks {
			cfg.PollBase = 20 * time.Second
		}
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = 60 * time.Second
		if cfg.Webhooks {
			cfg.PollMax = 5 * time.Minute
		}
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 20 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
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
		cfg.ResultTTL = akool.ResultTTL
	}
	if cfg.WebhookRetention <= 0 {
		cfg.WebhookRetention = 30 * 24 * time.Hour
	}
	return &Tracker{cfg: cfg, log: cfg.Log, limiter: rate.NewLimiter(cfg.Rate, cfg.Burst), loop: newLoop(cfg.Tick),
		inflight: map[int64]bool{}, repoll: map[int64]bool{}, held: newHolds()}
}

// Run polls due jobs until ctx is cancelled; Kick makes it look now.
func (t *Tracker) Run(ctx context.Context) { t.loop.run(ctx, t.PollDue) }

// PollDue polls every job that is due now, each at most once, up to
// Workers at a time, and returns when they are done. It returns how many it
// polled.
func (t *Tracker) PollDue(ctx context.Context) int {
	now := t.cfg.Now()
	t.prune(ctx, now)
	tried := map[int64]bool{}
	n := 0
	for ctx.Err() == nil {
		held := t.held.count(now)
		limit := pollBatch + held
		due, err := t.cfg.Store.DueForPoll(ctx, now, limit)
		if err != nil {
			t.log.Error("find jobs to poll", "err", err)
			return n
		}
		var batch []db.Job
		for _, j := range due {
			if !tried[j.ID] && !t.skip(j.ID, now) {
				tried[j.ID] = true
				batch = append(batch, j)
			}
		}
		n += t.pollAll(ctx, batch)
		if len(batch) == 0 || len(due) < limit {
			return n
		}
	}
	return n
}

// pollAll polls jobs on up to Workers goroutines, each start waiting for
// the rate limiter, and returns how many it started once all are done.
func (t *Tracker) pollAll(ctx context.Context, jobs []db.Job) int {
	sem := make(chan struct{}, t.cfg.Workers)
	var wg sync.WaitGroup
	n := 0
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if err := t.limiter.Wait(ctx); err != nil {
			<-sem
			break
		}
		n++
		wg.Go(func() {
			defer func() { <-sem }()
			t.Poll(ctx, j)
		})
	}
	wg.Wait()
	return n
}

// Poll asks Akool about one job, applies what it says and schedules the
// next poll if the job is still open.
func (t *Tracker) Poll(ctx context.Context, j db.Job) {
	t.mu.Lock()
	t.inflight[j.ID] = true
	t.mu.Unlock()

	attempts, again := t.poll(ctx, j)
	if again {
		t.schedule(ctx, j.ID, t.cfg.Now().Add(Backoff(t.cfg.PollBase, t.cfg.PollMax, attempts)), attempts)
	}

	// Only now, after the next poll is written, may a webhook for this job
	// go to the database: before, the write above would overwrite its "poll
	// now".
	t.mu.Lock()
	webhook := t.repoll[j.ID]
	delete(t.inflight, j.ID)
	delete(t.repoll, j.ID)
	t.mu.Unlock()
	if webhook && ctx.Err() == nil {
		t.log.Debug("a webhook arrived during the poll; polling again", "job_id", j.ID)
		t.schedule(ctx, j.ID, t.cfg.Now(), 0)
		t.Kick()
	}
}

// poll makes the call and applies it. It returns whether the job needs
// another poll, and its attempt count.
func (t *Tracker) poll(ctx context.Context, j db.Job) (attempts int, again bool) {
	pctx, cancel := context.WithTimeout(ctx, t.cfg.PollTimeout)
	res, err := t.cfg.Akool.GetResult(pctx, j.AkoolID)
	cancel()
	if err != nil {
		return t.pollFailed(ctx, j, err)
	}
	u, ok := t.update(j, res, db.SourcePoll)
	if !ok {
		t.log.Warn("akool reported an unknown status", "job_id", j.ID, "status", int(res.Status))
		return j.PollAttempts + 1, true
	}
	job, applied, err := t.cfg.Store.ApplyUpdate(ctx, j.ID, u)
	if err != nil {
		t.log.Error("apply poll result", "job_id", j.ID, "err", err)
		return j.PollAttempts + 1, true
	}
	if job.Final() {
		if applied {
			t.settled(job)
		}
		return 0, false
	}
	if applied {
		return 0, true // it moved: look again soon
	}
	return j.PollAttempts + 1, true
}

func (t *Tracker) pollFailed(ctx context.Context, j db.Job, err error) (attempts int, again bool) {
	if code, ok := akool.Code(err); ok && code == akool.CodeContentNotExist {
		// Akool no longer knows the job: it will never finish.
		u := db.Update{Status: db.JobFailed, Source: db.SourcePoll,
			FailReason: "Akool no longer has this job, so it cannot finish. Your credits were returned."}
		credits.Settle(credits.Outcome{Estimate: j.EstimateCredits}).Apply(&u)
		job, applied, aerr := t.cfg.Store.ApplyUpdate(ctx, j.ID, u)
		if aerr != nil {
			t.log.Error("fail unknown job", "job_id", j.ID, "err", aerr)
			return j.PollAttempts + 1, true
		}
		if applied {
			t.settled(job)
		}
		return 0, false
	}
	if ctx.Err() != nil {
		return 0, false // shutting down; the job is still due after a restart
	}
	attempts = j.PollAttempts + 1
	if !akool.IsRetryable(err) {
		// Auth or plan trouble: keep trying slowly; an admin must act.
		t.log.Error("poll akool", "job_id", j.ID, "err", err)
		attempts = 64
	} else {
		t.log.Warn("poll akool, will retry", "job_id", j.ID, "attempt", attempts, "err", err)
	}
	return attempts, true
}

// schedule writes job id's next poll. When that fails the job stays due in
// the database, so it is held here until at instead.
func (t *Tracker) schedule(ctx context.Context, id int64, at time.Time, attempts int) {
	if err := t.cfg.Store.SchedulePoll(ctx, id, at, attempts); err != nil {
		t.log.Error("schedule poll", "job_id", id, "err", err)
		if !at.After(t.cfg.Now()) {
			at = t.cfg.Now().Add(t.cfg.PollBase)
		}
		t.held.set(id, at)
		return
	}
	t.held.release(id)
}

// skip reports whether job id is held, or already being polled (by a
// PollDue running concurrently with this one).
func (t *Tracker) skip(id int64, now time.Time) bool {
	if t.held.has(id, now) {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.inflight[id]
}

// prune deletes webhooks older than WebhookRetention, at most once per
// pruneEvery.
func (t *Tracker) prune(ctx context.Context, now time.Time) {
	t.mu.Lock()
	due := t.lastPrune.IsZero() || now.Sub(t.lastPrune) >= pruneEvery
	if due {
		t.lastPrune = now
	}
	t.mu.Unlock()
	if !due {
		return
	}
	n, err := t.cfg.Store.PruneWebhooks(ctx, now.Add(-t.cfg.WebhookRetention))
	if err != nil {
		t.log.Error("prune webhooks", "err", err)
		return
	}
	if n > 0 {
		t.log.Info("pruned old webhooks", "deleted", n)
	}
}

func (t *Tracker) settled(j db.Job) {
	t.log.Info("job finished", "job_id", j.ID, "status", j.Status, "charged", derefInt(j.ChargedCredits))
	if t.cfg.OnSettled != nil {
		t.cfg.OnSettled(j)
	}
}

// defaultFailReason is shown for a failed job when Akool gives no reason.
const defaultFailReason = "Akool could not make this video."

// update turns Akool's record of job j into a store update, settled by the
// credit rules when it is final.
func (t *Tracker) update(j db.Job, res *akool.Job, source string) (db.Update, bool) {
	id := j.ID
	u := db.Update{Source: source, VideoDuration: res.VideoDuration}
	switch res.Status {
	case akool.StatusQueued:
		u.Status = db.JobQueued
	case akool.StatusProcessing:
		u.Status = db.JobProcessing
	case akool.StatusCompleted:
		u.Status = db.JobSucceeded
		if webURL(res.ResultURL) {
			u.ResultURL = res.ResultURL
		} else if res.ResultURL != "" {
			// Rendered as a link and fetched by the archiver: only a web
			// address will do. The job still succeeded (and is charged).
			t.log.Warn("akool result URL refused: not http(s)", "job_id", id, "scheme", scheme(res.ResultURL))
		}
		credits.Settle(credits.Outcome{Succeeded: true, Estimate: j.EstimateCredits, Reported: reportedCharge(res)}).Apply(&u)
		done := res.UpdateTime
		if done.IsZero() {
			done = t.cfg.Now()
		}
		u.ExpiresAt = done.Add(t.cfg.ResultTTL)
	case akool.StatusFailed:
		u.Status = db.JobFailed
		u.FailReason = res.FailReason
		if u.FailReason == "" {
			u.FailReason = defaultFailReason
		}
		credits.Settle(credits.Outcome{Estimate: j.EstimateCredits}).Apply(&u)
	default:
		return u, false
	}
	return u, true
}

// reportedCharge is Akool's deduction_credit whenever Akool reported one
// (0 included: then the team paid nothing), or nil to charge the estimate.
func reportedCharge(res *akool.Job) *int64 {
	if !res.HasDeductionCredit {
		return nil
	}
	c := res.Credits()
	return &c
}

// webURL reports whether s is an absolute http or https URL with a host.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// scheme returns s's scheme for a log line, never the whole URL.
func scheme(s string) string {
	if i := strings.IndexByte(s, ':'); i > 0 && i <= 16 {
		return s[:i]
	}
	return "(none)"
}

// ErrWebhookRejected is returned by HandleWebhook for a body that does not
// verify; the caller answers 401 and nothing is applied or stored.
var ErrWebhookRejected = errors.New("webhook rejected")

// HandleWebhook verifies and decrypts an Akool webhook and treats it as a
// hint: the job is polled at once, and only what the poll says is applied.
// A verified webhook is stored once per signature; a replay of one changes
// nothing. A webhook for a job we do not know, or one already final,
// returns nil (so Akool stops retrying) and changes nothing. It returns
// ErrWebhookRejected for a body that does not verify; such bodies are not
// stored (the endpoint is open to anyone).
func (t *Tracker) HandleWebhook(ctx context.Context, body []byte) error {
	if t.cfg.ClientID == "" {
		return fmt.Errorf("%w: AKOOL_CLIENT_ID is not configured", ErrWebhookRejected)
	}
	ev, err := akool.VerifyWebhook(body, t.cfg.ClientID, t.cfg.ClientSecret)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookRejected, err)
	}
	// It verified, so it parses; re-encoding it drops anything unsigned.
	b, err := akool.ParseWebhookBody(body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookRejected, err)
	}
	b.Signature = strings.ToLower(b.Signature)
	canon, err := b.MarshalJSON()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrWebhookRejected, err)
	}
	now := t.cfg.Now()
	res, err := t.cfg.Store.AcceptWebhook(ctx, db.WebhookRecord{AkoolID: ev.ID, Status: int(ev.Status),
		Signature: b.Signature, Body: string(canon)}, now)
	if err != nil {
		return err
	}
	switch res.Outcome {
	case db.WebhookDuplicate:
		t.log.Info("webhook replayed; ignored", "akool_id", ev.ID, "status", int(ev.Status))
		return nil
	case db.WebhookUnknownJob:
		t.log.Warn("webhook for an unknown job", "akool_id", ev.ID, "status", int(ev.Status))
		return nil
	}
	if !res.Open() {
		return nil
	}
	t.mu.Lock()
	polling := t.inflight[res.Job.ID]
	if polling {
		t.repoll[res.Job.ID] = true
	}
	t.mu.Unlock()
	if !polling && res.Outcome == db.WebhookPollDue {
		// The poll looked due, but a poll that ended since may have pushed
		// it back after our transaction read it.
		if _, err := t.cfg.Store.PullPollForward(ctx, res.Job.ID, now); err != nil {
			return err
		}
	}
	t.Kick()
	return nil
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
