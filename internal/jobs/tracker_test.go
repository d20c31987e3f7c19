package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
)

// Webhook credentials of the tests (AKOOL-API.md §4.5, vector A).
const (
	testClientID = "TESTCLIENTID0001"
	testSecret   = "TESTSECRETKEY24CHARSxxxx"
)

// trackerEnv is a real store in a temp dir, a fake clock and a fake Akool.
type trackerEnv struct {
	t     *testing.T
	store *db.DB
	clock *akoolsim.FakeClock
	akool *fakePoller
	user  db.User
	n     int
}

func newTrackerEnv(t *testing.T, credits int64) *trackerEnv {
	t.Helper()
	ctx := context.Background()
	store := dbtest.Open(t)
	clock := akoolsim.NewFakeClock(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	store.Now = clock.Now
	u, err := store.CreateUser(ctx, "ana@example.com", "Ana", db.RoleMember, "x")
	if err != nil {
		t.Fatal(err)
	}
	if credits > 0 {
		if _, err := store.Grant(ctx, u.ID, 0, db.LedgerGrant, credits, "test"); err != nil {
			t.Fatal(err)
		}
	}
	return &trackerEnv{t: t, store: store, clock: clock, akool: &fakePoller{calls: map[string]int{}}, user: u}
}

// queued writes a job Akool knows as akoolID, queued, its first poll due now.
func (e *trackerEnv) queued(akoolID string, estimate int64) db.Job {
	e.t.Helper()
	ctx := context.Background()
	e.n++
	j, _, err := e.store.CreateJobWithHold(ctx, db.NewJob{UserID: e.user.ID, IdempotencyKey: fmt.Sprintf("tracker-test-key-%04d", e.n),
		ImageURL: "https://media.test/c.png", VideoURL: "https://media.test/m.mp4", Mode: "animate", Resolution: "720p",
		BilledSeconds: 10, EstimateCredits: estimate})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.MarkSubmitted(ctx, j.ID, akoolID, db.JobQueued, e.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
	return e.job(j.ID)
}

func (e *trackerEnv) job(id int64) db.Job {
	e.t.Helper()
	j, err := e.store.JobByID(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return j
}

func (e *trackerEnv) tracker(cfg TrackerConfig) *Tracker {
	if cfg.Store == nil {
		cfg.Store = e.store
	}
	cfg.Akool, cfg.Now = e.akool, e.clock.Now
	cfg.ClientID, cfg.ClientSecret = testClientID, testSecret
	if cfg.Rate == 0 {
		cfg.Rate, cfg.Burst = 1000, 1000
	}
	return NewTracker(cfg)
}

// webhook returns a genuine webhook body for akoolID.
func (e *trackerEnv) webhook(akoolID string, status akool.Status, nonce string) []byte {
	e.t.Helper()
	b, err := akool.NewWebhookBody(akool.WebhookEvent{ID: akoolID, Status: status, Type: "character_swap"},
		testClientID, testSecret, e.clock.Now().UnixMilli(), nonce)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// fakePoller answers GetResult with get (default: queued) and counts calls.
type fakePoller struct {
	mu    sync.Mutex
	calls map[string]int
	get   func(ctx context.Context, id string, call int) (*akool.Job, error)
}

func (f *fakePoller) GetResult(ctx context.Context, id string) (*akool.Job, error) {
	f.mu.Lock()
	f.calls[id]++
	n, get := f.calls[id], f.get
	f.mu.Unlock()
	if get == nil {
		return &akool.Job{ID: id, Status: akool.StatusQueued}, nil
	}
	return get(ctx, id, n)
}

func (f *fakePoller) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

// A webhook that arrives while its job is being polled is not lost: Akool
// may have answered the poll before the change the webhook reports, so the
// job is polled again at once instead of after its backoff.
func TestWebhookDuringPollIsNotLost(t *testing.T) {
	e := newTrackerEnv(t, 100)
	job := e.queued("A1", 30)
	started, release := make(chan struct{}), make(chan struct{})
	e.akool.get = func(_ context.Context, id string, call int) (*akool.Job, error) {
		if call == 1 {
			close(started)
			<-release
			return &akool.Job{ID: id, Status: akool.StatusQueued}, nil // Akool's answer predates the webhook
		}
		return &akool.Job{ID: id, Status: akool.StatusProcessing}, nil
	}
	tr := e.tracker(TrackerConfig{Webhooks: true})
	ctx := context.Background()
	polled := make(chan int)
	go func() { polled <- tr.PollDue(ctx) }()
	<-started
	if err := tr.HandleWebhook(ctx, e.webhook("A1", akool.StatusProcessing, "1")); err != nil {
		t.Fatalf("webhook: %v", err)
	}
	close(release)
	if n := <-polled; n != 1 {
		t.Fatalf("polled %d jobs, want 1", n)
	}
	got := e.job(job.ID)
	if got.NextPollAt.After(e.clock.Now()) {
		t.Fatalf("the webhook was lost: next poll in %v (attempts %d), want now", got.NextPollAt.Sub(e.clock.Now()), got.PollAttempts)
	}
	if n := tr.PollDue(ctx); n != 1 {
		t.Fatalf("polled %d jobs after the webhook, want 1", n)
	}
	if got := e.job(job.ID); got.Status != db.JobProcessing {
		t.Errorf("status %s, want processing", got.Status)
	}
}

// A webhook for a job waiting on its backoff pulls the poll forward; one
// for a job whose poll is due anyway leaves the backoff alone; and once
// the poll has run, the same webhook replayed changes nothing.
func TestWebhookPullsPollForwardOnce(t *testing.T) {
	e := newTrackerEnv(t, 100)
	job := e.queued("A1", 30)
	tr := e.tracker(TrackerConfig{})
	ctx := context.Background()
	tr.PollDue(ctx) // still queued: attempts 1, next poll in ~10 s
	if got := e.job(job.ID); got.PollAttempts != 1 || !got.NextPollAt.After(e.clock.Now()) {
		t.Fatalf("after a poll: attempts %d next %v", got.PollAttempts, got.NextPollAt)
	}
	body := e.webhook("A1", akool.StatusProcessing, "1")
	if err := tr.HandleWebhook(ctx, body); err != nil {
		t.Fatal(err)
	}
	if got := e.job(job.ID); got.PollAttempts != 0 || got.NextPollAt.After(e.clock.Now()) {
		t.Fatalf("after the webhook: attempts %d next %v, want a poll now", got.PollAttempts, got.NextPollAt)
	}
	calls := e.akool.total()
	if n := tr.PollDue(ctx); n != 1 || e.akool.total() != calls+1 {
		t.Fatalf("polled %d jobs with %d calls after the webhook", n, e.akool.total()-calls)
	}
	before := e.job(job.ID)
	for i := 0; i < 5; i++ {
		if err := tr.HandleWebhook(ctx, body); err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
	}
	if got := e.job(job.ID); !got.NextPollAt.Equal(before.NextPollAt) || got.PollAttempts != before.PollAttempts {
		t.Errorf("replays moved the poll: %v/%d -> %v/%d", before.NextPollAt, before.PollAttempts, got.NextPollAt, got.PollAttempts)
	}
	if n := tr.PollDue(ctx); n != 0 {
		t.Errorf("replays caused %d polls", n)
	}
	if n, _ := e.store.CountWebhooks(ctx); n != 1 {
		t.Errorf("%d webhooks stored, want 1", n)
	}
	// Refused bodies are not stored at all.
	for _, bad := range [][]byte{nil, []byte("{}"), []byte(strings.Repeat("x", 16<<10))} {
		if err := tr.HandleWebhook(ctx, bad); !errors.Is(err, ErrWebhookRejected) {
			t.Errorf("bad body: %v, want ErrWebhookRejected", err)
		}
	}
	if n, _ := e.store.CountWebhooks(ctx); n != 1 {
		t.Errorf("%d webhooks stored after refused ones, want 1", n)
	}
}

// One Akool call that hangs holds up neither the other jobs' polls nor the
// tracker: the poll times out and is retried with backoff.
func TestHangingPollDoesNotHoldUpOthers(t *testing.T) {
	e := newTrackerEnv(t, 100)
	hung := e.queued("HANG", 30)
	e.clock.Advance(time.Second) // "HANG" is the most overdue: polled first
	fine := e.queued("FINE", 30)
	finePolled := make(chan struct{})
	var sawFine bool
	e.akool.get = func(ctx context.Context, id string, _ int) (*akool.Job, error) {
		if id == "HANG" {
			select {
			case <-finePolled:
				sawFine = true
			case <-ctx.Done():
			}
			<-ctx.Done() // hang until the per-poll timeout
			return nil, &akool.TransportError{Op: "result", Err: ctx.Err()}
		}
		close(finePolled)
		return &akool.Job{ID: id, Status: akool.StatusProcessing}, nil
	}
	tr := e.tracker(TrackerConfig{PollTimeout: 300 * time.Millisecond})
	within(t, 20*time.Second, "PollDue with a hanging Akool call", func() {
		if n := tr.PollDue(context.Background()); n != 2 {
			t.Errorf("polled %d jobs, want 2", n)
		}
	})
	if !sawFine {
		t.Error("the other job was not polled while the first one hung")
	}
	if got := e.job(fine.ID); got.Status != db.JobProcessing {
		t.Errorf("the other job is %s, want processing", got.Status)
	}
	if got := e.job(hung.ID); got.PollAttempts != 1 || !got.NextPollAt.After(e.clock.Now()) {
		t.Errorf("the hung job: attempts %d, next poll %v; want a retry with backoff", got.PollAttempts, got.NextPollAt)
	}
}

// Every Akool call waits for the global limiter: n polls take at least
// (n-burst)/rate. (A lower bound on time cannot flake on a slow machine.)
func TestPollsAreRateLimited(t *testing.T) {
	e := newTrackerEnv(t, 10_000)
	const jobs, perSecond, burst = 25, 50, 1
	for i := range jobs {
		e.queued(fmt.Sprintf("J%02d", i), 30)
	}
	tr := e.tracker(TrackerConfig{Rate: perSecond, Burst: burst})
	start := time.Now()
	n := tr.PollDue(context.Background())
	elapsed := time.Since(start)
	if n != jobs || e.akool.total() != jobs {
		t.Fatalf("polled %d jobs with %d calls, want %d and %d", n, e.akool.total(), jobs, jobs)
	}
	if least := time.Duration(jobs-burst) * time.Second / perSecond; elapsed < least {
		t.Errorf("%d calls in %v: faster than %d/s (at least %v)", jobs, elapsed, perSecond, least)
	}
}

// With webhooks configured polling is only the safety net: it backs off
// from 20 s, not 5 s.
func TestWebhooksConfiguredPollSlower(t *testing.T) {
	for _, tc := range []struct {
		webhooks bool
		min, max time.Duration // a second poll that finds no change waits 2·base ±20%
	}{
		{false, 8 * time.Second, 12 * time.Second},
		{true, 32 * time.Second, 48 * time.Second},
	} {
		t.Run(fmt.Sprintf("webhooks=%v", tc.webhooks), func(t *testing.T) {
			e := newTrackerEnv(t, 100)
			job := e.queued("A1", 30)
			e.tracker(TrackerConfig{Webhooks: tc.webhooks}).PollDue(context.Background())
			got := e.job(job.ID).NextPollAt.Sub(e.clock.Now())
			if got < tc.min || got > tc.max {
				t.Errorf("next poll in %v, want %v to %v", got, tc.min, tc.max)
			}
		})
	}
}

// Settlement charges Akool's figure when it gives one, even above the
// estimate (what the team paid), and the estimate when it gives none.
func TestSettlementCharges(t *testing.T) {
	for _, tc := range []struct {
		name      string
		deduction float64
		omitted   bool
		want      int64
		available int64 // of 100 granted
	}{
		{"omitted: the estimate", 0, true, 30, 70},
		{"explicit zero: nothing", 0, false, 0, 100},
		{"below the estimate", 20, false, 20, 80},
		{"above the estimate", 45, false, 45, 55},
		{"above the balance", 130, false, 130, -30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTrackerEnv(t, 100)
			job := e.queued("A1", 30)
			e.akool.get = func(_ context.Context, id string, _ int) (*akool.Job, error) {
				return &akool.Job{ID: id, Status: akool.StatusCompleted, DeductionCredit: tc.deduction,
					HasDeductionCredit: !tc.omitted, ResultURL: "https://cdn.example.com/r.mp4"}, nil
			}
			var settled []int64
			e.tracker(TrackerConfig{OnSettled: func(j db.Job) { settled = append(settled, j.ID) }}).PollDue(context.Background())
			got := e.job(job.ID)
			if got.Status != db.JobSucceeded || got.ChargedCredits == nil || *got.ChargedCredits != tc.want {
				t.Fatalf("%s, charged %v; want succeeded, %d", got.Status, got.ChargedCredits, tc.want)
			}
			b, _ := e.store.Balance(context.Background(), e.user.ID)
			if b.Available != tc.available || b.Held != 0 || b.Spent != tc.want {
				t.Errorf("balance %+v, want %d available, %d spent", b, tc.available, tc.want)
			}
			if len(settled) != 1 {
				t.Errorf("OnSettled called %d times", len(settled))
			}
		})
	}
}

// Only http(s) result URLs are kept: the card links to it and the
// archiver fetches it.
func TestResultURLMustBeWeb(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"https://cdn.example.com/r.mp4", "https://cdn.example.com/r.mp4"},
		{"http://cdn.example.com/r.mp4", "http://cdn.example.com/r.mp4"},
		{"javascript:alert(document.cookie)", ""},
		{"JavaScript:alert(1)", ""},
		{"data:text/html,<script>alert(1)</script>", ""},
		{"//cdn.example.com/r.mp4", ""},
		{"https:///r.mp4", ""},
	} {
		t.Run(tc.url, func(t *testing.T) {
			e := newTrackerEnv(t, 100)
			job := e.queued("A1", 30)
			e.akool.get = func(_ context.Context, id string, _ int) (*akool.Job, error) {
				return &akool.Job{ID: id, Status: akool.StatusCompleted, DeductionCredit: 30, ResultURL: tc.url}, nil
			}
			e.tracker(TrackerConfig{}).PollDue(context.Background())
			got := e.job(job.ID)
			if got.Status != db.JobSucceeded || got.ResultURL != tc.want {
				t.Errorf("%s with result URL %q, want succeeded with %q", got.Status, got.ResultURL, tc.want)
			}
		})
	}
}

// failingSchedule is the real store except that writing a job's next poll
// fails.
type failingSchedule struct{ *db.DB }

func (failingSchedule) SchedulePoll(context.Context, int64, time.Time, int) error {
	return errors.New("disk I/O error")
}

// A job whose next poll cannot be written stays due in the database; the
// tracker polls it once per run and then holds it back instead of polling
// it in a loop.
func TestFailedScheduleDoesNotLoop(t *testing.T) {
	e := newTrackerEnv(t, 100)
	e.queued("A1", 30)
	tr := e.tracker(TrackerConfig{Store: failingSchedule{e.store}})
	ctx := context.Background()
	within(t, 10*time.Second, "PollDue", func() {
		if n := tr.PollDue(ctx); n != 1 {
			t.Errorf("first run polled %d, want 1", n)
		}
	})
	if n := tr.PollDue(ctx); n != 0 || e.akool.total() != 1 {
		t.Errorf("second run polled %d (%d calls in all), want 0: the job is held back", n, e.akool.total())
	}
	e.clock.Advance(time.Minute)
	if n := tr.PollDue(ctx); n != 1 {
		t.Errorf("after the hold polled %d, want 1", n)
	}
}

// Stored webhooks are pruned after 30 days.
func TestOldWebhooksArePruned(t *testing.T) {
	e := newTrackerEnv(t, 100)
	ctx := context.Background()
	for i, age := range []time.Duration{40 * 24 * time.Hour, 31 * 24 * time.Hour, 29 * 24 * time.Hour, time.Hour} {
		_, err := e.store.AcceptWebhook(ctx, db.WebhookRecord{AkoolID: "gone", Status: 3,
			Signature: fmt.Sprintf("%040d", i), Body: fmt.Sprintf(`{"signature":"%040d"}`, i)}, e.clock.Now().Add(-age))
		if err != nil {
			t.Fatal(err)
		}
	}
	e.tracker(TrackerConfig{}).PollDue(ctx)
	if n, _ := e.store.CountWebhooks(ctx); n != 2 {
		t.Errorf("%d webhooks left, want the 2 younger than 30 days", n)
	}
}

func TestBackoffBounds(t *testing.T) {
	base, max := 5*time.Second, 60*time.Second
	for n := range 40 {
		raw := base << min(n, 20)
		lo, hi := min(raw, max)*8/10, min(raw*12/10, max)
		for range 200 {
			if got := Backoff(base, max, n); got < lo || got > hi {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", n, got, lo, hi)
			}
		}
	}
	// Capped delays still spread out.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[Backoff(base, max, 10).Round(time.Second)] = true
	}
	if len(seen) < 3 {
		t.Errorf("capped backoff takes %d values, want a spread", len(seen))
	}
}

