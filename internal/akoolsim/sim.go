// Package akoolsim is a faithful emulator of Akool's Character Swap API (v4):
// the routes, envelopes, auth precedence, validation codes, credit balance,
// job lifecycle, signed and encrypted webhooks and 7-day result expiry that
// shared/AKOOL-API.md documents, plus typed fault injection for tests.
//
// A Sim is an http.Handler. It works at the root of a server or under a
// prefix with http.StripPrefix:
//
//	sim := akoolsim.New(akoolsim.Config{APIKey: key, ClientID: id, ClientSecret: key,
//		BaseURL: "http://127.0.0.1:8080/sandbox/akool"})
//	defer sim.Close()
//	mux.Handle("/sandbox/akool/", http.StripPrefix("/sandbox/akool", sim))
//
// Where Akool's docs are silent, the emulator decides as follows:
//
//   - Every answer is HTTP 200 with a body code, except injected HTTP faults
//     and unknown routes (404). Error envelopes are {"code","msg"} without data;
//     msg is the docs' description of the code, sometimes with a detail.
//   - Auth (§3): a Bearer header is checked first and a bad one is 1101 even
//     with a valid x-api-key; no header is 1102; an unknown key is 1101; a
//     banned account is 1200 once authenticated.
//   - Validation (§1.3): image and video must be non-blank strings (image_url
//     and video_url are not aliases); duration a number in [1, 120]; resolution
//     480p/720p/1080p (default 720p); mode animate/replace (default animate);
//     prompt at most 500 runes; model_name empty or akool.ModelWan; webhookurl and
//     webhookUrl both accepted (lowercase wins). Anything else is 1003.
//   - Credits: ceil(d/5) * 5/10/15 for 480p/720p/1080p, deducted at create,
//     1104 when short, fully refunded when the job fails (deduction_credit 0).
//     With a duration in the request, the charge stays on it and the poll
//     reports the detected length (the docs' 10 -> 10.5 example). Without
//     one, create charges and shows DefaultDuration as an estimate; when the
//     job finishes the detected length is priced and the difference settled:
//     refunded if cheaper, charged if dearer, and the job fails (refunded) if
//     the balance cannot cover it or the video is over 120 s.
//   - Inputs are fetched when the job starts processing: the image must answer
//     200 and start with PNG or JPEG magic, the video must answer 200 and start
//     with an ftyp box; its duration comes from moov/mvhd. Failures become
//     status 4 with the docs' reason text plus a detail in parentheses.
//   - Results are the input video when it was at most MaxResultBytes, else
//     the bundled sample. Like Akool's CDN links they need no credentials,
//     so their URLs carry 128 random bits (results/<id>-<32 hex>.mp4, made
//     at create and saved with the job); any other path, the id with a wrong
//     random part included, is 404, and so is every result after ResultTTL.
//   - Webhooks go out for statuses 2, 3 and 4 (the statuses Akool's webhook
//     docs list), a job's events in that order, each retried until it is
//     delivered or given up before the next is sent. They carry
//     {"_id","status","type","url"} (url empty unless status 3), a
//     millisecond timestamp (number) and a 4-digit nonce (string); a retry
//     resends the same bytes; only HTTP 200 counts as delivered.
//   - Restarts: with Config.StatePath the account, jobs, results and pending
//     webhooks survive a restart of the process, and what the API has
//     acknowledged (a create, a token, a status shown by a poll or a
//     webhook) survives a crash too: it is on disk before the answer goes
//     out, and a create that cannot be saved is answered 1015 and forgotten
//     (see state.go). Without StatePath everything lives in memory and ends
//     with Close.
package akoolsim

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"swapdesk/internal/akool"
)

// sampleMP4 is a 2-second 160x120 H.264 test pattern (ffmpeg testsrc,
// +faststart), served as the result when the input video was not fetched or
// is too large to echo back.
//
//go:embed sample.mp4
var sampleMP4 []byte

// SampleMP4 returns a copy of the bundled sample video. The sandbox can offer
// it as an input; it is also a valid result video.
func SampleMP4() []byte { return append([]byte(nil), sampleMP4...) }

