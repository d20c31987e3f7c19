package akool

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Category groups failures by who can act on them.
type Category int

// Categories of failure. The zero value is CategoryUpstream so that an
// unclassified failure is never mistaken for the caller's fault.
const (
	// CategoryUpstream: Akool (or the path to it) failed; retrying later may help.
	CategoryUpstream Category = iota
	// CategoryAuth: the API key, token or the account itself (plan, ban) needs an admin.
	CategoryAuth
	// CategoryQuota: the Akool account has no credits left or is not paid.
	CategoryQuota
	// CategoryInvalidInput: Akool refused the parameters or the input media.
	CategoryInvalidInput
	// CategoryNotFound: the job or resource does not exist at Akool.
	CategoryNotFound
	// CategoryRateLimited: Akool is throttling; retry in a minute.
	CategoryRateLimited
)

// String returns a short lowercase name, suitable for logs and metrics labels.
func (c Category) String() string {
	switch c {
	case CategoryAuth:
		return "auth"
	case CategoryQuota:
		return "quota"
	case CategoryInvalidInput:
		return "invalid_input"
	case CategoryNotFound:
		return "not_found"
	case CategoryRateLimited:
		return "rate_limited"
	default:
		return "upstream"
	}
}

// Akool business codes (AKOOL-API.md §6.1). Only the ones callers commonly
// test for are named; every code in the table is classified by codeTable.
const (
	CodeSuccess              = 1000
	CodeParameterError       = 1003
	CodeFrequentOperation    = 1005
	CodeQuotaNotEnough       = 1006
	CodeContentNotExist      = 1008
	CodePermissionDenied     = 1009
	CodeResourceNotExist     = 1014
	CodeVideoProcessing      = 1015
	CodeIllegalToken         = 1101
	CodeTokenEmpty           = 1102
	CodeNotPaid              = 1103
	CodeInsufficientCredit   = 1104
	CodeAccountBlocked       = 1200
	CodeRequiresSubscription = 1213
	CodeAccountNotSubscribed = 1221
	CodeServerError          = 2001
)

// Messages shown to team members. They must never contain Akool's raw text,
// our configuration or anything secret.
const (
	msgPlan         = "Your Akool plan does not include Character Swap — ask your admin."
	msgBusy         = "Akool is busy, try again in a minute."
	msgNoCredits    = "The Akool account is out of credits — ask your admin to top it up."
	msgNotPaid      = "The Akool account's payment is overdue — ask your admin."
	msgBadKey       = "Akool refused our API key or token — ask your admin to check the API key."
	msgNoKey        = "No Akool API key was sent — ask your admin to check the API key."
	msgBlocked      = "The Akool account has been blocked — ask your admin to contact Akool."
	msgNoAccount    = "The Akool account does not exist — ask your admin to check the API key."
	msgVerify       = "The Akool account needs verification — ask your admin."
	msgParams       = "Akool refused the request — check the image and video URLs, duration (1–120 s), resolution, mode and prompt."
	msgNotFound     = "Akool does not know this job."
	msgResource     = "Akool could not find the input — check that the image and video URLs are public."
	msgCreateFailed = "Akool could not create the video — try again later."
	msgProcessing   = "Akool failed while processing — try again later, or with different inputs."
	msgContent      = "Akool cannot process this content — try a different image or video."
	msgFaces        = "The number of faces in the video changes too much — try a different video."
	msgTooLong      = "The video is too long for Akool (120 seconds at most)."
	msgTooBig       = "The video file is too large for Akool."
	msgParse        = "Akool could not read the video — use an MP4 file."
	msgCodec        = "Akool does not support the video's encoding — use an H.264 MP4."
	msgFPS          = "The video's frame rate is too high for Akool."
	msgServer       = "Akool had a server error — try again in a few minutes."
	msgUnknown      = "Akool returned an unexpected error — try again later, and tell your admin if it persists."
)

type codeInfo struct {
	cat       Category
	retryable bool
	msg       string
}

