// Package akool is Swapdesk's client for Akool's Character Swap API (v4) and
// the verifier of Akool's signed, encrypted webhooks. The contract it follows,
// including where Akool's docs are wrong, is shared/AKOOL-API.md.
//
// Every failed call returns one of *Error (Akool answered with a code other
// than 1000), *HTTPError (a non-2xx answer that is not Akool speaking),
// *TransportError (no answer) or *ResponseError (an answer we cannot read).
// All four carry a Category, Retryable and a UserMessage safe for a browser.
package akool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is Akool's production API.
const DefaultBaseURL = "https://openapi.akool.com"

const (
	opCreate = "create"
	opResult = "result"
	opQuota  = "quota"
	opToken  = "token"

	maxBody = 1 << 20 // Akool's envelopes are small; refuse to buffer more
)

// RetryPolicy bounds the automatic retries of idempotent calls (poll, quota,
// getToken). Create is never retried automatically. Between attempts the
// client waits a random time up to BaseDelay·2^(n-1), at most MaxDelay; a
// Retry-After in seconds on a 429 or 503 is honoured, also up to MaxDelay.
type RetryPolicy struct {
	MaxAttempts int           // total attempts per call including the first; default 3; 1 disables retries
	BaseDelay   time.Duration // first backoff ceiling; default 500ms
	MaxDelay    time.Duration // backoff ceiling; default 8s
}

// Config configures a Client. Only credentials are required.
type Config struct {
	BaseURL string // default DefaultBaseURL; may carry a path prefix (e.g. a mounted sandbox)

	// APIKey is sent as x-api-key (Akool's recommended method). When empty,
	// ClientID and ClientSecret are exchanged at getToken for a Bearer token.
	APIKey       string
	ClientID     string
	ClientSecret string

	HTTPClient *http.Client  // default: a client with no overall timeout (Timeout applies per attempt)
	Timeout    time.Duration // per attempt; default 30s
	Retry      RetryPolicy
	Logger     *slog.Logger // nil discards
	UserAgent  string       // default "swapdesk"

	// OmitModelName stops sending model_name. Akool removed the field from the
	// docs in 2026-01 but older servers required it (AKOOL-API.md §1.3).
	OmitModelName bool
}

// Client calls Akool. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	apiKey    string
	clientID  string
	secret    string
	hc        *http.Client
	timeout   time.Duration
	retry     RetryPolicy
	log       *slog.Logger
	ua        string
	omitModel bool

	tokenSem chan struct{} // one getToken at a time; select-able, unlike a mutex
	mu       sync.Mutex
	token    string
}

