// Package apperr is Swapdesk's one error vocabulary. Services return these
// errors (wrapped or not); the web layer maps them to HTTP statuses in one
// place and shows only their user-safe messages, never err.Error() of anything
// else.
//
// Packages with errors of their own kinds join the vocabulary by unwrapping
// to one of the sentinels below and, when their message may be shown, by
// implementing UserError: media.Error (a member's link: ErrInvalid, or
// ErrTooMany when the member's probes are busy) and pricing.Error
// (ErrInvalid) do; jobs.InputError unwraps to an *Invalid or an
// *InsufficientCredits.
package apperr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Wrap them with fmt.Errorf("...: %w", ErrNotFound) to add
// context for logs; the web layer still recognises them with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrForbidden = errors.New("forbidden")
	// ErrConflict: the thing is in a state that does not allow this (a
	// running job cannot be deleted, say).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: input a person can correct. *Invalid unwraps to it.
	ErrInvalid = errors.New("invalid")
	// ErrTooMany: wait before trying again. *TooMany unwraps to it.
	ErrTooMany             = errors.New("too many requests")
	ErrInsufficientCredits = errors.New("insufficient credits")
)

// UserError is an error whose UserMessage may be shown to people as it is:
// a whole sentence, with no internal detail.
type UserError interface {
	error
	UserMessage() string
}

// Message returns the user-safe message of the first UserError in err's
// chain, or "" when there is none.
func Message(err error) string {
	var ue UserError
	if errors.As(err, &ue) {
		return ue.UserMessage()
	}
	return ""
}

// FieldErrors maps a form field name to a user-safe message about it.
type FieldErrors map[string]string

// Add records msg for field unless the field already has a message, so the
// first problem found is the one shown.
func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Any reports whether any field has an error.
func (fe FieldErrors) Any() bool { return len(fe) > 0 }

// Invalid is returned for input a person can correct. Message is safe to show
// as-is; Fields carries per-field messages for inline display.
type Invalid struct {
	Message string
	Fields  FieldErrors
}

func (e *Invalid) Error() string {
	if len(e.Fields) == 0 {
		return "invalid: " + e.Message
	}
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return fmt.Sprintf("invalid: %s (%s)", e.Message, strings.Join(parts, "; "))
}

// Unwrap returns ErrInvalid, so errors.Is finds it.
func (e *Invalid) Unwrap() error { return ErrInvalid }

// UserMessage returns Message.
func (e *Invalid) UserMessage() string { return e.Message }

// Invalidf returns an *Invalid with a formatted, user-safe message.
func Invalidf(format string, args ...any) *Invalid {
	return &Invalid{Message: fmt.Sprintf(format, args...)}
}

// Fields returns an *Invalid carrying fe, or nil when fe is empty.
func Fields(fe FieldErrors) error {
	if !fe.Any() {
		return nil
	}
	return &Invalid{Message: "Please correct the highlighted fields.", Fields: fe}
}

// InsufficientCredits is returned (wrapping ErrInsufficientCredits) when a
// hold or a take-back would take a member's available balance below zero.
type InsufficientCredits struct {
	Available int64
	Needed    int64
}

func (e *InsufficientCredits) Error() string {
	return fmt.Sprintf("insufficient credits: %d available, %d needed", e.Available, e.Needed)
}

// Unwrap returns ErrInsufficientCredits, so errors.Is finds it.
func (e *InsufficientCredits) Unwrap() error { return ErrInsufficientCredits }

// TooMany is returned when someone must wait before trying again.
type TooMany struct {
	Message string
}

func (e *TooMany) Error() string { return "too many requests: " + e.Message }

// Unwrap returns ErrTooMany, so errors.Is finds it.
func (e *TooMany) Unwrap() error { return ErrTooMany }

// UserMessage returns Message.
func (e *TooMany) UserMessage() string { return e.Message }

// Sentence makes msg a sentence: a capital first letter and a final period
// (for the lower-case, period-less messages of media and pricing errors).
func Sentence(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	msg = string(unicode.ToUpper(r)) + msg[n:]
	if !strings.HasSuffix(msg, ".") && !strings.HasSuffix(msg, "?") && !strings.HasSuffix(msg, "!") {
		msg += "."
	}
	return msg
}
