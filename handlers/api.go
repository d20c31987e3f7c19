package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"swapdesk/internal/apidoc"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
	"swapdesk/internal/problem"
	"swapdesk/internal/ratelimit"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
)

// The JSON API (/api/v1): bearer tokens instead of sessions and CSRF, JSON
// in and out, and every error an RFC 9457 problem (internal/problem). The
// OpenAPI document in internal/apidoc describes all of it; the handler
// tests validate every request and answer against it.

// Defaults of the per-token request limit (Config.APIRate, APIBurst).
const (
	defaultAPIRate  = 10
	defaultAPIBurst = 20
)

// maxAPIBody bounds a JSON request body (the global BodyLimit is larger,
// for forms).
const maxAPIBody = 64 << 10

// ctxPrincipal is where apiAuth leaves the token's tokens.Principal.
const ctxPrincipal = "api.principal"

// principal is who the request's token speaks for (set by apiAuth).
func principal(c echo.Context) tokens.Principal {
	p, _ := c.Get(ctxPrincipal).(tokens.Principal)
	return p
}

// isAPI reports whether a request is for the JSON API, whose errors are
// problem details rather than pages.
func isAPI(c echo.Context) bool {
	p := c.Request().URL.Path
	return p == urls.RouteAPI || strings.HasPrefix(p, urls.RouteAPI+"/")
}

// apiError is an API error with its problem type and user-safe detail.
type apiError struct {
	typ        problem.Type
	detail     string
	fields     []problem.FieldError
	retryAfter int // seconds, for 429
}

func (e *apiError) Error() string { return e.typ.Slug + ": " + e.detail }

func apiProblem(t problem.Type, detail string, fe ...problem.FieldError) *apiError {
	return &apiError{typ: t, detail: detail, fields: fe}
}

