package akool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// step is one scripted answer: an HTTP status and a body; hang waits for
// the client to go away; drop closes the connection without answering.
type step struct {
	status int
	body   string
	header map[string]string
	hang   bool
	drop   bool
}

// script serves answers in order per path (the last one repeats) and
// counts the calls.
type script struct {
	mu    sync.Mutex
	steps map[string][]step
	calls map[string]int
	auth  []string // Authorization or x-api-key of each non-token call
}

func newScript(t *testing.T, steps map[string][]step) (*script, *httptest.Server) {
	t.Helper()
	s := &script{steps: steps, calls: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		n := s.calls[r.URL.Path]
		s.calls[r.URL.Path]++
		if r.URL.Path != PathToken {
			s.auth = append(s.auth, r.Header.Get("Authorization")+r.Header.Get("x-api-key"))
		}
		list := s.steps[r.URL.Path]
		s.mu.Unlock()
		if len(list) == 0 {
			http.NotFound(w, r)
			return
		}
		st := list[min(n, len(list)-1)]
		switch {
		case st.hang:
			<-r.Context().Done()
			return
		case st.drop:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		for k, v := range st.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(st.status)
		_, _ = io.WriteString(w, st.body)
	}))
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *script) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

func fastClient(t *testing.T, base string, mut func(*Config)) *Client {
	t.Helper()
	cfg := Config{BaseURL: base, APIKey: "key", Timeout: 2 * time.Second,
		Retry: RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}}
	if mut != nil {
		mut(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	okQuota  = `{"code":1000,"msg":"OK","data":{"credit":42}}`
	okJob    = `{"code":1000,"msg":"OK","data":{"_id":"abc","status":1,"video_status":1}}`
	html502  = `<html><body>502 Bad Gateway</body></html>`
	busy1005 = `{"code":1005,"msg":"Operation is too frequent"}`
)

func TestGETsRetry(t *testing.T) {
	tests := []struct {
		name      string
		steps     []step
		wantCalls int
		wantErr   any // nil, or a pointer to the wanted error type
		wantCode  int
		wantMsg   string // Akool's msg, verbatim, for an *Error
		wantHTTP  int    // the status, for an *HTTPError
	}{
		{"ok", []step{{status: 200, body: okQuota}}, 1, nil, 0, "", 0},
		{"502 then ok", []step{{status: 502, body: html502}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"1005 then ok", []step{{status: 200, body: busy1005}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"2001 then ok", []step{{status: 200, body: `{"code":2001}`}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"dropped connection then ok", []step{{drop: true}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"429 then ok", []step{{status: 429}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"408 then ok", []step{{status: 408}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"503 with a JSON code then ok", []step{{status: 503, body: `{"code":503,"msg":"Service Unavailable"}`}, {status: 200, body: okQuota}}, 2, nil, 0, "", 0},
		{"502 forever stops at MaxAttempts", []step{{status: 502, body: html502}}, 3, new(*HTTPError), 0, "", 502},
		{"gateway JSON 503 forever is an HTTPError", []step{{status: 503, body: `{"code":503}`}}, 3, new(*HTTPError), 0, "", 503},
		{"1005 forever", []step{{status: 200, body: busy1005}}, 3, new(*Error), 1005, "Operation is too frequent", 0},
		{"1101 is not retried", []step{{status: 200, body: `{"code":1101,"msg":"x <b>&"}`}}, 1, new(*Error), 1101, "x <b>&", 0},
		{"404 without envelope is not retried", []step{{status: 404, body: "not found"}}, 1, new(*HTTPError), 0, "", 404},
		{"404 with an unknown JSON code is not retried", []step{{status: 404, body: `{"code":404,"msg":"Not Found"}`}}, 1, new(*HTTPError), 0, "", 404},
		{"envelope in a 500 is Akool's code", []step{{status: 500, body: `{"code":1104,"msg":"Insufficient credit balance"}`}}, 1, new(*Error), 1104, "Insufficient credit balance", 0},
		{"unknown code in a 200 is still Akool's", []step{{status: 200, body: `{"code":9999,"msg":"new"}`}}, 1, new(*Error), 9999, "new", 0},
		{"success in a 500 is success", []step{{status: 500, body: okQuota}}, 1, nil, 0, "", 0},
		{"garbage 200 is a ResponseError", []step{{status: 200, body: "<html>ok</html>"}}, 1, new(*ResponseError), 0, "", 0},
		{"success without credit", []step{{status: 200, body: `{"code":1000,"data":{}}`}}, 1, new(*ResponseError), 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScript(t, map[string][]step{PathQuota: tt.steps})
			c := fastClient(t, srv.URL, nil)
			credit, err := c.Quota(context.Background())
			if got := s.count(PathQuota); got != tt.wantCalls {
				t.Errorf("calls: got %d, want %d", got, tt.wantCalls)
			}
			if tt.wantErr == nil {
				if err != nil || credit != 42 {
					t.Fatalf("got (%v, %v), want (42, nil)", credit, err)
				}
				return
			}
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("error: got %T %v, want %T", err, err, tt.wantErr)
			}
			if code, _ := Code(err); code != tt.wantCode {
				t.Errorf("code: got %d, want %d", code, tt.wantCode)
			}
			var ae *Error
			if errors.As(err, &ae) && ae.Msg != tt.wantMsg {
				t.Errorf("msg: got %q, want %q", ae.Msg, tt.wantMsg)
			}
			var he *HTTPError
			if errors.As(err, &he) && he.StatusCode != tt.wantHTTP {
				t.Errorf("HTTP status: got %d, want %d", he.StatusCode, tt.wantHTTP)
			}
		})
	}
}

func TestCreateIsNeverRetriedBlindly(t *testing.T) {
	tests := []struct {
		name    string
		steps   []step
		wantErr any
	}{
		{"502", []step{{status: 502, body: html502}, {status: 200, body: okJob}}, new(*HTTPError)},
		{"1005", []step{{status: 200, body: busy1005}, {status: 200, body: okJob}}, new(*Error)},
		{"1015", []step{{status: 200, body: `{"code":1015}`}, {status: 200, body: okJob}}, new(*Error)},
		{"504 with a gateway's JSON", []step{{status: 504, body: `{"code":504,"msg":"Gateway Time-out"}`}, {status: 200, body: okJob}}, new(*HTTPError)},
		{"dropped connection", []step{{drop: true}, {status: 200, body: okJob}}, new(*TransportError)},
		{"timeout", []step{{hang: true}, {status: 200, body: okJob}}, new(*TransportError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScript(t, map[string][]step{PathCreate: tt.steps})
			c := fastClient(t, srv.URL, func(c *Config) { c.Timeout = 50 * time.Millisecond })
			job, err := c.CreateCharacterSwap(context.Background(), CreateRequest{Image: "i", Video: "v"})
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("got (%v, %T %v), want %T", job, err, err, tt.wantErr)
			}
			if got := s.count(PathCreate); got != 1 {
				t.Errorf("create calls: got %d, want exactly 1", got)
			}
			// Only an *Error means Akool refused: anything else may hide a job.
			if _, isAkool := tt.wantErr.(**Error); !isAkool && errors.As(err, new(*Error)) {
				t.Errorf("got an *Error %v for an answer that is not Akool's", err)
			}
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	_, srv := newScript(t, map[string][]step{PathQuota: {{hang: true}}})
	c := fastClient(t, srv.URL, func(c *Config) { c.Timeout = 20 * time.Millisecond; c.Retry.MaxAttempts = 2 })
	_, err := c.Quota(context.Background())
	var te *TransportError
	if !errors.As(err, &te) || !te.Timeout() || !te.Retryable() {
		t.Fatalf("got %T %v, want a retryable *TransportError that timed out", err, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Quota(ctx)
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) || te.Retryable() {
		t.Fatalf("cancelled: got %T %v, want a non-retryable *TransportError wrapping context.Canceled", err, err)
	}
	if got := UserMessage(err); got == "" || strings.Contains(got, "context") {
		t.Errorf("UserMessage: got %q", got)
	}
}

func TestTokenFlow(t *testing.T) {
	tests := []struct {
		name       string
		token      []step
		quota      []step
		wantErr    any
		wantTokens int
		wantQuotas int
	}{
		{"fetched once, cached", []step{{status: 200, body: `{"code":1000,"token":"T1"}`}},
			[]step{{status: 200, body: okQuota}}, nil, 1, 3},
		{"refreshed once on 1101", []step{{status: 200, body: `{"code":1000,"token":"T1"}`}, {status: 200, body: `{"code":1000,"token":"T2"}`}},
			[]step{{status: 200, body: `{"code":1101}`}, {status: 200, body: okQuota}}, nil, 2, 4},
		{"gives up after one refresh", []step{{status: 200, body: `{"code":1000,"token":"T1"}`}, {status: 200, body: `{"code":1000,"token":"T2"}`}},
			[]step{{status: 200, body: `{"code":1101}`}}, new(*Error), 2, 2},
		{"bad credentials", []step{{status: 200, body: `{"code":1101,"msg":"x"}`}}, nil, new(*Error), 1, 0},
		{"getToken retried on 502", []step{{status: 502}, {status: 200, body: `{"code":1000,"token":"T1"}`}},
			[]step{{status: 200, body: okQuota}}, nil, 2, 3},
		{"success without token", []step{{status: 200, body: `{"code":1000,"data":{"token":"T"}}`}}, nil, new(*ResponseError), 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, srv := newScript(t, map[string][]step{PathToken: tt.token, PathQuota: tt.quota})
			c := fastClient(t, srv.URL, func(c *Config) { c.APIKey, c.ClientID, c.ClientSecret = "", "id", "secret" })
			var err error
			for range 3 {
				if _, err = c.Quota(context.Background()); err != nil {
					break
				}
			}
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Quota: %v", err)
			}
			if tt.wantErr != nil && !errors.As(err, tt.wantErr) {
				t.Fatalf("error: got %T %v, want %T", err, err, tt.wantErr)
			}
			if got := s.count(PathToken); got != tt.wantTokens {
				t.Errorf("getToken calls: got %d, want %d", got, tt.wantTokens)
			}
			if got := s.count(PathQuota); got != tt.wantQuotas {
				t.Errorf("quota calls: got %d, want %d", got, tt.wantQuotas)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, a := range s.auth {
				if !strings.HasPrefix(a, "Bearer T") {
					t.Errorf("auth header: got %q, want Bearer and no x-api-key", a)
				}
			}
		})
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	var tokens atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathToken {
			tokens.Add(1)
			_, _ = io.WriteString(w, `{"code":1000,"token":"T"}`)
			return
		}
		_, _ = io.WriteString(w, okQuota)
	}))
	defer srv.Close()
	c := fastClient(t, srv.URL, func(c *Config) { c.APIKey, c.ClientID, c.ClientSecret = "", "id", "secret" })
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.Quota(context.Background()); err != nil {
				t.Errorf("Quota: %v", err)
			}
		})
	}
	wg.Wait()
	if got := tokens.Load(); got != 1 {
		t.Errorf("getToken calls: got %d, want 1", got)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"api key", Config{APIKey: "k"}, false},
		{"client credentials", Config{ClientID: "i", ClientSecret: "s"}, false},
		{"nothing", Config{}, true},
		{"clientId only", Config{ClientID: "i"}, true},
		{"relative base", Config{APIKey: "k", BaseURL: "openapi.akool.com"}, true},
		{"ftp base", Config{APIKey: "k", BaseURL: "ftp://x"}, true},
		{"base with prefix", Config{APIKey: "k", BaseURL: "http://127.0.0.1:8080/sandbox/akool/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want error %v", err, tt.wantErr)
			}
		})
	}
	if _, err := New(Config{}); !errors.Is(err, ErrNoCredentials) {
		t.Errorf("got %v, want ErrNoCredentials", err)
	}
	c := fastClient(t, "http://127.0.0.1:1", nil)
	if _, err := c.GetResult(context.Background(), " "); !errors.Is(err, ErrEmptyID) {
		t.Errorf("GetResult empty id: got %v, want ErrEmptyID", err)
	}
}