// New checks cfg and returns a Client. It makes no network call.
// It returns ErrNoCredentials without credentials, or an error for a base
// URL that is not absolute http(s).
func New(cfg Config) (*Client, error) {
	if cfg.APIKey == "" && (cfg.ClientID == "" || cfg.ClientSecret == "") {
		return nil, ErrNoCredentials
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("akool: base URL %q must be an absolute http(s) URL", raw)
	}
	c := &Client{
		base:      base,
		apiKey:    cfg.APIKey,
		clientID:  cfg.ClientID,
		secret:    cfg.ClientSecret,
		hc:        cfg.HTTPClient,
		timeout:   cfg.Timeout,
		retry:     cfg.Retry,
		log:       cfg.Logger,
		ua:        cfg.UserAgent,
		omitModel: cfg.OmitModelName,
		tokenSem:  make(chan struct{}, 1),
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.retry.MaxAttempts <= 0 {
		c.retry.MaxAttempts = 3
	}
	if c.retry.BaseDelay <= 0 {
		c.retry.BaseDelay = 500 * time.Millisecond
	}
	if c.retry.MaxDelay <= 0 {
		c.retry.MaxDelay = 8 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.ua == "" {
		c.ua = "swapdesk"
	}
	return c, nil
}

// createBody is the create request as Akool documents it (§1.3).
type createBody struct {
	Image      string  `json:"image"`
	Video      string  `json:"video"`
	Duration   float64 `json:"duration,omitempty"`
	Resolution string  `json:"resolution,omitempty"`
	Mode       string  `json:"mode,omitempty"`
	Prompt     string  `json:"prompt,omitempty"`
	WebhookURL string  `json:"webhookurl,omitempty"`
	ModelName  string  `json:"model_name,omitempty"`
}

// CreateCharacterSwap starts a job and returns it (normally StatusQueued).
//
// The call is never retried automatically: Akool has no idempotency key and
// a blind retry can charge twice. The one exception is a 1101 in token mode,
// which Akool returns before doing anything; then the token is refreshed and
// the call repeated once. On a *TransportError the job may or may not exist.
// Errors: *Error (1003 bad input, 1104/1006 credits, 1213/1221/1009 plan,
// 1005 busy, 1015 create failed, 1101/1102 auth, 1200 banned…), *HTTPError,
// *TransportError, *ResponseError (success without data._id).
func (c *Client) CreateCharacterSwap(ctx context.Context, req CreateRequest) (_ *Job, err error) {
	defer func() { c.logFailure(ctx, opCreate, err) }()
	// A conversion, so a field added to CreateRequest without a wire tag
	// fails to compile.
	body := createBody(req)
	if body.ModelName == "" && !c.omitModel {
		body.ModelName = ModelWan
	}
	payload, err := marshalJSON(body)
	if err != nil {
		return nil, fmt.Errorf("akool create: encode request: %w", err)
	}
	env, raw, err := c.call(ctx, opCreate, http.MethodPost, PathCreate, nil, payload, false)
	if err != nil {
		return nil, err
	}
	job, ok := parseJob(env.Data, "status")
	if !ok {
		return nil, &ResponseError{Op: opCreate, Reason: "success without data._id", Body: snippet(raw)}
	}
	return job, nil
}

// GetResult polls one job by the id CreateCharacterSwap returned.
// Transport errors, 5xx, 408, 429, 1005 and 2001 are retried with backoff
// within the retry policy. Errors: ErrEmptyID, *Error (1008 unknown id, auth codes…),
// *HTTPError, *TransportError, *ResponseError.
func (c *Client) GetResult(ctx context.Context, id string) (_ *Job, err error) {
	if strings.TrimSpace(id) == "" {
		return nil, ErrEmptyID
	}
	defer func() { c.logFailure(ctx, opResult, err) }()
	q := url.Values{"video_model_id": {id}}
	env, raw, err := c.call(ctx, opResult, http.MethodGet, PathResult, q, nil, true)
	if err != nil {
		return nil, err
	}
	job, ok := parseJob(env.Data, "video_status")
	if !ok {
		return nil, &ResponseError{Op: opResult, Reason: "success without data._id", Body: snippet(raw)}
	}
	return job, nil
}

// Quota returns the account's credit balance (data.credit). Akool documents
// it as a Number; it is returned as float64 so nothing is lost.
// Errors: as GetResult; *ResponseError when data.credit is missing.
func (c *Client) Quota(ctx context.Context) (_ float64, err error) {
	defer func() { c.logFailure(ctx, opQuota, err) }()
	env, raw, err := c.call(ctx, opQuota, http.MethodGet, PathQuota, nil, nil, true)
	if err != nil {
		return 0, err
	}
	var credit float64
	ok := false
	if env.Data != nil {
		credit, ok = env.Data.Credit.get()
	}
	if !ok {
		return 0, &ResponseError{Op: opQuota, Reason: "success without data.credit", Body: snippet(raw)}
	}
	return credit, nil
}

// Token returns the cached Bearer token, fetching it from getToken when none
// is cached. With an API key configured it returns "" and no error.
// Errors: *Error (1101 wrong clientId/secret, 1102, 1200), *HTTPError,
// *TransportError, *ResponseError (no token in a success envelope).
func (c *Client) Token(ctx context.Context) (_ string, err error) {
	if c.apiKey != "" {
		return "", nil
	}
	defer func() { c.logFailure(ctx, opToken, err) }()
	return c.ensureToken(ctx, "")
}

// logFailure logs a call's final failure once. Attempts that are retried
// are logged at Debug by do; a caller's cancellation is not a failure.
func (c *Client) logFailure(ctx context.Context, op string, err error) {
	if err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	c.log.Warn("akool call failed", "op", op, "err", err)
}

// ensureToken returns a token other than stale, fetching one if needed.
func (c *Client) ensureToken(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.token != stale {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()

	select {
	case c.tokenSem <- struct{}{}:
	case <-ctx.Done():
		return "", &TransportError{Op: opToken, Err: ctx.Err()}
	}
	defer func() { <-c.tokenSem }()

	c.mu.Lock()
	if c.token != "" && c.token != stale { // someone else refreshed while we waited
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Unlock()

	payload, err := marshalJSON(struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}{c.clientID, c.secret})
	if err != nil {
		return "", fmt.Errorf("akool token: encode request: %w", err)
	}
	env, raw, err := c.do(ctx, opToken, http.MethodPost, PathToken, nil, payload, true, "")
	if err != nil {
		return "", err
	}
	if env.Token == "" {
		return "", &ResponseError{Op: opToken, Reason: "success without token", Body: bodyFor(opToken, raw)}
	}
	c.mu.Lock()
	c.token = env.Token
	c.mu.Unlock()
	c.log.Debug("akool token fetched")
	return env.Token, nil
}

// call authenticates and performs one API call; in token mode a 1101 clears
// the token and repeats the call once with a fresh one.
func (c *Client) call(ctx context.Context, op, method, path string, q url.Values, body []byte, idempotent bool) (envelope, []byte, error) {
	if c.apiKey != "" {
		return c.do(ctx, op, method, path, q, body, idempotent, "")
	}
	tok, err := c.ensureToken(ctx, "")
	if err != nil {
		return envelope{}, nil, err
	}
	env, raw, err := c.do(ctx, op, method, path, q, body, idempotent, tok)
	var ae *Error
	if !errors.As(err, &ae) || ae.Code != CodeIllegalToken {
		return env, raw, err
	}
	c.log.Info("akool token refused; refreshing once", "op", op)
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
	if tok, err = c.ensureToken(ctx, tok); err != nil {
		return envelope{}, nil, err
	}
	return c.do(ctx, op, method, path, q, body, idempotent, tok)
}

// do sends the request, retrying idempotent calls, and returns a success
// envelope or a typed error.
func (c *Client) do(ctx context.Context, op, method, path string, q url.Values, body []byte, idempotent bool, token string) (envelope, []byte, error) {
	attempts := 1
	if idempotent {
		attempts = c.retry.MaxAttempts
	}
	for attempt := 1; ; attempt++ {
		env, raw, err := c.once(ctx, op, method, path, q, body, token)
		if err == nil {
			return env, raw, nil
		}
		if attempt >= attempts || !autoRetry(err) || ctx.Err() != nil {
			return envelope{}, nil, err
		}
		d := c.retryDelay(attempt, err)
		c.log.Debug("akool attempt failed; retrying", "op", op, "attempt", attempt, "delay", d, "err", err)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return envelope{}, nil, err
		case <-t.C:
		}
	}
}

// autoRetry is narrower than Retryable: only failures that say nothing about
// the request itself (no answer, 5xx, 408, 429, 1005 busy, 2001 server error).
func autoRetry(err error) bool {
	var te *TransportError
	if errors.As(err, &te) {
		return te.Retryable()
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Retryable()
	}
	var ae *Error
	if errors.As(err, &ae) {
		return ae.Code == CodeFrequentOperation || ae.Code == CodeServerError
	}
	return false
}

// backoff is "full jitter": uniform in [0, min(MaxDelay, BaseDelay·2^(n-1))].
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.retry.BaseDelay
	for i := 1; i < attempt && ceil < c.retry.MaxDelay; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.retry.MaxDelay)
	return time.Duration(rand.Int64N(int64(ceil) + 1))
}