// Config configures a Sim. Zero values get the defaults noted on each field.
type Config struct {
	// The emulated account. Akool's API key is the same value as the
	// clientSecret, so an empty APIKey defaults to ClientSecret and an empty
	// ClientSecret to APIKey. ClientSecret must be 16, 24 or 32 bytes for
	// webhooks to be sent (GenerateCredentials makes valid ones).
	APIKey, ClientID, ClientSecret string

	Credits int    // starting balance; 0 is an empty account
	UID     int64  // reported uid; default 101400 (the docs' example)
	TeamID  string // reported team_id; default random 24 hex

	// BaseURL is the emulator's public URL including any mount prefix, used
	// to build result URLs (BaseURL + "/results/<id>-<random>.mp4"). When empty it is
	// derived from each create request's scheme, Host and the prefix that
	// http.StripPrefix removed.
	BaseURL string

	Now func() time.Time // default time.Now; see FakeClock

	QueueDelay      time.Duration // status 1 -> 2; default 2s; NoDelay for none
	ProcessDelay    time.Duration // status 2 -> 3/4; default 20s (Akool's example took 110s); NoDelay for none
	ResultTTL       time.Duration // result URLs 404 this long after completion; default 7 days
	TokenTTL        time.Duration // getToken lifetime; default 400 days ("more than 1 year")
	DefaultDuration float64       // seconds assumed when none is given or detected; default 10

	// SkipInputFetch stops the emulator from downloading the image and video:
	// every job then succeeds (unless a fault says otherwise), with the
	// sample as result and DefaultDuration as length.
	SkipInputFetch bool
	MaxResultBytes int64 // input videos up to this size are echoed as the result; default 50 MB

	WebhookStatuses []akool.Status // statuses that trigger a webhook; default 2, 3 and 4, as Akool's webhook docs list
	WebhookType     string         // decrypted `type`; default "character_swap" (undocumented by Akool)
	WebhookAttempts int            // attempts per webhook until an HTTP 200; default 5
	WebhookBackoff  time.Duration  // delay before the 2nd attempt, doubling after; emulator clock; default 5s
	WebhookTimeout  time.Duration  // per attempt, real time; default 10s

	// HTTPClient fetches inputs and sends webhooks. Default: 30s timeout.
	// Acting as Akool, the emulator may fetch any URL, private ones included.
	HTTPClient *http.Client

	Tick   time.Duration // background loop period (real time); default 200ms
	Logger *slog.Logger  // nil discards

	// StatePath, when set, makes the emulator survive restarts: New loads
	// the state saved there (a missing file is a fresh start; an unusable
	// one is logged, moved aside to StatePath+".corrupt" and replaced by a
	// fresh start) and every change is saved back, atomically: before the
	// answer for what a client sees (creates, tokens, statuses in polls and
	// webhooks), at most SaveDelay later for the rest, and once more by Close. Echoed result videos are
	// saved in the directory StatePath+".results". The file holds the
	// credentials: New creates it (and its directory) private to the user.
	//
	// Loaded state wins over Credits (the balance), and fills in UID and
	// TeamID when they are zero. When APIKey, ClientID and ClientSecret are
	// all empty, the account's credentials come from the file, or on a
	// fresh start from GenerateCredentials; Credentials tells them. Result
	// URLs are always built on the current BaseURL, so they follow a port
	// change between runs. The emulator clock runs on while the process is
	// down: jobs whose delays passed meanwhile move on at the next Step or
	// poll, and webhook events that had no 200 yet are sent again.
	StatePath string
	SaveDelay time.Duration // coalescing window for StatePath saves (real time); default 100ms
}

// Sim is the emulator. It is safe for concurrent use. Create it with New and
// stop it with Close.
type Sim struct {
	cfg  Config
	now  func() time.Time
	hc   *http.Client
	log  *slog.Logger
	mux  *http.ServeMux
	wake chan struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	idRand [5]byte

	mu         sync.Mutex
	closed     bool
	balance    int
	jobs       map[string]*job
	order      []string
	tokens     map[string]time.Time // token -> expiry
	idCounter  uint32
	faults     faults
	pending    []*delivery
	deliveries []Delivery

	// Persistence (StatePath): dirty is guarded by mu; saveMu orders saves
	// and is taken before mu, never while holding it.
	saveMu sync.Mutex
	saveCh chan struct{}
	dirty  bool
}

