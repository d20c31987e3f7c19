// Package tokens makes, checks and revokes members' personal API tokens.
//
// A token is "sd_" followed by 256 random bits in base64url. Only its
// SHA-256 is stored, so a copy of the database holds no working token. The
// rules (scopes, the required expiry and its longest life, the once-a-minute
// "last used" write) live here; db stores what was decided.
package tokens

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// Scopes a token can carry.
const (
	JobsRead    = "jobs:read"
	JobsWrite   = "jobs:write"
	GalleryRead = "gallery:read"
)

// AllScopes lists the scopes in the order forms and documents show them.
var AllScopes = []string{JobsRead, JobsWrite, GalleryRead}

// Token lifetimes, in days. A token must expire.
const (
	DefaultDays = 90
	MaxDays     = 365
	MaxName     = 100
)

// Prefix starts every token.
const Prefix = "sd_"

// secretBytes is the random part's length: 256 bits, 43 base64url chars.
const secretBytes = 32

// shownPrefix is how many characters of a token lists show ("sd_" and 6).
const shownPrefix = len(Prefix) + 6

// ErrUnauthorized is every failed Authenticate: a missing, malformed,
// unknown, expired or revoked token, or a disabled member's. It does not
// say which.
var ErrUnauthorized = errors.New("unauthorized")

// Store is what the service needs from the database.
type Store interface {
	CreateToken(ctx context.Context, actorID int64, t db.APIToken, tokenHash []byte, formKey, ip string) (db.APIToken, bool, error)
	TokenByHash(ctx context.Context, tokenHash []byte, now time.Time) (db.APIToken, db.User, error)
	TouchToken(ctx context.Context, id int64, now time.Time) error
	TokensForUser(ctx context.Context, userID int64) ([]db.APIToken, error)
	AllTokens(ctx context.Context, now time.Time) ([]db.APIToken, error)
	RevokeToken(ctx context.Context, v db.Viewer, id int64, ip string) (db.APIToken, error)
}

// Service makes, checks and revokes tokens.
type Service struct {
	store Store
	now   func() time.Time
}

