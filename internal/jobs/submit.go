// Package jobs runs a character swap from the form to Akool and back:
// validation and estimates, crash-safe submission with credit holds, and
// recovery of jobs a crash left behind.
package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
	"swapdesk/internal/fields"
	"swapdesk/internal/media"
	"swapdesk/internal/pricing"
	"swapdesk/internal/ratelimit"
)

// MaxPromptRunes is Akool's limit on the prompt.
const MaxPromptRunes = 500

// Store is what the service needs from the database.
type Store interface {
	Balance(ctx context.Context, userID int64) (db.Balance, error)
	JobByIdempotencyKey(ctx context.Context, userID int64, key string) (db.Job, error)
	CreateJobWithHold(ctx context.Context, n db.NewJob) (db.Job, bool, error)
	MarkSubmitted(ctx context.Context, jobID int64, akoolID string, status db.JobStatus, firstPoll time.Time) error
	EndSubmission(ctx context.Context, jobID int64, status db.JobStatus, message, releaseNote string) error
	InterruptSubmitting(ctx context.Context, in db.Interruption) ([]db.Job, error)
}

// Prober learns what a member's links point at.
type Prober interface {
	ProbeImage(ctx context.Context, rawURL string) (media.ImageInfo, error)
	ProbeVideo(ctx context.Context, rawURL string) (media.VideoInfo, error)
}

// Creator sends a job to Akool.
type Creator interface {
	CreateCharacterSwap(ctx context.Context, req akool.CreateRequest) (*akool.Job, error)
}

// Config builds a Service.
type Config struct {
	Store Store
	Probe Prober
	Akool Creator
	Log   *slog.Logger
	// WebhookURL is sent to Akool with every job when set (public URL +
	// /webhooks/akool); without it the tracker polls.
	WebhookURL string
	// SubmitTimeout bounds the create call to Akool (default 45 s).
	SubmitTimeout time.Duration
	// FirstPoll is how long after submission the tracker first asks Akool
	// (default 5 s).
	FirstPoll time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// EstimateRate and EstimateBurst limit each member's estimates and
	// submissions together, since both may start link probes: a token
	// bucket refilled at EstimateRate per second holding EstimateBurst
	// (defaults 5 and 10). A negative EstimateRate means no limit. (How many
	// probes one member runs at once is the Prober's bound, see
	// media.ForMember.)
	EstimateRate  float64
	EstimateBurst int
	// OnSubmitted, when set, is called with each job Akool accepted, right
	// after its id is recorded (the input keeper copies its image). It must
	// not block.
	OnSubmitted func(db.Job)
}

// Service submits and estimates jobs.
type Service struct {
	cfg    Config
	log    *slog.Logger
	checks *ratelimit.Keyed // estimates and submissions that check links; nil: no limit
	// markPause is the first pause between attempts to record Akool's id.
	markPause time.Duration

	mu      sync.Mutex
	sending int             // Akool submissions in flight
	idle    []chan struct{} // closed when sending drops to 0
}

// Each member's estimates and submissions that check links, by default: a
// bucket of DefaultEstimateBurst refilled at DefaultEstimateRate a second
// (Config.EstimateRate). The API documentation page quotes them.
const (
	DefaultEstimateRate  = 5
	DefaultEstimateBurst = 10
)

// markAttempts is how often Akool's id is written before giving up.
const markAttempts = 4

// recordTimeout bounds recording Akool's answer, retries included.
const recordTimeout = 15 * time.Second

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SubmitTimeout == 0 {
		cfg.SubmitTimeout = 45 * time.Second
	}
	if cfg.FirstPoll == 0 {
		cfg.FirstPoll = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EstimateRate == 0 {
		cfg.EstimateRate = DefaultEstimateRate
	}
	if cfg.EstimateBurst <= 0 {
		cfg.EstimateBurst = DefaultEstimateBurst
	}
	s := &Service{cfg: cfg, log: cfg.Log, markPause: 100 * time.Millisecond}
	if cfg.EstimateRate > 0 {
		s.checks = ratelimit.New(rate.Limit(cfg.EstimateRate), cfg.EstimateBurst)
	}
	return s
}