// New fills defaults, loads the saved state when Config.StatePath is set,
// starts the background loop (lifecycle, webhooks and saving) and returns
// the Sim. It never fails; a bad ClientSecret length only makes webhook
// deliveries fail (recorded in Deliveries and logged), and state that cannot
// be loaded or saved is logged.
func New(cfg Config) *Sim {
	if cfg.APIKey == "" {
		cfg.APIKey = cfg.ClientSecret
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = cfg.APIKey
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.QueueDelay = delayOr(cfg.QueueDelay, 2*time.Second)
	cfg.ProcessDelay = delayOr(cfg.ProcessDelay, 20*time.Second)
	if cfg.ResultTTL <= 0 {
		cfg.ResultTTL = 7 * 24 * time.Hour
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 400 * 24 * time.Hour
	}
	if cfg.DefaultDuration <= 0 {
		cfg.DefaultDuration = 10
	}
	if cfg.MaxResultBytes <= 0 {
		cfg.MaxResultBytes = 50 << 20
	}
	if cfg.WebhookStatuses == nil {
		cfg.WebhookStatuses = []akool.Status{akool.StatusProcessing, akool.StatusCompleted, akool.StatusFailed}
	}
	if cfg.WebhookType == "" {
		cfg.WebhookType = "character_swap"
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = 5
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = 5 * time.Second
	}
	if cfg.WebhookTimeout <= 0 {
		cfg.WebhookTimeout = 10 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 200 * time.Millisecond
	}
	if cfg.SaveDelay <= 0 {
		cfg.SaveDelay = 100 * time.Millisecond
	}
	s := &Sim{
		cfg:     cfg,
		now:     cfg.Now,
		hc:      cfg.HTTPClient,
		log:     cfg.Logger,
		wake:    make(chan struct{}, 1),
		saveCh:  make(chan struct{}, 1),
		balance: cfg.Credits,
		jobs:    make(map[string]*job),
		tokens:  make(map[string]time.Time),
	}
	if s.hc == nil {
		s.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	fresh := true
	if cfg.StatePath != "" {
		// Fills the balance, and the credentials, UID and TeamID that cfg leaves empty.
		fresh = !s.loadState()
		if s.cfg.APIKey == "" && s.cfg.ClientID == "" && s.cfg.ClientSecret == "" {
			s.cfg.APIKey, s.cfg.ClientID, s.cfg.ClientSecret = GenerateCredentials()
		}
	}
	if s.cfg.UID == 0 {
		s.cfg.UID = 101400
	}
	if s.cfg.TeamID == "" {
		s.cfg.TeamID = randomHex(12)
	}
	if n := len(s.cfg.ClientSecret); n != 16 && n != 24 && n != 32 {
		s.log.Warn("akoolsim: clientSecret is not 16, 24 or 32 bytes; webhooks cannot be encrypted", "len", n)
	}
	_, _ = rand.Read(s.idRand[:])
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.routes()
	if cfg.StatePath != "" {
		if fresh {
			s.dirty = true // save the new account (and its credentials) at once
		}
		_ = s.save()
		s.wg.Add(1)
		go s.saveLoop()
	}
	s.wg.Add(1)
	go s.run()
	return s
}

// NoDelay, as QueueDelay or ProcessDelay, means no delay at all (New turns
// 0 into the default).
const NoDelay time.Duration = -1

func delayOr(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

// Close stops the background loop, cancels in-flight fetches, webhook
// deliveries and hanging requests, waits for them, and with StatePath makes
// a last save (changes made after Close are not saved: stop serving the Sim
// first). Interrupted fetches, and deliveries cut short before the receiver
// answered, are not recorded as failures, so a Sim restarted from the state
// runs them again. It is idempotent.
func (s *Sim) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		if s.cfg.StatePath != "" {
			_ = s.save()
		}
	})
}

// Credentials returns the account's API key, clientId and clientSecret:
// those of Config, or those loaded or generated for Config.StatePath.
func (s *Sim) Credentials() (apiKey, clientID, clientSecret string) {
	return s.cfg.APIKey, s.cfg.ClientID, s.cfg.ClientSecret
}

// ServeHTTP serves the Akool routes and the result videos.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Balance returns the account's credit balance.
func (s *Sim) Balance() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.balance
}

// SetBalance sets the account's credit balance (a top-up or a drain).
func (s *Sim) SetBalance(credits int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance = credits
	s.markDirtyLocked()
}

// Step advances every job to the emulator clock's now and starts the
// webhook deliveries that are due. The background loop calls it every Tick;
// tests driving a FakeClock call it after Advance to act at once.
func (s *Sim) Step() {
	s.mu.Lock()
	now := s.now()
	s.advanceAllLocked(now)
	due := s.dueDeliveriesLocked(now)
	s.mu.Unlock()
	for _, d := range due {
		go s.send(d)
	}
}

// poke makes the loop Step soon without blocking.
func (s *Sim) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Sim) run() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
		s.Step()
	}
}

// goLocked starts f tracked by the WaitGroup unless the Sim is closed.
// The caller holds s.mu, which orders it before Close's Wait.
func (s *Sim) goLocked(f func()) bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// newIDLocked returns a 24-hex ObjectId: 4 bytes of seconds, 5 random bytes
// fixed per Sim, 3 bytes of counter (MongoDB's layout, as Akool's ids look).
func (s *Sim) newIDLocked(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(now.Unix()))
	copy(b[4:9], s.idRand[:])
	s.idCounter++
	b[9], b[10], b[11] = byte(s.idCounter>>16), byte(s.idCounter>>8), byte(s.idCounter)
	return hex.EncodeToString(b[:])
}

// GenerateCredentials returns a fresh account: a 24-hex clientID and a
// 32-character clientSecret, with apiKey equal to clientSecret as on Akool
// ("API Key … is the same value as your previous clientSecret").
func GenerateCredentials() (apiKey, clientID, clientSecret string) {
	clientSecret = randomHex(16)
	return clientSecret, randomHex(12), clientSecret
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}

// ErrUnknownJob is returned by the fault methods for an id the Sim never issued.
var ErrUnknownJob = errors.New("akoolsim: unknown job id")

// ErrJobFinal is returned by FailJob for a job that has already completed or failed.
var ErrJobFinal = errors.New("akoolsim: job already final")
