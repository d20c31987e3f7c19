package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/akool"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/media"
)

const (
	imageURL = "https://media.example/character.png"
	videoURL = "https://media.example/motion.mp4"
)

// fakeProber answers for the two test links and counts its calls.
type fakeProber struct {
	mu       sync.Mutex
	videoErr error   // returned for videoURL when set
	duration float64 // of videoURL (default 12)
	calls    int
}

func (p *fakeProber) ProbeImage(_ context.Context, raw string) (media.ImageInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if raw != imageURL {
		return media.ImageInfo{}, &media.Error{Kind: media.ErrHTTPStatus, Message: "the server answered 404 Not Found"}
	}
	return media.ImageInfo{Format: "png", Width: 64, Height: 64, Size: 1000}, nil
}

func (p *fakeProber) ProbeVideo(_ context.Context, raw string) (media.VideoInfo, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	switch {
	case raw != videoURL:
		return media.VideoInfo{}, &media.Error{Kind: media.ErrHTTPStatus, Message: "the server answered 404 Not Found"}
	case p.videoErr != nil:
		return media.VideoInfo{}, p.videoErr
	}
	d := p.duration
	if d == 0 {
		d = 12
	}
	return media.VideoInfo{Duration: d, Width: 320, Height: 240, Codec: "avc1", Size: 50000, FastStart: true}, nil
}

func (p *fakeProber) set(f func(*fakeProber)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *fakeProber) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

// fakeAkool accepts every job unless told otherwise, and records requests.
type fakeAkool struct {
	mu     sync.Mutex
	reqs   []akool.CreateRequest
	create func(ctx context.Context, req akool.CreateRequest) (*akool.Job, error) // optional
}

func (a *fakeAkool) CreateCharacterSwap(ctx context.Context, req akool.CreateRequest) (*akool.Job, error) {
	a.mu.Lock()
	a.reqs = append(a.reqs, req)
	n := len(a.reqs)
	create := a.create
	a.mu.Unlock()
	if create != nil {
		return create(ctx, req)
	}
	return &akool.Job{ID: "akool-" + string(rune('a'+n-1)), Status: akool.StatusQueued}, nil
}

func (a *fakeAkool) requests() []akool.CreateRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]akool.CreateRequest(nil), a.reqs...)
}

// flakyStore fails MarkSubmitted a number of times before passing it on,
// and can hide jobs from the token lookup (as if a concurrent submission
// wrote its job just after this one looked).
type flakyStore struct {
	*db.DB
	markFailures atomic.Int64 // MarkSubmitted fails while > 0 (negative: always)
	markCalls    atomic.Int64
	hideTokens   bool
}

func (s *flakyStore) MarkSubmitted(ctx context.Context, jobID int64, akoolID string, status db.JobStatus, firstPoll time.Time) error {
	s.markCalls.Add(1)
	if n := s.markFailures.Load(); n != 0 {
		if n > 0 {
			s.markFailures.Add(-1)
		}
		return errors.New("database is locked")
	}
	return s.DB.MarkSubmitted(ctx, jobID, akoolID, status, firstPoll)
}

func (s *flakyStore) JobByIdempotencyKey(ctx context.Context, userID int64, key string) (db.Job, error) {
	if s.hideTokens {
		return db.Job{}, apperr.ErrNotFound
	}
	return s.DB.JobByIdempotencyKey(ctx, userID, key)
}

type fixture struct {
	svc    *Service
	store  *flakyStore
	probe  *fakeProber
	akool  *fakeAkool
	userID int64
	logs   *bytes.Buffer
	now    time.Time
}

