package akool_test

// Contract tests: the production client against the emulator, with every
// request recorded so the bytes on the wire can be compared with what
// AKOOL-API.md documents. A test passing here sends what Akool expects.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
)

const (
	simKey    = "0123456789abcdef0123456789abcdef"
	simClient = "64db241f6d9e5c4bd136c187"
)

type wireRequest struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// recorder is an http.RoundTripper that keeps a copy of every request.
type recorder struct {
	mu   sync.Mutex
	reqs []wireRequest
	next http.RoundTripper
	edit func(*http.Request) // optional tampering, e.g. to strip a header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	if r.edit != nil {
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.edit(req)
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, wireRequest{req.Method, req.URL.Path, req.URL.RawQuery, req.Header.Clone(), body})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) all() []wireRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

func (r *recorder) last(t *testing.T) wireRequest {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		t.Fatal("no request recorded")
	}
	return all[len(all)-1]
}

type env struct {
	sim   *akoolsim.Sim
	srv   *httptest.Server
	clock *akoolsim.FakeClock
	rec   *recorder
}

func newEnv(t *testing.T, mut func(*akoolsim.Config)) *env {
	t.Helper()
	e := &env{clock: akoolsim.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))}
	cfg := akoolsim.Config{
		APIKey: simKey, ClientID: simClient, ClientSecret: simKey, Credits: 1000,
		Now: e.clock.Now, QueueDelay: time.Minute, ProcessDelay: 2 * time.Minute,
		SkipInputFetch: true, Tick: 5 * time.Millisecond,
	}
	if mut != nil {
		mut(&cfg)
	}
	e.sim = akoolsim.New(cfg)
	e.srv = httptest.NewServer(e.sim)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.sim.Close)
	e.rec = &recorder{next: http.DefaultTransport}
	return e
}

type authStyle string

const (
	apiKeyStyle authStyle = "x-api-key"
	tokenStyle  authStyle = "token"
)