// Akool sends a webhook for status 2 (processing) as well as 3 and 4. Like
// every webhook it is a hint: the job moves to processing only when a poll
// confirms it, nothing is ever settled by it, and a replayed or late one
// (after the job finished) changes nothing.
func TestProcessingWebhook(t *testing.T) {
	e := newTrackerEnv(t, 100)
	job := e.queued("A1", 30)
	var settled int
	tr := e.tracker(TrackerConfig{OnSettled: func(db.Job) { settled++ }})
	ctx := context.Background()
	var akoolSays akool.Status = akool.StatusQueued
	e.akool.get = func(_ context.Context, id string, _ int) (*akool.Job, error) {
		j := &akool.Job{ID: id, Status: akoolSays}
		if akoolSays == akool.StatusCompleted {
			j.DeductionCredit, j.HasDeductionCredit, j.ResultURL = 30, true, "https://cdn.example.com/r.mp4"
		}
		return j, nil
	}
	tr.PollDue(ctx) // queued; the next poll waits for its backoff
	ledger := func() string {
		t.Helper()
		es, err := e.store.LedgerForJob(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		var k []string
		for _, l := range es {
			k = append(k, fmt.Sprintf("%s:%d", l.Kind, l.Amount))
		}
		return strings.Join(k, ",")
	}

	// Akool's poll may lag its webhook: the job stays queued until a poll says 2.
	if err := tr.HandleWebhook(ctx, e.webhook("A1", akool.StatusProcessing, "1")); err != nil {
		t.Fatal(err)
	}
	if got := e.job(job.ID); got.Status != db.JobQueued {
		t.Fatalf("after the webhook alone: %s, want queued (a webhook applies nothing)", got.Status)
	}
	tr.PollDue(ctx)
	if got := e.job(job.ID); got.Status != db.JobQueued {
		t.Fatalf("poll still says 1: got %s, want queued", got.Status)
	}

	akoolSays = akool.StatusProcessing
	body := e.webhook("A1", akool.StatusProcessing, "2")
	if err := tr.HandleWebhook(ctx, body); err != nil {
		t.Fatal(err)
	}
	if n := tr.PollDue(ctx); n != 1 {
		t.Fatalf("polls after the webhook: got %d, want 1", n)
	}
	if got := e.job(job.ID); got.Status != db.JobProcessing {
		t.Fatalf("after the confirming poll: %s, want processing", got.Status)
	}
	if k := ledger(); k != "hold:-30" || settled != 0 {
		t.Errorf("after processing: ledger %s, settled %d; want only the hold, nothing settled", k, settled)
	}
	// The same webhook again (Akool's retry, or a replay) changes nothing.
	before, calls := e.job(job.ID), e.akool.total()
	if err := tr.HandleWebhook(ctx, body); err != nil {
		t.Fatal(err)
	}
	if n := tr.PollDue(ctx); n != 0 || e.akool.total() != calls {
		t.Errorf("a replayed status 2 caused %d polls", n)
	}
	if got := e.job(job.ID); got.Status != before.Status || !got.NextPollAt.Equal(before.NextPollAt) {
		t.Errorf("a replayed status 2 changed the job: %s/%v -> %s/%v", before.Status, before.NextPollAt, got.Status, got.NextPollAt)
	}

	// It finishes; a status 2 that arrives after that (out of order) is ignored.
	akoolSays = akool.StatusCompleted
	if err := tr.HandleWebhook(ctx, e.webhook("A1", akool.StatusCompleted, "3")); err != nil {
		t.Fatal(err)
	}
	tr.PollDue(ctx)
	if got := e.job(job.ID); got.Status != db.JobSucceeded || settled != 1 {
		t.Fatalf("after completion: %s, settled %d; want succeeded, settled once", got.Status, settled)
	}
	calls = e.akool.total()
	if err := tr.HandleWebhook(ctx, e.webhook("A1", akool.StatusProcessing, "4")); err != nil {
		t.Fatal(err)
	}
	if n := tr.PollDue(ctx); n != 0 || e.akool.total() != calls {
		t.Errorf("a late status 2 caused %d polls", n)
	}
	if got := e.job(job.ID); got.Status != db.JobSucceeded || settled != 1 {
		t.Errorf("after a late status 2: %s, settled %d; want succeeded, settled once", got.Status, settled)
	}
	if k := ledger(); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger %s, want hold, release, one charge", k)
	}
}