func newFixture(t *testing.T, credits int64, tweak ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.Open(t)
	u, err := d.CreateUser(ctx, "ana@example.com", "Ana", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	if credits > 0 {
		if _, err := d.Grant(ctx, u.ID, 0, db.LedgerGrant, credits, "test"); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{store: &flakyStore{DB: d}, probe: &fakeProber{}, akool: &fakeAkool{}, userID: u.ID,
		logs: &bytes.Buffer{}, now: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	var logMu sync.Mutex
	cfg := Config{Store: f.store, Probe: f.probe, Akool: f.akool, Now: func() time.Time { return f.now },
		Log: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, f.logs}, nil))}
	for _, fn := range tweak {
		fn(&cfg)
	}
	f.svc = New(cfg)
	f.svc.markPause = time.Millisecond
	return f
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func validInput() Input {
	return Input{ImageURL: imageURL, VideoURL: videoURL, Mode: "animate", Resolution: "720p",
		IdempotencyKey: "form-token-000000000001"}
}

func (f *fixture) jobs(t *testing.T) []db.Job {
	t.Helper()
	js, err := f.store.RecentJobs(context.Background(), f.userID, 10)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// wantInputError fails unless err is an *InputError whose *apperr.Invalid
// has no field messages and the form-level message want.
func wantFormError(t *testing.T, err error, want string) *InputError {
	t.Helper()
	var ie *InputError
	var invalid *apperr.Invalid
	if !errors.As(err, &ie) || !errors.As(err, &invalid) {
		t.Fatalf("error %T %v, want an *InputError with an *apperr.Invalid", err, err)
	}
	if len(invalid.Fields) != 0 || invalid.Message != want {
		t.Fatalf("invalid %+v, want the form-level message %q", invalid, want)
	}
	return ie
}

func TestSubmitSendsAndRecords(t *testing.T) {
	f := newFixture(t, 100)
	job, created, err := f.svc.Submit(context.Background(), f.userID, validInput())
	if err != nil || !created {
		t.Fatalf("Submit = %+v, %v, %v", job, created, err)
	}
	if job.Status != db.JobQueued || job.AkoolID != "akool-a" || job.EstimateCredits != 30 {
		t.Errorf("job %+v, want queued with akool-a for 30 credits", job)
	}
	stored := f.jobs(t)
	if len(stored) != 1 || stored[0].InputHash != InputHash(validInput()) || stored[0].AkoolID != "akool-a" {
		t.Errorf("stored %+v, want the job with its input hash", stored)
	}
}

// The same form sent again (a double click, Back and submit) finds its job
// without checking the links again: a signed link may have expired since.
func TestResubmitSameInputsReturnsTheJobWithoutProbing(t *testing.T) {
	f := newFixture(t, 100)
	ctx := context.Background()
	first, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	probes := f.probe.count()
	f.probe.set(func(p *fakeProber) {
		p.videoErr = &media.Error{Kind: media.ErrHTTPStatus, Message: "the server answered 403 Forbidden"}
	})
	again := validInput()
	// Differences that do not count: spaces, case, the default spelled out.
	again.ImageURL = "  " + imageURL + " "
	again.Mode = "Animate"
	job, created, err := f.svc.Submit(ctx, f.userID, again)
	if err != nil || created || job.ID != first.ID {
		t.Fatalf("resubmit = job %d, created %v, %v; want job %d, not created", job.ID, created, err, first.ID)
	}
	if n := f.probe.count(); n != probes {
		t.Errorf("resubmit probed %d more times, want 0", n-probes)
	}
	if n := len(f.akool.requests()); n != 1 {
		t.Errorf("Akool got %d jobs, want 1", n)
	}
}

// Back, change 720p to 1080p, submit with the same token: refused, nothing
// written, not silently the old job.
func TestResubmitOtherInputsIsRefused(t *testing.T) {
	f := newFixture(t, 100)
	ctx := context.Background()
	first, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	changed := validInput()
	changed.Resolution = "1080p"
	probes := f.probe.count()
	_, created, err := f.svc.Submit(ctx, f.userID, changed)
	ie := wantFormError(t, err, "This form already started Swap #"+itoa(first.ID)+", with other values; nothing new was started. To start another swap with the values below, press Start swap again.")
	if created || ie.Check != nil {
		t.Errorf("created %v, check %v; want neither", created, ie.Check)
	}
	if ie.StartedJob != first.ID {
		t.Errorf("StartedJob %d, want %d", ie.StartedJob, first.ID)
	}
	if n := f.probe.count(); n != probes {
		t.Errorf("probed %d times for a reused token, want 0", n-probes)
	}
	if n := len(f.jobs(t)); n != 1 {
		t.Errorf("%d jobs, want 1", n)
	}
	if b, _ := f.store.Balance(ctx, f.userID); b.Held != 30 {
		t.Errorf("held %d, want 30 (one hold)", b.Held)
	}
	if n := len(f.akool.requests()); n != 1 {
		t.Errorf("Akool got %d jobs, want 1", n)
	}
}

// When two submissions of one token race past the lookup, the database's
// answer is compared the same way.
func TestResubmitRaceComparesInputsToo(t *testing.T) {
	f := newFixture(t, 100)
	f.store.hideTokens = true
	ctx := context.Background()
	first, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	job, created, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil || created || job.ID != first.ID {
		t.Errorf("same inputs: job %d, created %v, %v; want job %d", job.ID, created, err, first.ID)
	}
	changed := validInput()
	changed.Duration = "5"
	_, _, err = f.svc.Submit(ctx, f.userID, changed)
	wantFormError(t, err, "This form already started Swap #"+itoa(first.ID)+", with other values; nothing new was started. To start another swap with the values below, press Start swap again.")
	if n := len(f.akool.requests()); n != 1 {
		t.Errorf("Akool got %d jobs, want 1", n)
	}
}

func TestInputHash(t *testing.T) {
	base := Input{ImageURL: imageURL, VideoURL: videoURL, Mode: "animate", Resolution: "720p", Duration: "12",
		Prompt: "wave\nhello", IdempotencyKey: "token-a-0000000000"}
	same := []Input{
		{ImageURL: " " + imageURL, VideoURL: videoURL + "\t", Mode: "ANIMATE", Resolution: " 720P", Duration: "12.0",
			Prompt: "wave\r\nhello\r\n", IdempotencyKey: "token-b-0000000000"},
		{ImageURL: imageURL, VideoURL: videoURL, Mode: "", Resolution: "", Duration: "12 s", Prompt: " wave\rhello"},
	}
	for i, in := range same {
		if InputHash(in) != InputHash(base) {
			t.Errorf("same[%d] hashes differently", i)
		}
	}
	for name, change := range map[string]func(*Input){
		"image":      func(in *Input) { in.ImageURL += "?v=2" },
		"video":      func(in *Input) { in.VideoURL = imageURL },
		"mode":       func(in *Input) { in.Mode = "replace" },
		"resolution": func(in *Input) { in.Resolution = "1080p" },
		"duration":   func(in *Input) { in.Duration = "" },
		"prompt":     func(in *Input) { in.Prompt = "wave hello" },
		"shifted":    func(in *Input) { in.ImageURL, in.VideoURL = imageURL+videoURL[:5], videoURL[5:] },
	} {
		in := base
		change(&in)
		if InputHash(in) == InputHash(base) {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
}

// A malformed token is the member's problem (422), not ours (500), and
// nothing is checked or written.
func TestSubmitTokenLength(t *testing.T) {
	f := newFixture(t, 100)
	for _, tok := range []string{"", "short", strings.Repeat("x", 15), strings.Repeat("x", 65)} {
		in := validInput()
		in.IdempotencyKey = tok
		_, _, err := f.svc.Submit(context.Background(), f.userID, in)
		wantFormError(t, err, "This form was out of date, so nothing was started. It has been renewed: check the values below and press Start swap again.")
	}
	if n := f.probe.count(); n != 0 {
		t.Errorf("probed %d times", n)
	}
	if n := len(f.jobs(t)); n != 0 {
		t.Errorf("%d jobs written", n)
	}
	in := validInput()
	in.IdempotencyKey = strings.Repeat("x", 16)
	if _, created, err := f.svc.Submit(context.Background(), f.userID, in); err != nil || !created {
		t.Errorf("16-character token: created %v, %v", created, err)
	}
}

// A video whose length cannot be read asks for the duration next to that
// field; with one entered, the job can be sent.
func TestNoDurationAsksForOne(t *testing.T) {
	f := newFixture(t, 100)
	f.probe.set(func(p *fakeProber) {
		p.videoErr = &media.Error{Kind: media.ErrNoDuration, Message: "could not read the video's length — enter the duration"}
	})
	ctx := context.Background()
	chk, err := f.svc.Check(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	want := "Could not read the video's length — enter the duration."
	if got := chk.Fields[fields.Duration]; got != want {
		t.Errorf("duration message %q, want %q", got, want)
	}
	if msg, bad := chk.Fields[fields.VideoURL]; bad {
		t.Errorf("video link blamed: %q", msg)
	}
	_, _, err = f.svc.Submit(ctx, f.userID, validInput())
	var ie *InputError
	if !errors.As(err, &ie) || ie.Check == nil || ie.Check.Fields[fields.Duration] != want {
		t.Fatalf("Submit error %v, want an InputError asking for the duration", err)
	}
	in := validInput()
	in.Duration = "7.5"
	job, created, err := f.svc.Submit(ctx, f.userID, in)
	if err != nil || !created || job.BilledSeconds != 7.5 || job.EstimateCredits != 20 {
		t.Fatalf("with a duration: %+v, %v, %v; want 7.5 s billed for 20 credits", job, created, err)
	}
	if reqs := f.akool.requests(); len(reqs) != 1 || reqs[0].Duration != 7.5 {
		t.Errorf("Akool got %+v, want duration 7.5", reqs)
	}
}

func TestPrompt(t *testing.T) {
	tooLong := "Shorten the prompt to at most 500 characters (it has 501)."
	tests := []struct {
		name   string
		prompt string
		want   string // field message, "" when accepted
		sent   string // what Akool gets, when accepted
	}{
		{"500 letters", strings.Repeat("a", 500), "", strings.Repeat("a", 500)},
		{"501 letters", strings.Repeat("a", 501), tooLong, ""},
		// 500 characters, 1000 bytes: counted in characters.
		{"500 two-byte letters", strings.Repeat("é", 500), "", strings.Repeat("é", 500)},
		{"501 two-byte letters", strings.Repeat("é", 501), tooLong, ""},
		{"500 CJK", strings.Repeat("猫", 500), "", strings.Repeat("猫", 500)},
		// Browsers count a line break as one character and send CRLF.
		{"500 with CRLF line breaks", strings.Repeat("abcd\r\n", 99) + "abcde", "", strings.Repeat("abcd\n", 99) + "abcde"},
		{"old Mac line breaks", "one\rtwo", "", "one\ntwo"},
		{"501 with CRLF line breaks", strings.Repeat("abcd\r\n", 99) + "abcdef", tooLong, ""},
		{"tabs and new lines", "a\tb\nc", "", "a\tb\nc"},
		{"escape", "red \x1b[31m text", "The prompt contains control characters.", ""},
		{"NUL", "a\x00b", "The prompt contains control characters.", ""},
		{"C1 control", "a\u0085b", "The prompt contains control characters.", ""},
		{"not UTF-8", "caf\xe9", "The prompt contains characters that are not text.", ""},
	}
	// Many forms from one member on a frozen clock: not about the limit.
	f := newFixture(t, 10_000, unlimitedChecks)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := validInput()
			in.Prompt = tt.prompt
			in.IdempotencyKey = "prompt-test-token-" + itoa(int64(i))
			before := len(f.akool.requests())
			job, _, err := f.svc.Submit(context.Background(), f.userID, in)
			if tt.want != "" {
				var ie *InputError
				if !errors.As(err, &ie) || ie.Check == nil || ie.Check.Fields[fields.Prompt] != tt.want {
					t.Fatalf("error %v, want prompt message %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if job.Prompt != tt.sent {
				t.Errorf("stored prompt %q, want %q", job.Prompt, tt.sent)
			}
			if reqs := f.akool.requests(); len(reqs) != before+1 || reqs[before].Prompt != tt.sent {
				t.Errorf("Akool got %+v, want one more job with prompt %q", reqs[before:], tt.sent)
			}
		})
	}
}

// The member's request ending (a closed tab) does not cancel the call to
// Akool, and its answer is still recorded.
func TestAkoolCallOutlivesTheRequest(t *testing.T) {
	f := newFixture(t, 100)
	called, release := make(chan struct{}), make(chan struct{})
	callErr := make(chan error, 1)
	f.akool.create = func(ctx context.Context, req akool.CreateRequest) (*akool.Job, error) {
		close(called)
		<-release
		callErr <- ctx.Err()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return &akool.Job{ID: "akool-late", Status: akool.StatusQueued}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var job db.Job
	go func() {
		var err error
		job, _, err = f.svc.Submit(ctx, f.userID, validInput())
		done <- err
	}()
	<-called
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if err := <-callErr; err != nil {
		t.Errorf("Akool's call saw %v, want a context that outlives the request", err)
	}
	if job.Status != db.JobQueued || job.AkoolID != "akool-late" {
		t.Errorf("job %+v, want queued with Akool's id", job)
	}
	if got := f.jobs(t); len(got) != 1 || got[0].AkoolID != "akool-late" {
		t.Errorf("stored %+v", got)
	}
}

// Akool has the job; a failing write of its id is retried.
func TestMarkSubmittedIsRetried(t *testing.T) {
	f := newFixture(t, 100)
	f.store.markFailures.Store(2)
	job, created, err := f.svc.Submit(context.Background(), f.userID, validInput())
	if err != nil || !created || job.Status != db.JobQueued {
		t.Fatalf("Submit = %+v, %v, %v", job, created, err)
	}
	if n := f.store.markCalls.Load(); n != 3 {
		t.Errorf("MarkSubmitted called %d times, want 3", n)
	}
	if got := f.jobs(t); got[0].Status != db.JobQueued || got[0].AkoolID != "akool-a" {
		t.Errorf("stored %s %q, want queued akool-a", got[0].Status, got[0].AkoolID)
	}
}

// When every attempt fails, the error log names Akool's id: it is the only
// place that knows it.
func TestMarkSubmittedFailureIsLoggedWithAkoolID(t *testing.T) {
	f := newFixture(t, 100)
	f.store.markFailures.Store(-1)
	_, _, err := f.svc.Submit(context.Background(), f.userID, validInput())
	if err == nil {
		t.Fatal("Submit succeeded, want an error")
	}
	if n := f.store.markCalls.Load(); n != markAttempts {
		t.Errorf("MarkSubmitted called %d times, want %d", n, markAttempts)
	}
	found := false
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == "ERROR" && rec["akool_id"] == "akool-a" && rec["job_id"] != nil {
			found = true
		}
	}
	if !found {
		t.Errorf("no ERROR log with akool_id; logs:\n%s", f.logs)
	}
	if got := f.jobs(t); got[0].Status != db.JobSubmitting {
		t.Errorf("job %s, want still submitting", got[0].Status)
	}
}

// Wait returns once every submission in flight has been recorded, so a
// shutdown can close the store after it.
func TestWaitForSubmissionsInFlight(t *testing.T) {
	f := newFixture(t, 100)
	if err := f.svc.Wait(context.Background()); err != nil {
		t.Fatalf("Wait with nothing in flight: %v", err)
	}
	called, release := make(chan struct{}), make(chan struct{})
	f.akool.create = func(ctx context.Context, req akool.CreateRequest) (*akool.Job, error) {
		close(called)
		<-release
		return &akool.Job{ID: "akool-slow", Status: akool.StatusQueued}, nil
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := f.svc.Submit(context.Background(), f.userID, validInput())
		done <- err
	}()
	<-called
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.svc.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait during the call = %v, want context.DeadlineExceeded", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- f.svc.Wait(context.Background()) }()
	close(release)
	if err := <-waited; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	// By the time Wait returned, the answer was recorded.
	if got := f.jobs(t); len(got) != 1 || got[0].AkoolID != "akool-slow" || got[0].Status != db.JobQueued {
		t.Errorf("after Wait: %+v, want the job recorded as queued", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestEstimateIsRateLimitedPerMember(t *testing.T) {
	f := newFixture(t, 100, func(c *Config) { c.EstimateRate, c.EstimateBurst = 2, 3 })
	ctx := context.Background()
	other, err := f.store.CreateUser(ctx, "bo@example.com", "Bo", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := f.svc.Estimate(ctx, f.userID, validInput()); err != nil {
			t.Fatalf("estimate %d: %v", i, err)
		}
	}
	probes := f.probe.count()
	_, err = f.svc.Estimate(ctx, f.userID, validInput())
	var tooMany *apperr.TooMany
	if !errors.As(err, &tooMany) || tooMany.Message == "" {
		t.Fatalf("4th estimate: %v, want *apperr.TooMany", err)
	}
	if n := f.probe.count(); n != probes {
		t.Errorf("a refused estimate probed %d times", n-probes)
	}
	if _, err := f.svc.Estimate(ctx, other.ID, validInput()); err != nil {
		t.Errorf("another member is limited too: %v", err)
	}
	f.now = f.now.Add(500 * time.Millisecond) // one token back at 2 per second
	if _, err := f.svc.Estimate(ctx, f.userID, validInput()); err != nil {
		t.Errorf("after the refill: %v", err)
	}
	if _, err := f.svc.Estimate(ctx, f.userID, validInput()); !errors.As(err, &tooMany) {
		t.Errorf("right after: %v, want *apperr.TooMany", err)
	}

	unlimited := newFixture(t, 100, func(c *Config) { c.EstimateRate = -1 })
	for i := range 50 {
		if _, err := unlimited.svc.Estimate(ctx, unlimited.userID, validInput()); err != nil {
			t.Fatalf("unlimited estimate %d: %v", i, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (f *fixture) balance(t *testing.T) db.Balance {
	t.Helper()
	b, err := f.store.Balance(context.Background(), f.userID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unlimitedChecks turns the per-member limit on estimates and submissions
// off, for tests that send many forms as one member on a frozen clock.
func unlimitedChecks(c *Config) { c.EstimateRate = -1 }

// Submissions check links too, so they spend from the same per-member
// budget as estimates: over it, a new form is refused with nothing probed,
// held or sent, while a resubmitted form still finds its job.
func TestSubmitSharesTheEstimateLimit(t *testing.T) {
	f := newFixture(t, 1000, func(c *Config) { c.EstimateRate, c.EstimateBurst = 1, 2 })
	ctx := context.Background()
	if _, err := f.svc.Estimate(ctx, f.userID, validInput()); err != nil {
		t.Fatal(err)
	}
	first, created, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil || !created {
		t.Fatalf("first submit: created %v, err %v", created, err)
	}
	probes, sent, bal := f.probe.count(), len(f.akool.requests()), f.balance(t)

	in := validInput()
	in.IdempotencyKey = "form-token-000000000002"
	_, _, err = f.svc.Submit(ctx, f.userID, in)
	var tooMany *apperr.TooMany
	if !errors.As(err, &tooMany) || tooMany.Message == "" {
		t.Fatalf("submit over the limit: %v, want *apperr.TooMany", err)
	}
	if n := f.probe.count(); n != probes {
		t.Errorf("a refused submit probed %d times", n-probes)
	}
	if n := len(f.akool.requests()); n != sent {
		t.Errorf("a refused submit sent %d jobs to Akool", n-sent)
	}
	if got := f.balance(t); got != bal {
		t.Errorf("balance after a refused submit %+v, want %+v", got, bal)
	}
	if js := f.jobs(t); len(js) != 1 {
		t.Errorf("%d jobs, want 1", len(js))
	}

	again, created, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil || created || again.ID != first.ID {
		t.Errorf("resubmitted form: job %d, created %v, err %v; want job %d", again.ID, created, err, first.ID)
	}
	f.now = f.now.Add(time.Second)
	if _, created, err := f.svc.Submit(ctx, f.userID, in); err != nil || !created {
		t.Errorf("after the refill: created %v, err %v", created, err)
	}
}

// A probe refused because the member's earlier ones still hold their slots
// says nothing about the link: the check is refused as a whole (429), not
// blamed on a field, and a submission writes and holds nothing.
func TestBusyProbesAreTooMany(t *testing.T) {
	f := newFixture(t, 1000)
	f.probe.set(func(p *fakeProber) {
		p.videoErr = &media.Error{Kind: media.ErrBusy, Message: "your other link checks are still running"}
	})
	ctx := context.Background()
	var tooMany *apperr.TooMany
	if _, err := f.svc.Estimate(ctx, f.userID, validInput()); !errors.As(err, &tooMany) {
		t.Errorf("estimate: %v, want *apperr.TooMany", err)
	}
	bal := f.balance(t)
	if _, _, err := f.svc.Submit(ctx, f.userID, validInput()); !errors.As(err, &tooMany) {
		t.Errorf("submit: %v, want *apperr.TooMany", err)
	}
	if js := f.jobs(t); len(js) != 0 {
		t.Errorf("%d jobs written, want none", len(js))
	}
	if got := f.balance(t); got != bal {
		t.Errorf("balance %+v, want %+v", got, bal)
	}
	if n := len(f.akool.requests()); n != 0 {
		t.Errorf("%d jobs sent to Akool", n)
	}
}