// codeTable classifies every code of AKOOL-API.md §6.1.
var codeTable = map[int]codeInfo{
	1003: {CategoryInvalidInput, false, msgParams},
	1004: {CategoryAuth, false, msgVerify},
	1005: {CategoryRateLimited, true, msgBusy},
	1006: {CategoryQuota, false, msgNoCredits},
	1007: {CategoryInvalidInput, false, msgFaces},
	1008: {CategoryNotFound, false, msgNotFound},
	1009: {CategoryAuth, false, msgPlan},
	1010: {CategoryInvalidInput, false, msgContent},
	1011: {CategoryInvalidInput, false, msgContent},
	1013: {CategoryInvalidInput, false, msgContent},
	1014: {CategoryNotFound, false, msgResource},
	1015: {CategoryUpstream, true, msgCreateFailed},
	1016: {CategoryUpstream, false, msgProcessing},
	1017: {CategoryUpstream, false, msgProcessing},
	1101: {CategoryAuth, false, msgBadKey},
	1102: {CategoryAuth, false, msgNoKey},
	1103: {CategoryQuota, false, msgNotPaid},
	1104: {CategoryQuota, false, msgNoCredits},
	1105: {CategoryUpstream, false, msgProcessing},
	1108: {CategoryUpstream, false, msgProcessing},
	1109: {CategoryAuth, false, msgNoAccount},
	1110: {CategoryUpstream, false, msgProcessing},
	1111: {CategoryUpstream, false, msgProcessing},
	1112: {CategoryUpstream, false, msgProcessing},
	1200: {CategoryAuth, false, msgBlocked},
	1201: {CategoryUpstream, false, msgProcessing},
	1202: {CategoryInvalidInput, false, msgContent},
	1203: {CategoryInvalidInput, false, msgContent},
	1204: {CategoryInvalidInput, false, msgTooLong},
	1205: {CategoryUpstream, true, msgCreateFailed},
	1206: {CategoryUpstream, false, msgProcessing},
	1207: {CategoryInvalidInput, false, msgTooBig},
	1208: {CategoryInvalidInput, false, msgParse},
	1209: {CategoryInvalidInput, false, msgCodec},
	1210: {CategoryInvalidInput, false, msgFPS},
	1211: {CategoryUpstream, false, msgProcessing},
	1212: {CategoryUpstream, false, msgProcessing},
	1213: {CategoryAuth, false, msgPlan},
	1214: {CategoryUpstream, false, msgProcessing},
	1215: {CategoryRateLimited, true, msgBusy},
	1216: {CategoryNotFound, false, msgNotFound},
	1217: {CategoryUpstream, false, msgProcessing},
	1218: {CategoryUpstream, false, msgProcessing},
	1219: {CategoryUpstream, false, msgProcessing},
	1220: {CategoryUpstream, false, msgProcessing},
	1221: {CategoryAuth, false, msgPlan},
	1222: {CategoryInvalidInput, false, msgContent},
	1223: {CategoryInvalidInput, false, msgContent},
	2001: {CategoryUpstream, true, msgServer},
}

func knownCode(code int) bool { _, ok := codeTable[code]; return ok }

// KnownCodes returns every Akool error code this package classifies, in no
// particular order. Tests and the emulator use it to cover the whole table.
func KnownCodes() []int {
	out := make([]int, 0, len(codeTable))
	for c := range codeTable {
		out = append(out, c)
	}
	return out
}

// Error is a refusal by Akool: a well-formed envelope whose code is not 1000.
// Compare codes with errors.As, or with errors.Is against &Error{Code: n}.
type Error struct {
	Code       int    // Akool's business code, e.g. 1104
	Msg        string // Akool's msg, verbatim; may be empty; never show it to users
	HTTPStatus int    // the HTTP status that carried the envelope (usually 200)
	Op         string // which call failed: "create", "result", "quota", "token"
}

func (e *Error) Error() string {
	return fmt.Sprintf("akool %s: code %d: %s", e.Op, e.Code, e.Msg)
}

func (e *Error) info() codeInfo {
	if in, ok := codeTable[e.Code]; ok {
		return in
	}
	return codeInfo{CategoryUpstream, false, msgUnknown}
}

// Known reports whether the code is in Akool's documented table.
func (e *Error) Known() bool { _, ok := codeTable[e.Code]; return ok }

// Category classifies the code; unknown codes are CategoryUpstream.
func (e *Error) Category() Category { return e.info().cat }

// Retryable reports whether the same call may succeed later without anyone
// changing anything (1005 busy, 1015 create error "try again later", 2001).
// It says nothing about whether a retry is safe: see Client.CreateCharacterSwap.
func (e *Error) Retryable() bool { return e.info().retryable }

// UserMessage is a sentence a team member can act on.
func (e *Error) UserMessage() string { return e.info().msg }

// Is makes errors.Is(err, &Error{Code: 1104}) match any *Error with that code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// TransportError is a failure to get any HTTP response: DNS, connect, TLS,
// a reset, or the per-call timeout. For a create call the outcome is unknown:
// Akool may have created (and charged for) the job.
type TransportError struct {
	Op  string // "create", "result", "quota", "token"
	Err error
}

func (e *TransportError) Error() string { return "akool " + e.Op + ": " + e.Err.Error() }
func (e *TransportError) Unwrap() error { return e.Err }

