// Package media probes the image and video links that members type, safely:
// it only speaks http and https, refuses private, loopback, link-local and
// other internal addresses at dial time (so DNS rebinding and redirects cannot
// reach them), caps the bytes and time spent on every request, and reads only
// the few bytes it needs (an image header, an MP4's moov box via Range
// requests). Results are cached per URL for a few minutes.
//
// Every error this package returns for a member's link is an *Error whose
// Message can be shown next to the form field; use errors.Is with the Err*
// kinds below to tell them apart.
package media

import (
	"errors"

	"swapdesk/internal/apperr"
)

// Error kinds, for errors.Is. Each *Error returned by this package unwraps to
// exactly one of them.
var (
	// ErrInvalidURL: not an http(s) link, credentials, spaces, control
	// characters, too long, unusual numeric host forms.
	ErrInvalidURL = errors.New("media: invalid link")
	// ErrForbiddenAddress: the link (or a redirect) leads to a loopback,
	// private, link-local, multicast or otherwise internal address.
	ErrForbiddenAddress = errors.New("media: forbidden address")
	// ErrTimeout: the server did not answer (or finish) in time.
	ErrTimeout = errors.New("media: timeout")
	// ErrUnreachable: DNS, connection or TLS failure.
	ErrUnreachable = errors.New("media: unreachable")
	// ErrTooManyRedirects: more redirects than allowed.
	ErrTooManyRedirects = errors.New("media: too many redirects")
	// ErrHTTPStatus: the server answered with a status other than 200/206.
	ErrHTTPStatus = errors.New("media: bad HTTP status")
	// ErrTooLarge: the body is larger than the caller's byte cap.
	ErrTooLarge = errors.New("media: too large")
	// ErrUnsupported: the link works but is not a PNG/JPEG image or an MP4
	// video with a video track.
	ErrUnsupported = errors.New("media: unsupported content")
	// ErrCorrupt: truncated or malformed content.
	ErrCorrupt = errors.New("media: corrupt content")
	// ErrNoDuration: the video could not be measured without downloading
	// too much (e.g. no Range support and moov far from the start, or a
	// fragmented MP4). The form should ask the member for a duration.
	ErrNoDuration = errors.New("media: duration unknown")
	// ErrBusy: the member already runs as many probes as one member may
	// (ProberOptions.MaxPerMember), and none ended in time. Nothing is
	// known about the link; try again later.
	ErrBusy = errors.New("media: member's probes busy")
)

// Error is a user-safe error about a member's link. Error() returns Message,
// which never contains internal details; Err keeps the cause for logs.
type Error struct {
	Kind    error  // one of the Err* kinds
	Message string // user-safe, no trailing period
	Err     error  // underlying cause, may be nil; for logs only
}

func (e *Error) Error() string { return e.Message }

// Unwrap exposes Kind (for errors.Is with the Err* kinds), the
// vocabulary's sentinel (apperr.ErrTooMany for ErrBusy, else
// apperr.ErrInvalid: something about the member's link) and the cause.
func (e *Error) Unwrap() []error {
	app := apperr.ErrInvalid
	if e.Kind == ErrBusy {
		app = apperr.ErrTooMany
	}
	if e.Err == nil {
		return []error{e.Kind, app}
	}
	return []error{e.Kind, app, e.Err}
}

// UserMessage is Message as a sentence, to show next to the link's field.
func (e *Error) UserMessage() string { return apperr.Sentence(e.Message) }

// LogString is Message plus the cause, for server logs.
func (e *Error) LogString() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func newErr(kind error, msg string, cause error) *Error {
	return &Error{Kind: kind, Message: msg, Err: cause}
}