// An unreachable host gives a TransportError with a user message that does
// not leak the address.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := fastClient(t, "http://"+addr, nil)
	_, err = c.Quota(context.Background())
	var te *TransportError
	if !errors.As(err, &te) {
		t.Fatalf("got %T %v, want *TransportError", err, err)
	}
	if msg := UserMessage(err); strings.Contains(msg, addr) || msg == "" {
		t.Errorf("UserMessage: got %q", msg)
	}
}

// Whatever getToken answers may hold a token: no error and no log line
// keeps any of its body.
func TestTokenBodyIsNeverKept(t *testing.T) {
	const secret = "SECRET-TOKEN-e1f2"
	tests := []struct {
		name    string
		step    step
		wantErr any
	}{
		{"token in data", step{status: 200, body: `{"code":1000,"data":{"token":"` + secret + `"}}`}, new(*ResponseError)},
		{"not JSON", step{status: 200, body: "token=" + secret}, new(*ResponseError)},
		{"gateway page", step{status: 502, body: "<html>" + secret + "</html>"}, new(*HTTPError)},
		{"gateway JSON", step{status: 503, body: `{"code":503,"token":"` + secret + `"}`}, new(*HTTPError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newScript(t, map[string][]step{PathToken: {tt.step}})
			var logs bytes.Buffer
			c := fastClient(t, srv.URL, func(c *Config) {
				c.APIKey, c.ClientID, c.ClientSecret = "", "id", "secret"
				c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			_, err := c.Token(context.Background())
			if !errors.As(err, tt.wantErr) {
				t.Fatalf("got %T %v, want %T", err, err, tt.wantErr)
			}
			var he *HTTPError
			var re *ResponseError
			kept := err.Error()
			if errors.As(err, &he) {
				kept += fmt.Sprintf(" %+v", *he)
			}
			if errors.As(err, &re) {
				kept += fmt.Sprintf(" %+v", *re)
			}
			if strings.Contains(kept, secret) {
				t.Errorf("the error keeps the token: %s", kept)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the logs keep the token: %s", logs.String())
			}
		})
	}
}

// backoff is full jitter: uniform in [0, min(MaxDelay, BaseDelay·2^(n-1))].
// Without the jitter every draw would be the ceiling; without the cap the
// later attempts would exceed MaxDelay.
func TestBackoffBounds(t *testing.T) {
	c := fastClient(t, "http://127.0.0.1:1", func(c *Config) {
		c.Retry = RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	})
	ceilings := []struct {
		attempt int
		ceil    time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond}, {5, time.Second}, {6, time.Second}, {64, time.Second}, {1000, time.Second}}
	for _, tt := range ceilings {
		lo, hi := time.Duration(1<<62), time.Duration(-1)
		for range 2000 {
			d := c.backoff(tt.attempt)
			if d < 0 || d > tt.ceil {
				t.Fatalf("attempt %d: got %v, want within [0, %v]", tt.attempt, d, tt.ceil)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// 2000 uniform draws miss a tenth of the range with probability 0.9^2000.
		if lo > tt.ceil/10 || hi < tt.ceil*9/10 {
			t.Errorf("attempt %d: draws spanned [%v, %v], want them spread over [0, %v]", tt.attempt, lo, hi, tt.ceil)
		}
	}
}

func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	c := fastClient(t, "http://127.0.0.1:1", func(c *Config) {
		c.Retry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Microsecond, MaxDelay: 8 * time.Second}
	})
	tests := []struct {
		name   string
		err    error
		lo, hi time.Duration
	}{
		{"503 asks for 3s", &HTTPError{StatusCode: 503, RetryAfter: 3 * time.Second}, 3 * time.Second, 3 * time.Second},
		{"429 asks for an hour: capped", &HTTPError{StatusCode: 429, RetryAfter: time.Hour}, 8 * time.Second, 8 * time.Second},
		{"502 without Retry-After", &HTTPError{StatusCode: 502}, 0, time.Microsecond},
		{"1005", &Error{Code: 1005}, 0, time.Microsecond},
	}
	for _, tt := range tests {
		if d := c.retryDelay(1, tt.err); d < tt.lo || d > tt.hi {
			t.Errorf("%s: got %v, want within [%v, %v]", tt.name, d, tt.lo, tt.hi)
		}
	}
}

func TestRetryAfterIsRead(t *testing.T) {
	tests := []struct {
		name   string
		status int
		value  string
		want   time.Duration
	}{
		{"503 seconds", 503, "7", 7 * time.Second},
		{"429 seconds", 429, " 2 ", 2 * time.Second},
		{"HTTP-date form is ignored", 503, "Fri, 31 Dec 1999 23:59:59 GMT", 0},
		{"negative", 429, "-5", 0},
		{"only on 429 and 503", 502, "7", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newScript(t, map[string][]step{PathQuota: {{status: tt.status, header: map[string]string{"Retry-After": tt.value}}}})
			c := fastClient(t, srv.URL, func(c *Config) { c.Retry.MaxAttempts = 1 })
			_, err := c.Quota(context.Background())
			var he *HTTPError
			if !errors.As(err, &he) || he.RetryAfter != tt.want {
				t.Fatalf("got %T %+v, want an *HTTPError with RetryAfter %v", err, err, tt.want)
			}
		})
	}
	// End to end: the wait before the second attempt is the (capped)
	// Retry-After, not the microsecond backoff. Timers never fire early, so
	// the lower bound cannot flake.
	_, srv := newScript(t, map[string][]step{PathQuota: {{status: 503, header: map[string]string{"Retry-After": "1"}}, {status: 200, body: okQuota}}})
	c := fastClient(t, srv.URL, func(c *Config) {
		c.Retry = RetryPolicy{MaxAttempts: 2, BaseDelay: time.Microsecond, MaxDelay: 50 * time.Millisecond}
	})
	start := time.Now()
	if _, err := c.Quota(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("retried after %v, want at least the capped Retry-After of 50ms", took)
	}
}

