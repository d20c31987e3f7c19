// Package pricing is the one place Swapdesk computes what a character swap
// costs in Akool credits.
//
// Akool bills every started block of five seconds at a per-resolution rate:
// credits = ceil(seconds / 5) × rate, with rates 5, 10 and 15 for 480p, 720p
// and 1080p. Akool's own example: 12 s at 720p is 3 blocks, 30 credits.
//
// Every error returned by this package is an *Error whose Message is safe to
// show to a member next to the form field named by Field.
package pricing

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// BlockSeconds is the length of one billed block.
const BlockSeconds = 5

// MaxSeconds is the longest swap Akool accepts.
const MaxSeconds = 120

// MinRequestedSeconds is the shortest duration a member may ask for; Akool
// refuses a duration parameter below 1 s.
const MinRequestedSeconds = 1

// Form field names used in Error.Field: the job form's.
const (
	FieldDuration   = fields.Duration
	FieldVideo      = fields.VideoURL
	FieldResolution = fields.Resolution
	FieldMode       = fields.Mode
)

// Error kinds, for errors.Is.
var (
	// ErrInvalidSeconds: NaN, infinite, zero, negative or unparsable seconds.
	ErrInvalidSeconds = errors.New("pricing: invalid seconds")
	// ErrTooLong: more than MaxSeconds.
	ErrTooLong = errors.New("pricing: longer than 120 s")
	// ErrNoDuration: neither a requested nor a detected duration is known.
	ErrNoDuration = errors.New("pricing: no duration")
	// ErrInvalidResolution: not one of Resolutions().
	ErrInvalidResolution = errors.New("pricing: invalid resolution")
	// ErrInvalidMode: not one of Modes().
	ErrInvalidMode = errors.New("pricing: invalid mode")
)

// Error is a user-safe validation error. Error() returns Message, which may be
// shown to members as is; Field names the form field it belongs to.
type Error struct {
	Kind    error  // one of the Err* values above
	Field   string // one of the Field* constants
	Message string // user-safe, no trailing period
}

func (e *Error) Error() string { return e.Message }

// Unwrap returns Kind, so that errors.Is(err, ErrTooLong) works, and
// apperr.ErrInvalid: the member can correct it.
func (e *Error) Unwrap() []error { return []error{e.Kind, apperr.ErrInvalid} }

// UserMessage is Message as a sentence, to show next to Field.
func (e *Error) UserMessage() string { return apperr.Sentence(e.Message) }

func newError(kind error, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Resolution is an output resolution Akool offers.
type Resolution string

// The resolutions Akool offers.
const (
	R480p  Resolution = "480p"
	R720p  Resolution = "720p"
	R1080p Resolution = "1080p"
)

// DefaultResolution is Akool's default when none is sent.
const DefaultResolution = R720p

// Resolutions lists the resolutions in form order, cheapest first.
func Resolutions() []Resolution { return []Resolution{R480p, R720p, R1080p} }

// ParseResolution accepts "480p", "720p" or "1080p" (surrounding spaces and
// case are ignored). Any other value returns an *Error of kind
// ErrInvalidResolution.
func ParseResolution(s string) (Resolution, error) {
	r := Resolution(strings.ToLower(strings.TrimSpace(s)))
	if r.Rate() == 0 {
		return "", newError(ErrInvalidResolution, FieldResolution, "choose 480p, 720p or 1080p")
	}
	return r, nil
}

// Rate returns the credits per started 5-second block, or 0 for a resolution
// that is not one of Resolutions().
func (r Resolution) Rate() int {
	switch r {
	case R480p:
		return 5
	case R720p:
		return 10
	case R1080p:
		return 15
	}
	return 0
}

func (r Resolution) String() string { return string(r) }

// Mode is how Akool uses the character image.
type Mode string

// The modes Akool offers.
const (
	ModeAnimate Mode = "animate"
	ModeReplace Mode = "replace"
)

// DefaultMode is Akool's default when none is sent.
const DefaultMode = ModeAnimate

// Modes lists the modes in form order.
func Modes() []Mode { return []Mode{ModeAnimate, ModeReplace} }

// ParseMode accepts "animate" or "replace" (surrounding spaces and case are
// ignored). Any other value returns an *Error of kind ErrInvalidMode.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if m.Description() == "" {
		return "", newError(ErrInvalidMode, FieldMode, "choose animate or replace")
	}
	return m, nil
}