func (e *env) client(t *testing.T, style authStyle, mut func(*akool.Config)) *akool.Client {
	t.Helper()
	cfg := akool.Config{
		BaseURL: e.srv.URL, HTTPClient: &http.Client{Transport: e.rec}, Timeout: 5 * time.Second,
		Retry: akool.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
	}
	if style == apiKeyStyle {
		cfg.APIKey = simKey
	} else {
		cfg.ClientID, cfg.ClientSecret = simClient, simKey
	}
	if mut != nil {
		mut(&cfg)
	}
	c, err := akool.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The full happy path in both auth styles, checking the wire at every step.
func TestContractLifecycle(t *testing.T) {
	for _, style := range []authStyle{apiKeyStyle, tokenStyle} {
		t.Run(string(style), func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.client(t, style, nil)
			ctx := context.Background()

			credit, err := c.Quota(ctx)
			if err != nil || credit != 1000 {
				t.Fatalf("Quota: got (%v, %v), want (1000, nil)", credit, err)
			}
			req := akool.CreateRequest{
				Image: "https://cdn.example/character.png", Video: "https://cdn.example/source.mp4?sig=a&exp=1",
				Duration: 12, Resolution: "720p", Mode: "animate", Prompt: "Smooth <natural> movement",
				WebhookURL: "https://swapdesk.example/webhooks/akool",
			}
			job, err := c.CreateCharacterSwap(ctx, req)
			if err != nil {
				t.Fatalf("CreateCharacterSwap: %v", err)
			}
			if job.Status != akool.StatusQueued || len(job.ID) != 24 || job.DeductionCredit != 30 || job.VideoDuration != 12 ||
				job.InputVideoURL != req.Video || job.ImageURL != req.Image || job.WebhookURL != req.WebhookURL ||
				job.ModelName != akool.ModelWan || job.Mode != "animate" || job.FileName == "" || job.CreateTime.IsZero() {
				t.Errorf("created job: got %+v", *job)
			}
			if got := e.sim.Balance(); got != 970 {
				t.Errorf("balance: got %d, want 970", got)
			}

			got, err := c.GetResult(ctx, job.ID)
			if err != nil || got.Status != akool.StatusQueued {
				t.Fatalf("GetResult at once: got (%+v, %v), want queued", got, err)
			}
			e.clock.Advance(time.Minute)
			if got, _ = c.GetResult(ctx, job.ID); got.Status != akool.StatusProcessing {
				t.Errorf("after QueueDelay: got %v, want processing", got.Status)
			}
			e.clock.Advance(2 * time.Minute)
			got, err = c.GetResult(ctx, job.ID)
			if err != nil || got.Status != akool.StatusCompleted || got.ResultURL == "" || got.ResultURL == got.InputVideoURL ||
				got.UpdateTime.IsZero() || got.DeductionCredit != 30 || got.FailReason != "" {
				t.Fatalf("after ProcessDelay: got (%+v, %v), want completed with a result URL", got, err)
			}
			resp, err := http.Get(got.ResultURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "video/mp4" {
				t.Errorf("result URL: got %d %s, want 200 video/mp4", resp.StatusCode, resp.Header.Get("Content-Type"))
			}

			checkWire(t, style, e.rec.all(), job.ID)
		})
	}
}

// checkWire compares the recorded requests with AKOOL-API.md: paths,
// methods, auth headers, content type and the exact JSON bodies.
func checkWire(t *testing.T, style authStyle, reqs []wireRequest, id string) {
	t.Helper()
	if style == tokenStyle {
		if len(reqs) == 0 || reqs[0].Path != "/api/open/v3/getToken" {
			t.Fatalf("first request: want POST /api/open/v3/getToken, got %+v", reqs)
		}
		tok := reqs[0]
		if tok.Method != "POST" || tok.Header.Get("Content-Type") != "application/json" ||
			string(tok.Body) != `{"clientId":"`+simClient+`","clientSecret":"`+simKey+`"}` {
			t.Errorf("getToken: got %s %s %q", tok.Method, tok.Header.Get("Content-Type"), tok.Body)
		}
		if tok.Header.Get("x-api-key") != "" || tok.Header.Get("Authorization") != "" {
			t.Errorf("getToken must not carry credentials in headers: %v", tok.Header)
		}
		reqs = reqs[1:]
	}
	wantCreate := `{"image":"https://cdn.example/character.png","video":"https://cdn.example/source.mp4?sig=a&exp=1",` +
		`"duration":12,"resolution":"720p","mode":"animate","prompt":"Smooth <natural> movement",` +
		`"webhookurl":"https://swapdesk.example/webhooks/akool","model_name":"wavespeed-ai/wan-2.2/animate"}`
	want := []struct{ method, path, query, body string }{
		{"GET", "/api/open/v3/faceswap/quota/info", "", ""},
		{"POST", "/api/open/v4/characterSwap/create", "", wantCreate},
		{"GET", "/api/open/v3/content/video/infobymodelid", "video_model_id=" + id, ""},
		{"GET", "/api/open/v3/content/video/infobymodelid", "video_model_id=" + id, ""},
		{"GET", "/api/open/v3/content/video/infobymodelid", "video_model_id=" + id, ""},
	}
	if len(reqs) != len(want) {
		t.Fatalf("requests: got %d, want %d: %+v", len(reqs), len(want), reqs)
	}
	for i, w := range want {
		r := reqs[i]
		if r.Method != w.method || r.Path != w.path || r.RawQuery != w.query || string(r.Body) != w.body {
			t.Errorf("request %d:\ngot  %s %s?%s %s\nwant %s %s?%s %s", i, r.Method, r.Path, r.RawQuery, r.Body, w.method, w.path, w.query, w.body)
		}
		if (w.body != "") != (r.Header.Get("Content-Type") == "application/json") {
			t.Errorf("request %d: Content-Type %q", i, r.Header.Get("Content-Type"))
		}
		switch style {
		case apiKeyStyle:
			if r.Header.Get("x-api-key") != simKey || r.Header.Get("Authorization") != "" {
				t.Errorf("request %d: want only x-api-key, got %v", i, r.Header)
			}
		case tokenStyle:
			if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || r.Header.Get("x-api-key") != "" {
				t.Errorf("request %d: want only Authorization: Bearer, got %v", i, r.Header)
			}
		}
	}
}

func TestContractCreateBodies(t *testing.T) {
	tests := []struct {
		name string
		req  akool.CreateRequest
		omit bool
		want string
	}{
		{"optional fields omitted", akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4"}, false,
			`{"image":"https://x/i.png","video":"https://x/v.mp4","model_name":"wavespeed-ai/wan-2.2/animate"}`},
		{"model_name omitted on request", akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4"}, true,
			`{"image":"https://x/i.png","video":"https://x/v.mp4"}`},
		{"fractional duration, replace, 1080p", akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Duration: 10.5, Resolution: "1080p", Mode: "replace"}, false,
			`{"image":"https://x/i.png","video":"https://x/v.mp4","duration":10.5,"resolution":"1080p","mode":"replace","model_name":"wavespeed-ai/wan-2.2/animate"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c := e.client(t, apiKeyStyle, func(c *akool.Config) { c.OmitModelName = tt.omit })
			if _, err := c.CreateCharacterSwap(context.Background(), tt.req); err != nil {
				t.Fatalf("CreateCharacterSwap: %v", err)
			}
			if got := string(e.rec.last(t).Body); got != tt.want {
				t.Errorf("body:\ngot  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// Every error code the emulator can produce, through the client, in both auth styles.
func TestContractErrors(t *testing.T) {
	type call func(ctx context.Context, c *akool.Client) error
	create := func(r akool.CreateRequest) call {
		return func(ctx context.Context, c *akool.Client) error { _, err := c.CreateCharacterSwap(ctx, r); return err }
	}
	good := akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4"}
	poll := func(id string) call {
		return func(ctx context.Context, c *akool.Client) error { _, err := c.GetResult(ctx, id); return err }
	}
	quota := func(ctx context.Context, c *akool.Client) error { _, err := c.Quota(ctx); return err }
	const bad = "Parameter error or Parameter cannot be empty: "
	const odd = `Créer <b>"vidéo"</b> & \u00e9 — échec`
	tests := []struct {
		name     string
		setup    func(e *env)
		cfg      func(*akool.Config)
		call     call
		wantCode int
		wantCat  akool.Category
		wantMsg  string // in UserMessage
		wantRaw  string // Akool's msg, verbatim in Error.Msg
	}{
		{"1003 duration 0.5", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Duration: 0.5}), 1003, akool.CategoryInvalidInput, "duration",
			bad + "duration must be a number between 1 and 120"},
		{"1003 duration 121", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Duration: 121}), 1003, akool.CategoryInvalidInput, "duration",
			bad + "duration must be a number between 1 and 120"},
		{"1003 missing video", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png"}), 1003, akool.CategoryInvalidInput, "duration",
			bad + "video cannot be empty"},
		{"1003 resolution", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Resolution: "4k"}), 1003, akool.CategoryInvalidInput, "",
			bad + "resolution must be 480p, 720p or 1080p"},
		{"1003 mode", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Mode: "morph"}), 1003, akool.CategoryInvalidInput, "",
			bad + "mode must be animate or replace"},
		{"1003 prompt", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Prompt: strings.Repeat("p", 501)}), 1003, akool.CategoryInvalidInput, "",
			bad + "prompt must be at most 500 characters"},
		{"1003 model", nil, nil, create(akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", ModelName: "kwaivgi/kling-v2.6-pro/motion-control"}), 1003, akool.CategoryInvalidInput, "",
			bad + "unsupported model_name"},
		{"1104 short balance", func(e *env) { e.sim.SetBalance(19) }, nil, create(good), 1104, akool.CategoryQuota, "out of credits",
			"Insufficient credit balance"},
		{"1213 plan", func(e *env) { e.sim.SetSubscribed(false) }, nil, create(good), 1213, akool.CategoryAuth, "Your Akool plan does not include Character Swap",
			"Requires subscription user to use"},
		{"1200 banned", func(e *env) { e.sim.SetBanned(true) }, nil, quota, 1200, akool.CategoryAuth, "blocked",
			"The account has been banned"},
		{"1015 create error", func(e *env) { e.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{Code: 1015}) }, nil, create(good), 1015, akool.CategoryUpstream, "try again later",
			"Create video error, please try again later"},
		{"1005 on create is not retried", func(e *env) { e.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{Code: 1005}) }, nil, create(good), 1005, akool.CategoryRateLimited, "Akool is busy",
			"Operation is too frequent"},
		{"1005 on poll past the retries", func(e *env) {
			e.sim.InjectCall(akoolsim.EndpointResult, akoolsim.CallFault{Code: 1005, Count: akoolsim.Forever})
		}, nil, poll("689174694b4dbdd4ab3d28c9"), 1005, akool.CategoryRateLimited, "Akool is busy", "Operation is too frequent"},
		{"2001 on quota past the retries", func(e *env) {
			e.sim.InjectCall(akoolsim.EndpointQuota, akoolsim.CallFault{Code: 2001, Count: 3})
		}, nil, quota, 2001, akool.CategoryUpstream, "", "Server error"},
		{"1008 unknown id", nil, nil, poll("689174694b4dbdd4ab3d28c9"), 1008, akool.CategoryNotFound, "",
			"The content you get does not exist"},
		{"1101 wrong key", nil, func(c *akool.Config) {
			if c.APIKey != "" {
				c.APIKey = strings.Repeat("x", 32)
			} else {
				c.ClientSecret = strings.Repeat("x", 32)
			}
		}, quota, 1101, akool.CategoryAuth, "check the API key", "Invalid authorization or The request token has expired"},
		{"1102 no key reaches Akool", nil, nil, quota, 1102, akool.CategoryAuth, "check the API key",
			"Authorization cannot be empty"},
		{"msg passed on verbatim", func(e *env) { e.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{Code: 1015, Msg: odd}) }, nil, create(good), 1015, akool.CategoryUpstream, "try again later",
			odd},
	}
	for _, style := range []authStyle{apiKeyStyle, tokenStyle} {
		for _, tt := range tests {
			t.Run(string(style)+"/"+tt.name, func(t *testing.T) {
				e := newEnv(t, nil)
				if tt.name == "1102 no key reaches Akool" {
					e.rec.edit = func(r *http.Request) {
						r.Header.Del("x-api-key")
						r.Header.Del("Authorization")
						if r.URL.Path == akool.PathToken {
							r.Body = io.NopCloser(strings.NewReader(`{}`))
							r.ContentLength = 2
						}
					}
				}
				if tt.setup != nil {
					tt.setup(e)
				}
				c := e.client(t, style, tt.cfg)
				before := e.sim.Balance()
				err := tt.call(context.Background(), c)
				var ae *akool.Error
				if !errors.As(err, &ae) || ae.Code != tt.wantCode {
					t.Fatalf("got %T %v, want *akool.Error with code %d", err, err, tt.wantCode)
				}
				if ae.Category() != tt.wantCat || !strings.Contains(akool.UserMessage(err), tt.wantMsg) {
					t.Errorf("got %v %q, want %v containing %q", ae.Category(), akool.UserMessage(err), tt.wantCat, tt.wantMsg)
				}
				if ae.Msg != tt.wantRaw {
					t.Errorf("msg: got %q, want %q", ae.Msg, tt.wantRaw)
				}
				if e.sim.Balance() != before {
					t.Errorf("balance changed on a refused call: %d -> %d", before, e.sim.Balance())
				}
			})
		}
	}
}

func TestContractTransportFaults(t *testing.T) {
	t.Run("create 502 is an HTTPError and is not retried", func(t *testing.T) {
		e := newEnv(t, nil)
		e.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{HTTPStatus: 502, Count: akoolsim.Forever})
		_, err := e.client(t, apiKeyStyle, nil).CreateCharacterSwap(context.Background(), akool.CreateRequest{Image: "https://x/i", Video: "https://x/v"})
		var he *akool.HTTPError
		if !errors.As(err, &he) || he.StatusCode != 502 || !he.Retryable() {
			t.Fatalf("got %T %v, want a retryable *HTTPError 502", err, err)
		}
		if n := len(e.rec.all()); n != 1 {
			t.Errorf("create attempts: got %d, want 1", n)
		}
	})
	t.Run("poll 503 twice is retried through", func(t *testing.T) {
		e := newEnv(t, nil)
		c := e.client(t, apiKeyStyle, nil)
		job, err := c.CreateCharacterSwap(context.Background(), akool.CreateRequest{Image: "https://x/i", Video: "https://x/v"})
		if err != nil {
			t.Fatal(err)
		}
		e.sim.InjectCall(akoolsim.EndpointResult, akoolsim.CallFault{HTTPStatus: 503, Count: 2})
		if _, err := c.GetResult(context.Background(), job.ID); err != nil {
			t.Fatalf("GetResult: %v", err)
		}
		if n := len(e.rec.all()); n != 4 {
			t.Errorf("requests: got %d, want 1 create + 3 polls", n)
		}
	})
	t.Run("create hang is a timeout that says the outcome is unknown", func(t *testing.T) {
		e := newEnv(t, nil)
		e.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{Hang: true})
		c := e.client(t, apiKeyStyle, func(c *akool.Config) { c.Timeout = 50 * time.Millisecond })
		_, err := c.CreateCharacterSwap(context.Background(), akool.CreateRequest{Image: "https://x/i", Video: "https://x/v"})
		var te *akool.TransportError
		if !errors.As(err, &te) || !te.Timeout() {
			t.Fatalf("got %T %v, want a *TransportError timeout", err, err)
		}
		if !strings.Contains(akool.UserMessage(err), "may or may not") {
			t.Errorf("UserMessage: got %q", akool.UserMessage(err))
		}
		if n := len(e.rec.all()); n != 1 {
			t.Errorf("create attempts: got %d, want 1", n)
		}
	})
}

func TestContractTokenRefreshedOnceAfterRevocation(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client(t, tokenStyle, nil)
	ctx := context.Background()
	if _, err := c.Quota(ctx); err != nil {
		t.Fatal(err)
	}
	first, _ := c.Token(ctx)
	e.sim.RevokeTokens()
	job, err := c.CreateCharacterSwap(ctx, akool.CreateRequest{Image: "https://x/i", Video: "https://x/v"})
	if err != nil {
		t.Fatalf("create after revocation: %v", err)
	}
	second, _ := c.Token(ctx)
	if second == first || second == "" {
		t.Errorf("token: got %q again, want a fresh one", second)
	}
	var paths []string
	for _, r := range e.rec.all() {
		paths = append(paths, r.Path)
	}
	want := []string{akool.PathToken, akool.PathQuota, akool.PathCreate, akool.PathToken, akool.PathCreate}
	if !slices.Equal(paths, want) {
		t.Errorf("requests:\ngot  %v\nwant %v", paths, want)
	}
	if jobs := e.sim.Jobs(); len(jobs) != 1 || jobs[0].ID != job.ID {
		t.Errorf("emulator jobs: got %+v, want exactly the one created", jobs)
	}
}

func TestContractFailedJobAndWebhook(t *testing.T) {
	type delivery struct {
		ev  *akool.WebhookEvent
		err error
	}
	got := make(chan delivery, 4)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, err := akool.VerifyWebhook(b, simClient, simKey)
		got <- delivery{ev, err}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer hook.Close()
	e := newEnv(t, nil)
	c := e.client(t, apiKeyStyle, nil)
	ctx := context.Background()

	e.sim.FailNextJob("Failed to process the video. Please check your input resources.")
	failed, err := c.CreateCharacterSwap(ctx, akool.CreateRequest{Image: "https://x/i", Video: "https://x/v", WebhookURL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	done, err := c.CreateCharacterSwap(ctx, akool.CreateRequest{Image: "https://x/i", Video: "https://x/v", WebhookURL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	e.sim.InjectWebhook(akoolsim.WebhookFault{JobID: done.ID, Status: akool.StatusCompleted, BadSignature: true})
	e.clock.Advance(3 * time.Minute)

	j, err := c.GetResult(ctx, failed.ID)
	if err != nil || j.Status != akool.StatusFailed || j.DeductionCredit != 0 || j.ResultURL != "" || !strings.Contains(j.FailReason, "input resources") {
		t.Fatalf("failed job: got (%+v, %v)", j, err)
	}
	if e.sim.Balance() != 980 {
		t.Errorf("balance: got %d, want 980 (one job refunded)", e.sim.Balance())
	}
	e.sim.Step()
	// Each job sends processing (2), then its final status.
	byEvent := map[string]delivery{}
	for range 4 {
		d := <-got
		key := "bad"
		if d.ev != nil {
			key = d.ev.ID + "/" + strconv.Itoa(int(d.ev.Status))
		}
		byEvent[key] = d
	}
	for _, id := range []string{failed.ID, done.ID} {
		if d, ok := byEvent[id+"/2"]; !ok || d.ev.URL != "" || d.ev.Type != "character_swap" {
			t.Errorf("processing webhook of %s: got %+v", id, d)
		}
	}
	if d, ok := byEvent[failed.ID+"/4"]; !ok || d.ev.Type != "character_swap" {
		t.Errorf("failed job's webhook: got %+v", d)
	}
	if d := byEvent["bad"]; !errors.Is(d.err, akool.ErrWebhookSignature) {
		t.Errorf("bad-signature webhook: got %+v, want ErrWebhookSignature", d)
	}
}

// The sandbox is mounted under a prefix inside swapdesk serve; the client
// must keep the prefix in every path.
func TestContractUnderPrefix(t *testing.T) {
	sim := akoolsim.New(akoolsim.Config{APIKey: simKey, ClientID: simClient, Credits: 50,
		SkipInputFetch: true, QueueDelay: akoolsim.NoDelay, ProcessDelay: akoolsim.NoDelay})
	defer sim.Close()
	mux := http.NewServeMux()
	mux.Handle("/sandbox/akool/", http.StripPrefix("/sandbox/akool", sim))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, style := range []authStyle{apiKeyStyle, tokenStyle} {
		t.Run(string(style), func(t *testing.T) {
			e := &env{sim: sim, srv: &httptest.Server{URL: srv.URL + "/sandbox/akool/"}, rec: &recorder{next: http.DefaultTransport}}
			c := e.client(t, style, nil)
			ctx := context.Background()
			if _, err := c.Quota(ctx); err != nil {
				t.Fatalf("Quota: %v", err)
			}
			job, err := c.CreateCharacterSwap(ctx, akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4", Duration: 5})
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			got, err := c.GetResult(ctx, job.ID)
			if err != nil || got.Status != akool.StatusCompleted {
				t.Fatalf("GetResult: got (%+v, %v), want completed", got, err)
			}
			if want := srv.URL + "/sandbox/akool/results/" + job.ID + "-"; !strings.HasPrefix(got.ResultURL, want) || len(got.ResultURL) != len(want)+32+len(".mp4") {
				t.Errorf("result URL: got %q, want %q + 32 hex digits + .mp4", got.ResultURL, want)
			}
			for _, r := range e.rec.all() {
				if !strings.HasPrefix(r.Path, "/sandbox/akool/api/open/") {
					t.Errorf("path %q lost the prefix", r.Path)
				}
			}
		})
	}
}

// codeWant is how the client must classify each code of AKOOL-API.md §6.1,
// written out here independently of errors.go's table.
var codeWant = func() map[int]struct {
	cat       akool.Category
	retryable bool
} {
	m := map[int]struct {
		cat       akool.Category
		retryable bool
	}{}
	add := func(cat akool.Category, retryable bool, codes ...int) {
		for _, c := range codes {
			m[c] = struct {
				cat       akool.Category
				retryable bool
			}{cat, retryable}
		}
	}
	add(akool.CategoryInvalidInput, false, 1003, 1007, 1010, 1011, 1013, 1202, 1203, 1204, 1207, 1208, 1209, 1210, 1222, 1223)
	add(akool.CategoryAuth, false, 1004, 1009, 1101, 1102, 1109, 1200, 1213, 1221)
	add(akool.CategoryQuota, false, 1006, 1103, 1104)
	add(akool.CategoryNotFound, false, 1008, 1014, 1216)
	add(akool.CategoryRateLimited, true, 1005, 1215)
	add(akool.CategoryUpstream, true, 1015, 1205, 2001)
	add(akool.CategoryUpstream, false, 1016, 1017, 1105, 1108, 1110, 1111, 1112, 1201, 1206, 1211, 1212, 1214, 1217, 1218, 1219, 1220)
	return m
}()

// autoRetried are the codes a GET repeats by itself: "busy" and "server
// error" say nothing about the request. Other retryable codes are left to
// the caller.
var autoRetried = []int{1005, 2001}

// Every code the client knows, injected by the emulator into one GET and
// into create, in both auth styles: the error carries the code and Akool's
// msg, is classified as codeWant says, and the emulator saw exactly the
// requests the retry rules allow (create once; a GET three times only for
// an auto-retried code; in token mode a 1101 refreshes the token and
// repeats the call once).
func TestContractEveryCode(t *testing.T) {
	codes := akool.KnownCodes()
	slices.Sort(codes)
	if len(codes) != len(codeWant) {
		t.Fatalf("KnownCodes: got %d codes, the contract lists %d", len(codes), len(codeWant))
	}
	type endpoint struct {
		name string
		ep   akoolsim.Endpoint
		path string
		call func(context.Context, *akool.Client) error
	}
	endpoints := []endpoint{
		{"result", akoolsim.EndpointResult, akool.PathResult, func(ctx context.Context, c *akool.Client) error {
			_, err := c.GetResult(ctx, "689174694b4dbdd4ab3d28c9")
			return err
		}},
		{"create", akoolsim.EndpointCreate, akool.PathCreate, func(ctx context.Context, c *akool.Client) error {
			_, err := c.CreateCharacterSwap(ctx, akool.CreateRequest{Image: "https://x/i.png", Video: "https://x/v.mp4"})
			return err
		}},
	}
	for _, style := range []authStyle{apiKeyStyle, tokenStyle} {
		for _, ep := range endpoints {
			for _, code := range codes {
				t.Run(fmt.Sprintf("%s/%s/%d", style, ep.name, code), func(t *testing.T) {
					want, ok := codeWant[code]
					if !ok {
						t.Fatalf("code %d is not in the contract's table", code)
					}
					e := newEnv(t, nil)
					msg := fmt.Sprintf("akoolsim <%d> & co", code)
					e.sim.InjectCall(ep.ep, akoolsim.CallFault{Code: code, Msg: msg, Count: akoolsim.Forever})
					c := e.client(t, style, nil)
					err := ep.call(context.Background(), c)

					var ae *akool.Error
					if !errors.As(err, &ae) || ae.Code != code || ae.Msg != msg {
						t.Fatalf("got %T %v, want *akool.Error code %d msg %q", err, err, code, msg)
					}
					if ae.Category() != want.cat || ae.Retryable() != want.retryable || akool.IsRetryable(err) != want.retryable {
						t.Errorf("got %v retryable=%v, want %v retryable=%v", ae.Category(), ae.Retryable(), want.cat, want.retryable)
					}
					if um := akool.UserMessage(err); um == "" || strings.Contains(um, msg) || strings.Contains(um, "unexpected error") {
						t.Errorf("UserMessage: got %q, want a specific sentence without Akool's msg", um)
					}

					calls, tokens := 1, 0
					if ep.ep == akoolsim.EndpointResult && slices.Contains(autoRetried, code) {
						calls = 3
					}
					if style == tokenStyle {
						tokens = 1
						if code == akool.CodeIllegalToken {
							calls, tokens = 2, 2
						}
					}
					got := map[string]int{}
					for _, r := range e.rec.all() {
						got[r.Path]++
					}
					if got[ep.path] != calls || got[akool.PathToken] != tokens || len(got) > 2 {
						t.Errorf("requests: got %v, want %d to %s and %d to getToken", got, calls, ep.path, tokens)
					}
					if e.sim.Balance() != 1000 {
						t.Errorf("balance: got %d, want 1000 (nothing charged)", e.sim.Balance())
					}
				})
			}
		}
	}
}
