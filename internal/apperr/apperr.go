// Package apperr is Swapdesk's one error vocabulary. Services return these
// errors (wrapped or not); the web layer maps them to HTTP statuses in one
// place and shows only their user-safe messages, never err.Error() of anything
// else.
package apperr

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors. Wrap them with fmt.Errorf("...: %w", ErrNotFound) to add
// context for logs; the web layer still recognises them with errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrForbidden           = errors.New("forbidden")
	ErrUnauthorized        = errors.New("unauthorized")
	ErrConflict            = errors.New("conflict")
	ErrInsufficientCredits = errors.New("insufficient credits")
)

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

// Public is an error whose message may be shown to the user as-is, for
// failures that are not the user's fault but that they should understand
// (Akool refused a job, say). Err keeps the cause for logs.
type Public struct {
	Message string
	Err     error
}

func (e *Public) Error() string {
	if e.Err == nil {
		return e.Message
	}
	return e.Message + ": " + e.Err.Error()
}

func (e *Public) Unwrap() error { return e.Err }