// Description is one line for the form on what the mode does, or "" for an
// unknown mode.
func (m Mode) Description() string {
	switch m {
	case ModeAnimate:
		return "Animate: your character performs the motion of the video."
	case ModeReplace:
		return "Replace: your character takes the place of the person in the video."
	}
	return ""
}

func (m Mode) String() string { return string(m) }

// DurationMessage is the one message for every duration a member may not
// send: unparsable, negative, zero, under 1 s or over 120 s all break the same
// rule, so they get the same words (and the form's hint says the same).
var DurationMessage = fmt.Sprintf("the duration must be whole or decimal seconds from %d to %d, like 12 or 12.5",
	MinRequestedSeconds, MaxSeconds)

// checkSeconds validates a billable length: finite, > 0 and <= MaxSeconds.
func checkSeconds(seconds float64, field string) error {
	switch {
	case math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds <= 0:
		return newError(ErrInvalidSeconds, field, "%s", DurationMessage)
	case seconds > MaxSeconds:
		return newError(ErrTooLong, field, "%s", DurationMessage)
	}
	return nil
}

// Blocks returns the number of started 5-second blocks in seconds:
// ceil(seconds / 5). Exact multiples of 5 are not rounded up (15 s is 3
// blocks), anything above is (15.000000001 s is 4). seconds must be in
// (0, 120]; NaN, ±Inf, zero and negative values return an *Error of kind
// ErrInvalidSeconds, more than 120 one of kind ErrTooLong.
func Blocks(seconds float64) (int, error) {
	if err := checkSeconds(seconds, FieldDuration); err != nil {
		return 0, err
	}
	// IEEE division is correctly rounded, so 5k/5 is exactly k, and the next
	// float above 5k divided by 5 is strictly above k: Ceil is exact here.
	return int(math.Ceil(seconds / BlockSeconds)), nil
}

// Credits returns what a swap of seconds at res costs: Blocks(seconds) ×
// res.Rate(). It returns the errors of Blocks, or an *Error of kind
// ErrInvalidResolution for an unknown resolution.
func Credits(seconds float64, res Resolution) (int, error) {
	e, err := Quote(seconds, res)
	if err != nil {
		return 0, err
	}
	return e.Credits, nil
}

// Estimate is a priced swap, with the parts the form shows.
type Estimate struct {
	Seconds    float64    // billed seconds (the effective duration)
	Blocks     int        // started 5-second blocks
	Rate       int        // credits per block at Resolution
	Credits    int        // Blocks × Rate
	Resolution Resolution // the priced resolution
	Detected   bool       // Seconds came from the video, not from the member
}

// Quote prices seconds at res. Errors are those of Blocks and Credits.
func Quote(seconds float64, res Resolution) (Estimate, error) {
	rate := res.Rate()
	if rate == 0 {
		return Estimate{}, newError(ErrInvalidResolution, FieldResolution, "choose 480p, 720p or 1080p")
	}
	blocks, err := Blocks(seconds)
	if err != nil {
		return Estimate{}, err
	}
	return Estimate{Seconds: seconds, Blocks: blocks, Rate: rate, Credits: blocks * rate, Resolution: res}, nil
}

// EffectiveSeconds returns the length Akool will bill: the member's requested
// duration if given, otherwise the duration detected from the video, and the
// smaller of the two if both are known. A nil pointer means "not known";
// a detected value that is NaN, infinite or <= 0 is treated as not known.
//
// Errors (all *Error): a requested value outside [1, 120] (ErrInvalidSeconds
// or ErrTooLong, Field "duration"); no usable value at all (ErrNoDuration,
// Field "duration"); only a detected length above 120 s (ErrTooLong, Field
// "duration" too: the message asks for a duration of at most 120, which is
// the fix, so it belongs next to that field).
func EffectiveSeconds(requested, detected *float64) (float64, error) {
	if detected != nil && (math.IsNaN(*detected) || math.IsInf(*detected, 0) || *detected <= 0) {
		detected = nil
	}
	if requested != nil {
		if err := CheckRequested(*requested); err != nil {
			return 0, err
		}
		if detected != nil && *detected < *requested {
			return *detected, nil
		}
		return *requested, nil
	}
	if detected == nil {
		return 0, newError(ErrNoDuration, FieldDuration, "enter the duration — the video's length is not known")
	}
	if *detected > MaxSeconds {
		return 0, newError(ErrTooLong, FieldDuration,
			"the video is %s s long — set a duration of at most %d to use the first %d s",
			// Round up so 120.04 s does not read "120 s long".
			strconv.FormatFloat(math.Ceil(*detected*100)/100, 'f', -1, 64), MaxSeconds, MaxSeconds)
	}
	return *detected, nil
}