// logRecorder keeps the level and message of every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if strings.HasPrefix(r, level.String()+" ") {
			n++
		}
	}
	return n
}

// Retried attempts are Debug, the final failure one Warn, a caller's
// cancellation nothing above Debug.
func TestLogLevels(t *testing.T) {
	tests := []struct {
		name      string
		steps     []step
		cancel    bool
		wantRetry int // Debug "retrying" records
		wantWarn  int
	}{
		{"ok", []step{{status: 200, body: okQuota}}, false, 0, 0},
		{"dropped then ok", []step{{drop: true}, {status: 200, body: okQuota}}, false, 1, 0},
		{"502 then ok", []step{{status: 502}, {status: 200, body: okQuota}}, false, 1, 0},
		{"502 forever", []step{{status: 502}}, false, 2, 1},
		{"dropped forever", []step{{drop: true}}, false, 2, 1},
		{"1101", []step{{status: 200, body: `{"code":1101}`}}, false, 0, 1},
		{"cancelled by the caller", []step{{hang: true}}, true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, srv := newScript(t, map[string][]step{PathQuota: tt.steps})
			logs := &logRecorder{}
			c := fastClient(t, srv.URL, func(c *Config) { c.Logger = slog.New(logs) })
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				time.AfterFunc(20*time.Millisecond, cancel)
			}
			_, _ = c.Quota(ctx)
			retries := 0
			logs.mu.Lock()
			for _, r := range logs.recs {
				if strings.HasPrefix(r, "DEBUG ") && strings.Contains(r, "retrying") {
					retries++
				}
			}
			all := slices.Clone(logs.recs)
			logs.mu.Unlock()
			if retries != tt.wantRetry || logs.count(slog.LevelWarn) != tt.wantWarn || logs.count(slog.LevelError) != 0 || logs.count(slog.LevelInfo) != 0 {
				t.Errorf("got %q, want %d Debug retries and %d Warn", all, tt.wantRetry, tt.wantWarn)
			}
		})
	}
}