// Input is the job form exactly as the member sent it.
type Input struct {
	ImageURL       string
	VideoURL       string
	Mode           string
	Resolution     string
	Duration       string
	Prompt         string
	IdempotencyKey string
}

// InputError is returned by Submit when the form cannot be sent as it is.
// Err is an *apperr.Invalid (field messages, or a form-level message about
// the form's one-time token) or an *apperr.InsufficientCredits; Check is the
// check that found the problem, nil when the form was refused before its
// links were checked.
type InputError struct {
	Check *Check
	Err   error
	// StartedJob is the job this form's one-time token already started,
	// when the form came back with other inputs (0 otherwise); the message
	// names it as "Swap #N".
	StartedJob int64
}

func (e *InputError) Error() string { return "job input: " + e.Err.Error() }

// Unwrap returns Err, so errors.As finds the *apperr.Invalid and errors.Is
// finds apperr.ErrInsufficientCredits.
func (e *InputError) Unwrap() error { return e.Err }

// Check is what is known about an Input: parsed values, probe results, the
// price and every problem found, field by field. The estimate panel shows it;
// Submit acts on it only when it has no problems.
type Check struct {
	Mode       pricing.Mode
	Resolution pricing.Resolution
	Requested  *float64 // the member's duration, nil when blank
	Prompt     string
	Image      *media.ImageInfo
	Video      *media.VideoInfo
	Quote      *pricing.Estimate // nil until the duration is known
	Balance    db.Balance
	// After is the available balance once this job's hold is taken.
	After  int64
	Fields apperr.FieldErrors
}

// detected returns the video's length when the probe found one.
func (c *Check) detected() *float64 {
	if c.Video == nil || c.Video.Duration <= 0 {
		return nil
	}
	d := c.Video.Duration
	return &d
}

// Short reports whether the balance does not cover the quote.
func (c *Check) Short() bool { return c.Quote != nil && int64(c.Quote.Credits) > c.Balance.Available }

// Estimate is Check for the live estimate panel, limited per member because
// every estimate may start link probes: over the limit it checks nothing
// and returns an *apperr.TooMany.
func (s *Service) Estimate(ctx context.Context, userID int64, in Input) (*Check, error) {
	if _, ok := s.checks.Allow(userID, s.cfg.Now()); !ok {
		return nil, &apperr.TooMany{Message: "Too many estimates in a short time. Wait a moment; the estimate updates when you next change a field."}
	}
	return s.Check(ctx, userID, in)
}