// Timeout reports whether the call ran out of time (ours or the caller's).
func (e *TransportError) Timeout() bool {
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// Category is always CategoryUpstream.
func (e *TransportError) Category() Category { return CategoryUpstream }

// Retryable is true unless the caller cancelled.
func (e *TransportError) Retryable() bool { return !errors.Is(e.Err, context.Canceled) }

// UserMessage is a sentence a team member can act on.
func (e *TransportError) UserMessage() string {
	if e.Op == opCreate {
		return "Akool did not answer in time; the swap may or may not have started — check the job list before trying again."
	}
	return "Could not reach Akool — try again in a minute."
}

// HTTPError is a non-2xx HTTP response whose body is not an Akool answer: a
// load balancer's 502 page, a 404 from a wrong base URL, a 429 without a
// body, or a JSON body whose code is not one of Akool's (a gateway's
// {"code":503}). Akool's own codes in a non-2xx response are an *Error.
type HTTPError struct {
	Op         string
	StatusCode int
	Body       string        // at most 512 bytes of the body, for logs only; always empty for getToken
	RetryAfter time.Duration // a 429's or 503's Retry-After in seconds; 0 when absent
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("akool %s: HTTP %d without an Akool answer: %.120q", e.Op, e.StatusCode, e.Body)
}

// Category: 429 is CategoryRateLimited, anything else CategoryUpstream.
func (e *HTTPError) Category() Category {
	if e.StatusCode == http.StatusTooManyRequests {
		return CategoryRateLimited
	}
	return CategoryUpstream
}

// Retryable is true for 5xx, 408 and 429.
func (e *HTTPError) Retryable() bool {
	return e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests || e.StatusCode == http.StatusRequestTimeout
}

// UserMessage is a sentence a team member can act on.
func (e *HTTPError) UserMessage() string {
	switch {
	case e.StatusCode == http.StatusTooManyRequests:
		return msgBusy
	case e.StatusCode >= 500 || e.StatusCode == http.StatusRequestTimeout:
		return "Akool is having problems — try again in a few minutes."
	default:
		return "Swapdesk could not talk to Akool — ask your admin to check the Akool base URL."
	}
}

// ResponseError is a 2xx response Swapdesk could not understand: not JSON, no
// code, or a success envelope missing what the contract promises (data._id).
type ResponseError struct {
	Op     string
	Reason string
	Body   string // at most 512 bytes, for logs only; always empty for getToken
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("akool %s: unexpected response: %s: %.120q", e.Op, e.Reason, e.Body)
}

// Category is always CategoryUpstream.
func (e *ResponseError) Category() Category { return CategoryUpstream }

// Retryable is false: the same bytes will most likely come back.
func (e *ResponseError) Retryable() bool { return false }

// UserMessage is a sentence a team member can act on.
func (e *ResponseError) UserMessage() string {
	return "Akool sent an answer Swapdesk does not understand — try again later, and tell your admin if it persists."
}

// classified is implemented by every error type of this package.
type classified interface {
	error
	Category() Category
	Retryable() bool
	UserMessage() string
}

var (
	_ classified = (*Error)(nil)
	_ classified = (*TransportError)(nil)
	_ classified = (*HTTPError)(nil)
	_ classified = (*ResponseError)(nil)
)

// ErrNoCredentials is returned by New when Config has neither an API key nor
// a clientId and clientSecret.
var ErrNoCredentials = errors.New("akool: no API key and no clientId+clientSecret configured")

// ErrEmptyID is returned by GetResult for an empty job id, without calling Akool.
var ErrEmptyID = errors.New("akool: empty job id")

// UserMessage returns a sentence safe to show a team member for any error a
// Client method returned. Unknown errors get a generic sentence; err.Error()
// is never exposed. A nil error gives "".
func UserMessage(err error) string {
	if err == nil {
		return ""
	}
	var c classified
	if errors.As(err, &c) {
		return c.UserMessage()
	}
	if errors.Is(err, context.Canceled) {
		return "The request was cancelled."
	}
	return "Something went wrong talking to Akool — try again later."
}

// CategoryOf classifies any error a Client method returned; errors from
// elsewhere are CategoryUpstream.
func CategoryOf(err error) Category {
	var c classified
	if errors.As(err, &c) {
		return c.Category()
	}
	return CategoryUpstream
}

// IsRetryable reports whether repeating the call later may succeed. For
// create it is only safe if the error is an *Error or *HTTPError with a
// status Akool could not have acted on; a *TransportError may hide a job.
func IsRetryable(err error) bool {
	var c classified
	return errors.As(err, &c) && c.Retryable()
}

// Code returns the Akool business code carried by err, if any.
func Code(err error) (int, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	return 0, false
}