// EstimateFor combines EffectiveSeconds and Quote: the bill for a form with an
// optional requested duration, an optional detected one, and res. It returns
// the errors of both.
func EstimateFor(requested, detected *float64, res Resolution) (Estimate, error) {
	if res.Rate() == 0 {
		return Estimate{}, newError(ErrInvalidResolution, FieldResolution, "choose 480p, 720p or 1080p")
	}
	s, err := EffectiveSeconds(requested, detected)
	if err != nil {
		return Estimate{}, err
	}
	e, err := Quote(s, res)
	if err != nil {
		return Estimate{}, err
	}
	e.Detected = requested == nil || s != *requested
	return e, nil
}

// CheckRequested validates a duration typed by a member: finite and within
// [1, 120] seconds, as Akool requires. Errors are *Error values with Field
// "duration", kind ErrInvalidSeconds or ErrTooLong, and DurationMessage.
func CheckRequested(seconds float64) error {
	if err := checkSeconds(seconds, FieldDuration); err != nil {
		return err
	}
	if seconds < MinRequestedSeconds {
		return newError(ErrInvalidSeconds, FieldDuration, "%s", DurationMessage)
	}
	return nil
}

// ParseSeconds parses the optional duration field. An empty (or all-space)
// value returns ok == false and no error. Otherwise it accepts plain decimal
// seconds ("12", "12.5", "12 s") and checks them with CheckRequested. Anything
// else ("abc", "-5", "1e2", "0x10", "NaN") returns an *Error of kind
// ErrInvalidSeconds. Every error carries DurationMessage.
func ParseSeconds(s string) (seconds float64, ok bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false, nil
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "s"))
	if !isPlainDecimal(s) {
		return 0, false, newError(ErrInvalidSeconds, FieldDuration, "%s", DurationMessage)
	}
	v, perr := strconv.ParseFloat(s, 64)
	if perr != nil {
		return 0, false, newError(ErrInvalidSeconds, FieldDuration, "%s", DurationMessage)
	}
	if err := CheckRequested(v); err != nil {
		return 0, false, err
	}
	return v, true, nil
}

// isPlainDecimal reports whether s is digits with at most one decimal point
// and at least one digit, and not absurdly long.
func isPlainDecimal(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	digits, dots := 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// FormatSeconds formats seconds for people: at most one decimal, no trailing
// ".0" (12 -> "12", 10.5 -> "10.5", 10.04 -> "10").
func FormatSeconds(seconds float64) string {
	return strconv.FormatFloat(math.Round(seconds*10)/10, 'f', -1, 64)
}

// SaverMaxOverSeconds is how far a length may run into its last 5-second
// block for the estimate to offer the shorter length ("a little over"): at
// most 1 s, a fifth of a block. Then the member pays a whole block for at
// most a second of video, and cutting that second rarely matters; a length
// further into its last block is left alone, since cutting 2 s or more off
// the end of a motion is a real change to the result.
const SaverMaxOverSeconds = 1.0

// Saving is a cheaper length the estimate offers: Seconds, a whole number of
// blocks, saves Credits (one block at the quoted rate).
type Saving struct {
	Seconds int
	Credits int
}

// SavingFor returns the cheaper length for e when e's last started block
// holds at most SaverMaxOverSeconds of video and at least one whole block
// is left (15.4 s at 720p: use 15 s and save 10 credits). Akool bills the
// duration sent, so sending Seconds really costs one block less. ok is false
// otherwise: an exact multiple of 5 s, further over than that, or under 6 s.
func SavingFor(e Estimate) (s Saving, ok bool) {
	if e.Blocks < 2 || e.Rate <= 0 {
		return Saving{}, false
	}
	whole := (e.Blocks - 1) * BlockSeconds
	over := e.Seconds - float64(whole)
	if over <= 0 || over > SaverMaxOverSeconds {
		return Saving{}, false
	}
	return Saving{Seconds: whole, Credits: e.Rate}, true
}