// handleAPIError answers err as a problem: the one mapping of errors to
// statuses for /api/v1, beside handleError's for pages. Nothing but the
// user-safe messages chosen here (or apperr's) reaches the client.
func (s *Server) handleAPIError(err error, c echo.Context) {
	reqID := c.Response().Header().Get(echo.HeaderXRequestID)
	ae := apiClassify(err)
	if ae == nil {
		// The client went away: nobody to answer.
		if !c.Response().Committed {
			_ = c.NoContent(499)
		}
		return
	}
	if ae.typ.Status >= 500 {
		s.log.Error("request failed", "id", reqID, "method", c.Request().Method,
			"path", c.Request().URL.Path, "status", ae.typ.Status, "err", err)
		ae.detail = "Something failed on our side. It has been logged; retry later, and quote the reference " + reqID + " if it persists."
	}
	if c.Response().Committed {
		s.log.Log(c.Request().Context(), levelFor(ae.typ.Status), "error after the response was sent", "id", reqID,
			"method", c.Request().Method, "path", c.Request().URL.Path, "status", c.Response().Status, "err", err)
		return
	}
	h := c.Response().Header()
	switch ae.typ {
	case problem.Unauthorized:
		h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="swapdesk"`)
	case problem.Forbidden:
		h.Set(echo.HeaderWWWAuthenticate, `Bearer realm="swapdesk", error="insufficient_scope"`)
	case problem.RateLimited:
		h.Set("Retry-After", strconv.Itoa(max(ae.retryAfter, 1)))
	}
	h.Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		h.Set(echo.HeaderContentType, problem.ContentType)
		_ = c.NoContent(ae.typ.Status)
		return
	}
	p := problem.New(ae.typ, ae.detail, c.Request().URL.Path, ae.fields...)
	b, merr := json.Marshal(p)
	if merr != nil {
		s.log.Error("encode problem", "id", reqID, "err", merr)
		_ = c.NoContent(http.StatusInternalServerError)
		return
	}
	_ = c.Blob(ae.typ.Status, problem.ContentType, b)
}

func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// apiClassify maps an error to its problem; nil for a cancelled request.
func apiClassify(err error) *apiError {
	var (
		ae       *apiError
		inputErr *jobs.InputError
		short    *apperr.InsufficientCredits
		invalid  *apperr.Invalid
		tooMany  *apperr.TooMany
		he       *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, tokens.ErrUnauthorized):
		return apiProblem(problem.Unauthorized, "Send a valid token: Authorization: Bearer sd_… (create one at /account/tokens).")
	case errors.As(err, &inputErr) && inputErr.StartedJob != 0:
		return apiProblem(problem.IdempotencyConflict, fmt.Sprintf(
			"This Idempotency-Key already started job %d with a different body; nothing new was started. Use a new key for a new job.",
			inputErr.StartedJob))
	case errors.As(err, &short):
		return apiProblem(problem.InsufficientCredits, fmt.Sprintf(
			"Your available balance of %d credits does not cover this job (%d credits). Nothing was held; ask an admin for more credits.",
			short.Available, short.Needed))
	case errors.As(err, &invalid) && len(invalid.Fields) > 0:
		return apiProblem(problem.Invalid, "Some fields are not acceptable; see errors.", fieldList(invalid.Fields)...)
	case errors.As(err, &tooMany):
		return &apiError{typ: problem.RateLimited, detail: tooMany.Message, retryAfter: 1}
	case errors.Is(err, apperr.ErrNotFound):
		return apiProblem(problem.NotFound, "There is nothing at this address that you may see.")
	case errors.Is(err, apperr.ErrConflict):
		return apiProblem(problem.Conflict, or(apperr.Message(err), "This cannot be done in the job's current state."))
	case errors.Is(err, apperr.ErrForbidden):
		return apiProblem(problem.Forbidden, "Your token may not do this.")
	case errors.Is(err, apperr.ErrInvalid):
		return apiProblem(problem.Invalid, or(apperr.Message(err), "The request is not acceptable."))
	case errors.Is(err, context.Canceled):
		return nil
	case errors.As(err, &he):
		switch he.Code {
		case http.StatusNotFound:
			return apiProblem(problem.NotFound, "There is no such route in the API; see /api/v1/openapi.json.")
		case http.StatusMethodNotAllowed:
			return apiProblem(problem.MethodNotAllowed, "This route does not accept that method; the Allow header lists the ones it does.")
		case http.StatusRequestEntityTooLarge:
			return apiProblem(problem.TooLarge, fmt.Sprintf("The request body is too large; JSON bodies may be at most %d KiB.", maxAPIBody>>10))
		case http.StatusUnauthorized:
			return apiProblem(problem.Unauthorized, "Send a valid token: Authorization: Bearer sd_… (create one at /account/tokens).")
		case http.StatusTooManyRequests:
			return &apiError{typ: problem.RateLimited, detail: "Too many requests; wait and retry.", retryAfter: 1}
		}
		if he.Code >= 400 && he.Code < 500 {
			return apiProblem(problem.BadRequest, "The request could not be read.")
		}
	}
	return apiProblem(problem.Internal, "")
}

// fieldList orders field errors as the job form does, then by name.
func fieldList(fe apperr.FieldErrors) []problem.FieldError {
	out := make([]problem.FieldError, 0, len(fe))
	for f, msg := range fe {
		out = append(out, problem.FieldError{Field: f, Message: msg})
	}
	rank := func(f string) int {
		if i := slices.Index(fields.Job, f); i >= 0 {
			return i
		}
		return len(fields.Job)
	}
	sort.Slice(out, func(i, j int) bool {
		if ri, rj := rank(out[i].Field), rank(out[j].Field); ri != rj {
			return ri < rj
		}
		return out[i].Field < out[j].Field
	})
	return out
}

// apiRoute routes path's methods to their handlers behind mw, and answers
// every other method there with a 405 problem naming the ones allowed.
// Where GET is routed, HEAD is too, to the same handler (net/http drops the
// body): HTTP asks it of every GET resource, clients such as curl -I use
// it, and the OpenAPI document lists it for every GET route.
func (s *Server) apiRoute(path string, handlers map[string]echo.HandlerFunc, mw ...echo.MiddlewareFunc) {
	handlers = withHead(handlers)
	var allowed []string
	for m := range handlers {
		allowed = append(allowed, m)
	}
	sort.Strings(allowed)
	allow := strings.Join(allowed, ", ")
	refuse := func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderAllow, allow)
		return echo.ErrMethodNotAllowed
	}
	for _, m := range allMethods {
		if h, ok := handlers[m]; ok {
			s.echo.Add(m, path, h, mw...)
		} else {
			s.echo.Add(m, path, refuse)
		}
	}
}

// apiAuth admits requests whose bearer token is valid, within its rate
// and carrying one of scopes (none: any valid token). A missing,
// malformed, unknown, expired or revoked token, or a disabled member's,
// is one 401; a valid token without the scope is a 403. No cookie is read
// and no CSRF token asked: a bearer token is not sent by browsers on their
// own.
func (s *Server) apiAuth(scopes ...string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-store")
			c.Response().Header().Add("Vary", echo.HeaderAuthorization)
			raw, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return tokens.ErrUnauthorized
			}
			p, err := s.cfg.Tokens.Authenticate(c.Request().Context(), raw)
			if err != nil {
				return err
			}
			if wait, ok := s.apiLimits.Allow(p.Token.ID, s.now()); !ok {
				return &apiError{typ: problem.RateLimited, retryAfter: int(math.Ceil(wait.Seconds())),
					detail: "Too many requests with this token in a short time. Wait for Retry-After seconds, then retry."}
			}
			if len(scopes) > 0 && !slices.ContainsFunc(scopes, p.Can) {
				return apiProblem(problem.Forbidden, "This token does not have the scope this route needs: "+strings.Join(scopes, " or ")+".")
			}
			c.Set(ctxPrincipal, p)
			return next(c)
		}
	}
}

// apiAuthByMethod is apiAuth with the scope chosen by the method (one
// path, a read and a write).
func (s *Server) apiAuthByMethod(scopes map[string]string) echo.MiddlewareFunc {
	scopes = withHead(scopes)
	mws := map[string]echo.MiddlewareFunc{}
	for m, sc := range scopes {
		mws[m] = s.apiAuth(sc)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		hs := map[string]echo.HandlerFunc{}
		for m, mw := range mws {
			hs[m] = mw(next)
		}
		return func(c echo.Context) error {
			h, ok := hs[c.Request().Method]
			if !ok {
				return echo.ErrMethodNotAllowed
			}
			return h(c)
		}
	}
}

// withHead returns m with HEAD given GET's value, when m has GET and no
// HEAD: HEAD is GET without the body, under the same rules.
func withHead[V any](m map[string]V) map[string]V {
	g, ok := m[http.MethodGet]
	if _, has := m[http.MethodHead]; !ok || has {
		return m
	}
	out := maps.Clone(m)
	out[http.MethodHead] = g
	return out
}

// bearer returns the token of an "Authorization: Bearer <token>" header
// (the scheme is case-insensitive).
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// newTokenLimiter returns the per-token limit of r requests a second,
// burst at once (0: the defaults); nil (no limit) when r < 0.
func newTokenLimiter(r float64, burst int) *ratelimit.Keyed {
	if r < 0 {
		return nil
	}
	if r == 0 {
		r = defaultAPIRate
	}
	if burst <= 0 {
		burst = defaultAPIBurst
	}
	return ratelimit.New(rate.Limit(r), burst)
}

// describeLimit says a limit for people: "10 requests a second, in bursts
// of up to 20", or "" when there is none.
func describeLimit(l *ratelimit.Keyed) string {
	if l == nil {
		return ""
	}
	return fmt.Sprintf("%s requests a second, in bursts of up to %d", strconv.FormatFloat(float64(l.Rate()), 'f', -1, 64), l.Burst())
}

// apiJSON answers v as JSON.
func apiJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Blob(status, echo.MIMEApplicationJSON, b)
}

// jsonKind is what JSON a body field must hold.
type jsonKind int

const (
	jsonString jsonKind = iota // a string or null
	jsonNumber                 // a number or null
)

// bodyFields are a JSON body's fields, each as its raw text: strings
// decoded, numbers as written, null and absent as "".
type bodyFields map[string]string

// decodeBody reads the request's JSON object, whose fields must be among
// allowed. Anything else is a 400 problem naming what is wrong (413 when
// too large): not JSON, malformed, trailing data, not an object, unknown
// fields, wrong types. It checks no values: the services do.
func decodeBody(c echo.Context, allowed map[string]jsonKind, order []string) (bodyFields, error) {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || (mt != echo.MIMEApplicationJSON && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))) {
		return nil, apiProblem(problem.BadRequest, "Send the body as JSON, with Content-Type: application/json.",
			problem.FieldError{Field: "Content-Type", Message: "Must be application/json."})
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return nil, err // the global body limit
	case err != nil:
		return nil, fmt.Errorf("read body: %w", err)
	case len(b) > maxAPIBody:
		return nil, echo.ErrStatusRequestEntityTooLarge
	case len(bytes.TrimSpace(b)) == 0:
		return nil, apiProblem(problem.BadRequest, "The body is empty; send a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return nil, apiProblem(problem.BadRequest, fmt.Sprintf("The body is not valid JSON (at byte %d).", syn.Offset))
		case errors.As(err, &typ):
			return nil, apiProblem(problem.BadRequest, "The body must be a JSON object.")
		}
		return nil, apiProblem(problem.BadRequest, "The body is not valid JSON (it ends too soon).")
	}
	if raw == nil {
		return nil, apiProblem(problem.BadRequest, "The body must be a JSON object, not null.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, apiProblem(problem.BadRequest, "The body has more data after its JSON object; send one object.")
	}
	out := bodyFields{}
	fe := apperr.FieldErrors{}
	for name, v := range raw {
		kind, known := allowed[name]
		switch {
		case !known:
			fe.Add(name, "Unknown field; the fields are "+strings.Join(order, ", ")+".")
		case string(v) == "null":
		case kind == jsonString:
			var str string
			if v[0] != '"' || json.Unmarshal(v, &str) != nil {
				fe.Add(name, "Must be a string.")
				continue
			}
			out[name] = str
		case kind == jsonNumber:
			if !strings.ContainsRune("-0123456789", rune(v[0])) {
				fe.Add(name, "Must be a number.")
				continue
			}
			out[name] = string(v)
		}
	}
	if fe.Any() {
		return nil, apiProblem(problem.BadRequest, "The body has fields that are unknown or of the wrong type; see errors.", fieldList(fe)...)
	}
	return out, nil
}

// openAPI serves the API's OpenAPI document (public: no token).
func (s *Server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, apidoc.JSON)
}

// apiNotFound answers every path under /api/v1 no route matched.
func apiNotFound(echo.Context) error { return echo.ErrNotFound }