// New returns a Service; now is the clock (nil: time.Now).
func New(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

// Request is a token as a member asked for it, fields as typed.
type Request struct {
	Name   string
	Scopes []string
	Days   string // "" means DefaultDays
	// FormKey is the asking form's one-time key (NewFormKey): a form
	// posted again (a reload of the answer) makes no second token. ""
	// (a post without one, as before forms had it) makes a token each time.
	FormKey string
}

// Created is a new token: Secret is shown once and never stored.
type Created struct {
	Token  db.APIToken
	Secret string
	// Again: the form was used before; Token is the token it made then,
	// and Secret is empty, because it cannot be shown again.
	Again bool
}

// NewFormKey returns a new one-time key for a form that makes a token.
func NewFormKey() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// validFormKey: none, or 16 to 64 base64url characters, as NewFormKey
// makes (and the New swap form's key, newToken, too).
func validFormKey(k string) bool {
	if k == "" {
		return true
	}
	if len(k) < 16 || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// formOutOfDate is the message of a create with a malformed form key.
const formOutOfDate = "This form was out of date, so no token was made. It has been renewed: check the values below and press Make token again."

// Create makes a token for member userID (the actor is who asked: the
// member), or returns an *apperr.Invalid naming each bad field, and then
// writes nothing. A malformed form key is an *apperr.Invalid without
// fields. A form key already used makes nothing: it returns the
// token made then, with Again set and no secret.
func (s *Service) Create(ctx context.Context, actorID, userID int64, r Request, ip string) (Created, error) {
	if !validFormKey(r.FormKey) {
		return Created{}, &apperr.Invalid{Message: formOutOfDate}
	}
	fe := apperr.FieldErrors{}
	name := strings.TrimSpace(r.Name)
	switch {
	case name == "":
		fe.Add(fields.Name, "Give the token a name, like “nightly batch”, so you can tell it apart later.")
	case utf8.RuneCountInString(name) > MaxName || !utf8.ValidString(name) || strings.ContainsFunc(name, isControl):
		fe.Add(fields.Name, fmt.Sprintf("A token's name is at most %d characters of plain text.", MaxName))
	}
	scopes, err := ParseScopes(r.Scopes)
	if err != nil {
		fe.Add(fields.Scopes, err.Error())
	}
	days, err := ParseDays(r.Days)
	if err != nil {
		fe.Add(fields.TokenDays, err.Error())
	}
	if fe.Any() {
		return Created{}, &apperr.Invalid{Message: "The token was not created: see the fields marked below.", Fields: fe}
	}
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return Created{}, err
	}
	secret := Prefix + base64.RawURLEncoding.EncodeToString(b)
	hash := sha256.Sum256([]byte(secret))
	t, created, err := s.store.CreateToken(ctx, actorID, db.APIToken{
		UserID:    userID,
		Name:      name,
		Scopes:    strings.Join(scopes, " "),
		Prefix:    secret[:shownPrefix],
		ExpiresAt: s.now().Add(time.Duration(days) * 24 * time.Hour),
	}, hash[:], r.FormKey, ip)
	if err != nil {
		return Created{}, err
	}
	if !created {
		return Created{Token: t, Again: true}, nil
	}
	return Created{Token: t, Secret: secret}, nil
}

// message is an error whose text is a whole sentence for people.
type message string

func (m message) Error() string { return string(m) }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// ParseScopes returns the scopes asked for, known ones only, in AllScopes'
// order without repeats; none or an unknown one is an error whose message
// may be shown.
func ParseScopes(asked []string) ([]string, error) {
	var out []string
	for _, a := range asked {
		if !slices.Contains(AllScopes, a) {
			return nil, message(fmt.Sprintf("%q is not a scope; the scopes are %s.", a, strings.Join(AllScopes, ", ")))
		}
	}
	for _, sc := range AllScopes {
		if slices.Contains(asked, sc) {
			out = append(out, sc)
		}
	}
	if len(out) == 0 {
		return nil, message("Choose at least one scope: what the token may do.")
	}
	return out, nil
}

// ParseDays reads a token's life as typed: empty means DefaultDays;
// otherwise a whole number of days from 1 to MaxDays.
func ParseDays(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultDays, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxDays {
		return 0, message(fmt.Sprintf("A token expires after a whole number of days from 1 to %d (a year), like %d.", MaxDays, DefaultDays))
	}
	return n, nil
}

// Principal is who a good token speaks for, and what it may do.
type Principal struct {
	Token db.APIToken
	User  db.User
}

// Can reports whether the token carries scope.
func (p Principal) Can(scope string) bool {
	return slices.Contains(strings.Fields(p.Token.Scopes), scope)
}

// Authenticate returns who the bearer token raw speaks for, or an error
// wrapping ErrUnauthorized: malformed, unknown, expired, revoked and a
// disabled member's token all look the same.
//
// The lookup is by the token's SHA-256 through a unique index: an attacker
// cannot choose the hashes compared, so the index walk leaks nothing useful
// about stored tokens; the found hash is compared again in constant time.
// A token's last use is recorded at most once a minute.
func (s *Service) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if !WellFormed(raw) {
		return Principal{}, ErrUnauthorized
	}
	hash := sha256.Sum256([]byte(raw))
	now := s.now()
	t, u, err := s.store.TokenByHash(ctx, hash[:], now)
	if errors.Is(err, apperr.ErrNotFound) {
		return Principal{}, ErrUnauthorized
	}
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.Hash, hash[:]) != 1 {
		return Principal{}, ErrUnauthorized
	}
	if now.Sub(t.LastUsedAt) >= time.Minute {
		if err := s.store.TouchToken(ctx, t.ID, now); err != nil {
			return Principal{}, fmt.Errorf("token last used: %w", err)
		}
		t.LastUsedAt = now
	}
	return Principal{Token: t, User: u}, nil
}

// WellFormed reports whether raw could be one of our tokens, so junk never
// reaches the database.
func WellFormed(raw string) bool {
	secret, ok := strings.CutPrefix(raw, Prefix)
	if !ok || len(secret) != base64.RawURLEncoding.EncodedLen(secretBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(secret)
	return err == nil
}

// ForUser lists member userID's tokens, newest first.
func (s *Service) ForUser(ctx context.Context, userID int64) ([]db.APIToken, error) {
	return s.store.TokensForUser(ctx, userID)
}

// AllActive lists every member's tokens still usable, for an admin.
func (s *Service) AllActive(ctx context.Context) ([]db.APIToken, error) {
	return s.store.AllTokens(ctx, s.now())
}

// Revoke ends token id at once. Only its owner or an admin may; anyone
// else gets an error wrapping apperr.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, v db.Viewer, id int64, ip string) (db.APIToken, error) {
	return s.store.RevokeToken(ctx, v, id, ip)
}

// Active reports whether t still works at now (its owner aside).
func (s *Service) Active(t db.APIToken) bool {
	return t.RevokedAt.IsZero() && s.now().Before(t.ExpiresAt)
}