// Check validates in, probes its links (cached) and prices it for userID.
// The probes count against userID's share of the Prober (media.ForMember).
// Problems are returned in Check.Fields; the error is for failures of our
// own (the database), or an *apperr.TooMany when userID's earlier link
// checks still hold every probe slot a member may have.
func (s *Service) Check(ctx context.Context, userID int64, in Input) (*Check, error) {
	c := &Check{Fields: apperr.FieldErrors{}}
	s.parse(in, c)
	if busy := s.probe(media.ForMember(ctx, strconv.FormatInt(userID, 10)), in, c); busy {
		return nil, &apperr.TooMany{Message: "Your earlier link checks are still running (a link may be slow to answer). Wait a few seconds and try again."}
	}
	// Price once a length is known: the member's, the video's, or both. A
	// bad or unreadable video already has its message.
	detected := c.detected()
	_, durationBad := c.Fields[fields.Duration]
	if c.Resolution != "" && !durationBad && (c.Requested != nil || detected != nil) {
		if q, err := pricing.EstimateFor(c.Requested, detected, c.Resolution); err != nil {
			addPricingError(c.Fields, err)
		} else {
			c.Quote = &q
		}
	}
	bal, err := s.cfg.Store.Balance(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	c.Balance = bal
	c.After = bal.Available
	if c.Quote != nil {
		c.After -= int64(c.Quote.Credits)
	}
	return c, nil
}

// parse checks the fields that need no network.
func (s *Service) parse(in Input, c *Check) {
	fe := c.Fields
	for _, f := range []struct{ field, val, what string }{
		{fields.ImageURL, in.ImageURL, "the character image"},
		{fields.VideoURL, in.VideoURL, "the motion video"},
	} {
		if strings.TrimSpace(f.val) == "" {
			fe.Add(f.field, "Enter the link to "+f.what+".")
		}
	}
	if m, err := pricing.ParseMode(orDefault(in.Mode, string(pricing.DefaultMode))); err != nil {
		fe.Add(fields.Mode, "Choose animate or replace.")
	} else {
		c.Mode = m
	}
	if r, err := pricing.ParseResolution(orDefault(in.Resolution, string(pricing.DefaultResolution))); err != nil {
		fe.Add(fields.Resolution, "Choose 480p, 720p or 1080p.")
	} else {
		c.Resolution = r
	}
	// ParseSeconds also checks the range Akool accepts.
	if sec, ok, err := pricing.ParseSeconds(in.Duration); err != nil {
		fe.Add(fields.Duration, sentence(err.Error()))
	} else if ok {
		c.Requested = &sec
	}
	prompt := normalizePrompt(in.Prompt)
	switch {
	case !utf8.ValidString(prompt):
		fe.Add(fields.Prompt, "The prompt contains characters that are not text.")
	case utf8.RuneCountInString(prompt) > MaxPromptRunes:
		fe.Add(fields.Prompt, fmt.Sprintf("Shorten the prompt to at most %d characters (it has %d).", MaxPromptRunes, utf8.RuneCountInString(prompt)))
	case strings.IndexFunc(prompt, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0:
		fe.Add(fields.Prompt, "The prompt contains control characters.")
	default:
		c.Prompt = prompt
	}
}

// probe fetches the heads of both links (cached per URL), concurrently. It
// reports whether a probe was refused because the member already runs as
// many as a member may (media.ErrBusy), which says nothing about the link.
func (s *Service) probe(ctx context.Context, in Input, c *Check) (busy bool) {
	type imgRes struct {
		info media.ImageInfo
		err  error
	}
	var imgCh chan imgRes
	if _, bad := c.Fields[fields.ImageURL]; !bad {
		imgCh = make(chan imgRes, 1)
		go func() {
			info, err := s.cfg.Probe.ProbeImage(ctx, strings.TrimSpace(in.ImageURL))
			imgCh <- imgRes{info, err}
		}()
	}
	if _, bad := c.Fields[fields.VideoURL]; !bad {
		info, err := s.cfg.Probe.ProbeVideo(ctx, strings.TrimSpace(in.VideoURL))
		switch {
		case err == nil:
			c.Video = &info
		case errors.Is(err, media.ErrBusy):
			busy = true
		case errors.Is(err, media.ErrNoDuration):
			// Readable enough to use, but its length is unknown: the member
			// must say how long (the duration field says so if empty).
			if c.Requested == nil {
				c.Fields.Add(fields.Duration, sentence(err.Error()))
			}
		default:
			c.Fields.Add(fields.VideoURL, mediaMessage(err))
		}
	}
	if imgCh != nil {
		r := <-imgCh
		switch {
		case errors.Is(r.err, media.ErrBusy):
			busy = true
		case r.err != nil:
			c.Fields.Add(fields.ImageURL, mediaMessage(r.err))
		default:
			c.Image = &r.info
		}
	}
	return busy
}

// Submit checks in from scratch (never trusting an earlier estimate), holds
// the credits and writes the job in one transaction, then asks Akool. It
// returns the job, which is queued, or rejected with Akool's reason (its
// hold released), and whether this call created it.
//
// The form's one-time token (Input.IdempotencyKey) is looked up first: a
// resubmitted form with the same inputs returns the job it created before,
// created == false, without checking its links again (a signed link may
// have expired since). The same token with other inputs is refused.
//
// A submission that has to check its links counts against the member's
// limit on estimates (Config.EstimateRate) and on probes, like an estimate.
//
// Errors: *InputError for anything the member can correct (bad fields, a
// short balance, a malformed or reused token), with nothing written or held;
// *apperr.TooMany over the member's limits, with nothing checked, written or
// held; other errors are ours.
func (s *Service) Submit(ctx context.Context, userID int64, in Input) (job db.Job, created bool, err error) {
	key := strings.TrimSpace(in.IdempotencyKey)
	if len(key) < 16 || len(key) > 64 {
		return db.Job{}, false, &InputError{Err: apperr.Invalidf("This form was out of date, so nothing was started. It has been renewed: check the values below and press Start swap again.")}
	}
	hash := InputHash(in)
	if job, err := s.cfg.Store.JobByIdempotencyKey(ctx, userID, key); err == nil {
		return resubmitted(job, hash)
	} else if !errors.Is(err, apperr.ErrNotFound) {
		return db.Job{}, false, fmt.Errorf("look up form token: %w", err)
	}
	if _, ok := s.checks.Allow(userID, s.cfg.Now()); !ok {
		return db.Job{}, false, &apperr.TooMany{Message: "Too many link checks in a short time. Wait a moment and submit again."}
	}
	c, err := s.Check(ctx, userID, in)
	if err != nil {
		return db.Job{}, false, err
	}
	if c.Fields.Any() {
		return db.Job{}, false, &InputError{Check: c, Err: apperr.Fields(c.Fields)}
	}
	if c.Quote == nil {
		return db.Job{}, false, fmt.Errorf("check passed without a quote")
	}
	job, created, err = s.cfg.Store.CreateJobWithHold(ctx, db.NewJob{
		UserID: userID, IdempotencyKey: key, InputHash: hash,
		ImageURL: strings.TrimSpace(in.ImageURL), VideoURL: strings.TrimSpace(in.VideoURL),
		Mode: string(c.Mode), Resolution: string(c.Resolution),
		DurationRequested: c.Requested, DurationDetected: c.detected(),
		BilledSeconds: c.Quote.Seconds, EstimateCredits: int64(c.Quote.Credits), Prompt: c.Prompt,
		HoldNote: credits.HoldNote,
	})
	var short *apperr.InsufficientCredits
	switch {
	case errors.As(err, &short):
		return db.Job{}, false, &InputError{Check: c, Err: err}
	case err != nil:
		return db.Job{}, false, err
	case !created:
		// The same token won a race with this submission.
		return resubmitted(job, hash)
	}
	job, err = s.send(ctx, job)
	if err == nil && s.cfg.OnSubmitted != nil && (job.Status == db.JobQueued || job.Status == db.JobProcessing) {
		s.cfg.OnSubmitted(job)
	}
	return job, err == nil, err
}

// resubmitted answers a form token that already made job: the job itself
// when the inputs are the same, an *InputError when they differ (the member
// went back and changed the form). Jobs from before input hashes were kept
// count as the same.
func resubmitted(job db.Job, hash string) (db.Job, bool, error) {
	if job.InputHash != "" && job.InputHash != hash {
		// The answer is a page for a POST: reloading it would post the same
		// form again. The form shown with it has a new token, so pressing
		// Start swap there is what starts another swap.
		return db.Job{}, false, &InputError{StartedJob: job.ID, Err: apperr.Invalidf(
			"This form already started Swap #%d, with other values; nothing new was started. "+
				"To start another swap with the values below, press Start swap again.", job.ID)}
	}
	return job, false, nil
}

// InputHash is the SHA-256 (hex) of in's fields as they are compared
// between two submissions of one form: surrounding space, letter case,
// defaults, line breaks and the spelling of the duration do not count.
// The token itself is not part of it.
func InputHash(in Input) string {
	dur := strings.TrimSpace(in.Duration)
	if sec, ok, err := pricing.ParseSeconds(dur); err == nil && ok {
		dur = strconv.FormatFloat(sec, 'f', -1, 64)
	}
	h := sha256.New()
	for _, v := range []string{
		strings.TrimSpace(in.ImageURL),
		strings.TrimSpace(in.VideoURL),
		strings.ToLower(strings.TrimSpace(orDefault(in.Mode, string(pricing.DefaultMode)))),
		strings.ToLower(strings.TrimSpace(orDefault(in.Resolution, string(pricing.DefaultResolution)))),
		dur,
		normalizePrompt(in.Prompt),
	} {
		fmt.Fprintf(h, "%d:%s;", len(v), v) // length-prefixed: no two forms share an encoding
	}
	return hex.EncodeToString(h.Sum(nil))
}

// normalizePrompt turns the line breaks browsers submit (CRLF, which their
// character counters and maxlength count as one) into "\n", and trims.
func normalizePrompt(p string) string {
	p = strings.ReplaceAll(p, "\r\n", "\n")
	p = strings.ReplaceAll(p, "\r", "\n")
	return strings.TrimSpace(p)
}

// send calls Akool for a job written as submitting. It is never retried:
// Akool has no idempotency key, so a blind retry could charge twice. If the
// process dies before the answer is recorded, start-up marks the job
// interrupted and releases its hold; Wait lets a shutdown avoid that.
func (s *Service) send(ctx context.Context, job db.Job) (db.Job, error) {
	s.begin()
	defer s.end()
	// Detach from the request: a member closing the tab must not leave the
	// job half-sent. The call has its own bound, and recording its outcome
	// a fresh one, so a call that used up its time is still recorded.
	ctx = context.WithoutCancel(ctx)
	req := akool.CreateRequest{
		Image: job.ImageURL, Video: job.VideoURL,
		Resolution: job.Resolution, Mode: job.Mode, Prompt: job.Prompt,
		WebhookURL: s.cfg.WebhookURL,
	}
	// Send the billed length explicitly so Akool bills what we quoted.
	if job.BilledSeconds >= 1 {
		req.Duration = math.Round(job.BilledSeconds*1000) / 1000
	}
	callCtx, cancelCall := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	res, err := s.cfg.Akool.CreateCharacterSwap(callCtx, req)
	cancelCall()
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	if err != nil {
		// Akool answering with a code is a refusal. No usable answer (a
		// timeout, a 5xx from a proxy) is not: the job may still run, so it
		// is marked interrupted, which admins see.
		status, msg := db.JobRejected, akool.UserMessage(err)
		var refused *akool.Error
		if !errors.As(err, &refused) {
			status = db.JobInterrupted
			msg = "Akool did not answer clearly, so this swap may or may not have started. " +
				"Your credits were returned here; if Akool runs it anyway, an admin will see it on Akool's account."
		}
		s.log.Warn("akool did not take a job", "job_id", job.ID, "status", status, "err", err)
		if rerr := s.cfg.Store.EndSubmission(ctx, job.ID, status, msg, credits.NotTakenNote); rerr != nil {
			return db.Job{}, fmt.Errorf("end submission of job %d after %v: %w", job.ID, err, rerr)
		}
		job.Status, job.ErrorMessage = status, msg
		return job, nil
	}
	status := db.JobQueued
	if res.Status == akool.StatusProcessing {
		status = db.JobProcessing
	}
	if err := s.markSubmitted(ctx, job.ID, res.ID, status); err != nil {
		// Akool runs this job, but we hold it as submitting: the next
		// start-up marks it interrupted and releases its hold. Only this
		// line knows Akool's id.
		s.log.Error("akool accepted a job whose id could not be recorded; it will be marked interrupted at the next start",
			"job_id", job.ID, "akool_id", res.ID, "user_id", job.UserID, "credits", job.EstimateCredits, "err", err)
		return db.Job{}, fmt.Errorf("record akool id %s for job %d: %w", res.ID, job.ID, err)
	}
	job.Status, job.AkoolID = status, res.ID
	s.log.Info("job submitted", "job_id", job.ID, "akool_id", res.ID, "credits", job.EstimateCredits)
	return job, nil
}

// markSubmitted records Akool's id, retrying with short pauses: Akool has
// the job now, so giving up early costs more than waiting. A job that is no
// longer submitting is not retried.
func (s *Service) markSubmitted(ctx context.Context, jobID int64, akoolID string, status db.JobStatus) error {
	pause := s.markPause
	for attempt := 1; ; attempt++ {
		err := s.cfg.Store.MarkSubmitted(ctx, jobID, akoolID, status, s.cfg.Now().Add(s.cfg.FirstPoll))
		if err == nil || errors.Is(err, apperr.ErrConflict) || attempt == markAttempts {
			return err
		}
		s.log.Warn("recording akool id failed; retrying", "job_id", jobID, "akool_id", akoolID, "attempt", attempt, "err", err)
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		pause *= 2
	}
}

func (s *Service) begin() {
	s.mu.Lock()
	s.sending++
	s.mu.Unlock()
}

func (s *Service) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sending--; s.sending == 0 {
		for _, ch := range s.idle {
			close(ch)
		}
		s.idle = nil
	}
}

// Wait blocks until no submission to Akool is in flight, so each one sent
// has had Akool's answer recorded (or its failure to be recorded logged),
// or until ctx ends, returning ctx.Err(). Call it on shutdown after the HTTP
// server has stopped and before closing the store: a submission cut off
// between Akool's answer and our record would be marked interrupted at the
// next start while Akool runs it. Submissions started after Wait returns
// are not waited for.
func (s *Service) Wait(ctx context.Context) error {
	s.mu.Lock()
	if s.sending == 0 {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.idle = append(s.idle, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// interruptedMessage is what the member of a job Recover interrupted reads;
// interruptedDetail is the line it adds to the job's history.
const (
	interruptedMessage = "Swapdesk stopped while sending this job to Akool. Your credits were returned; please submit it again."
	interruptedDetail  = "found at start-up; hold released"
)

// Recover marks jobs left submitting by a crash as interrupted and releases
// their holds. Call it once at start-up, before serving.
func (s *Service) Recover(ctx context.Context) error {
	jobs, err := s.cfg.Store.InterruptSubmitting(ctx, db.Interruption{
		Message: interruptedMessage, ReleaseNote: credits.InterruptedNote, Detail: interruptedDetail,
	})
	if err != nil {
		return fmt.Errorf("recover submitting jobs: %w", err)
	}
	for _, j := range jobs {
		s.log.Warn("job interrupted by a restart; hold released", "job_id", j.ID, "user_id", j.UserID, "credits", j.EstimateCredits)
	}
	return nil
}

func addPricingError(fe apperr.FieldErrors, err error) {
	var pe *pricing.Error
	if errors.As(err, &pe) {
		fe.Add(pe.Field, pe.UserMessage())
		return
	}
	fe.Add(fields.Duration, "The length of the video could not be priced.")
}

// mediaMessage is the user-safe message of a probe error.
func mediaMessage(err error) string {
	if msg := apperr.Message(err); msg != "" {
		return msg
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "Checking this link took too long. Try again."
	}
	return "This link could not be checked. Try again."
}

// sentence capitalises msg and ends it with a period.
func sentence(msg string) string { return apperr.Sentence(msg) }

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}