// retryDelay is the wait before attempt+1: the backoff, or longer when the
// server asked for it with Retry-After, but never more than MaxDelay.
func (c *Client) retryDelay(attempt int, err error) time.Duration {
	d := c.backoff(attempt)
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		d = max(d, min(he.RetryAfter, c.retry.MaxDelay))
	}
	return d
}

// once performs a single HTTP exchange under the per-attempt timeout.
func (c *Client) once(ctx context.Context, op, method, path string, q url.Values, body []byte, token string) (envelope, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := *c.base
	u.Path = c.base.Path + path
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return envelope{}, nil, &TransportError{Op: op, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case op == opToken:
	case c.apiKey != "":
		req.Header.Set("x-api-key", c.apiKey)
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return envelope{}, nil, &TransportError{Op: op, Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return envelope{}, nil, &TransportError{Op: op, Err: fmt.Errorf("reading body: %w", err)}
	}
	env, ok := parseEnvelope(raw)
	c.log.Debug("akool call", "op", op, "http", resp.StatusCode, "code", env.Code, "took", time.Since(start))
	is2xx := resp.StatusCode >= 200 && resp.StatusCode <= 299
	if ok && !is2xx && env.Code != CodeSuccess && !knownCode(env.Code) {
		// Outside 2xx only a code from Akool's table is Akool speaking: a
		// gateway's {"code":503} or {"code":504,"msg":"timeout"} says nothing
		// about the request, and for a create Akool may well have run it.
		ok = false
	}
	switch {
	case !ok && !is2xx:
		return envelope{}, raw, &HTTPError{Op: op, StatusCode: resp.StatusCode, Body: bodyFor(op, raw), RetryAfter: retryAfter(resp)}
	case !ok:
		return envelope{}, raw, &ResponseError{Op: op, Reason: "not an Akool envelope", Body: bodyFor(op, raw)}
	case env.Code != CodeSuccess:
		return envelope{}, raw, &Error{Op: op, Code: env.Code, Msg: env.Msg, HTTPStatus: resp.StatusCode}
	}
	return env, raw, nil
}

// retryAfter reads Retry-After in its seconds form on a 429 or 503 (the
// HTTP-date form is ignored); 0 when absent.
func retryAfter(resp *http.Response) time.Duration {
	if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After")))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 24*60*60)) * time.Second
}

// marshalJSON encodes without HTML escaping, so URLs with & stay readable on
// the wire, and without the encoder's trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// bodyFor is what an error keeps of a response body, for logs: nothing of
// getToken's (whatever its shape, it may hold a token), else snippet.
func bodyFor(op string, b []byte) string {
	if op == opToken {
		return ""
	}
	return snippet(b)
}

func snippet(b []byte) string {
	if len(b) > 512 {
		b = b[:512]
	}
	return string(b)
}
