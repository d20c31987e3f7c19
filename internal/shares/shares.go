// Package shares makes and resolves public links to one result. A link's
// token is 256 random bits; only its SHA-256 is stored, so a copy of the
// database holds no working link. The rules (default and longest life,
// who may share) live here; db stores what was decided.
package shares

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// Link lifetimes, in days.
const (
	DefaultDays = 7
	MaxDays     = 30
)

// Store is what the service needs from the database.
type Store interface {
	CreateShare(ctx context.Context, v db.Viewer, jobID int64, tokenHash []byte, expires time.Time) (db.Share, error)
	SharedJob(ctx context.Context, tokenHash []byte, now time.Time) (db.Share, db.Job, error)
	SharesForJob(ctx context.Context, jobID int64) ([]db.Share, error)
	RevokeShare(ctx context.Context, v db.Viewer, id int64) (db.Share, error)
}

// Service makes, resolves and revokes share links.
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

// tokenBytes is a token's random length: 256 bits, base64url (43 chars).
const tokenBytes = 32

// ParseDays reads a lifetime as a member typed it: empty means
// DefaultDays; otherwise a whole number from 1 to MaxDays, or an
// *apperr.Invalid saying so.
func ParseDays(raw string) (int, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultDays, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxDays {
		msg := fmt.Sprintf("A link lasts a whole number of days from 1 to %d, like %d.", MaxDays, DefaultDays)
		return 0, &apperr.Invalid{Message: msg, Fields: apperr.FieldErrors{fields.ShareDays: msg}}
	}
	return n, nil
}

// Created is a new link: Token is shown once and never stored.
type Created struct {
	Share db.Share
	Token string
}

// Create makes a link to job jobID for v, lasting days as ParseDays reads
// it. Only the job's owner or an admin may, and only for a result that is
// archived and not deleted: otherwise the error wraps apperr.ErrNotFound.
// Bad days are an *apperr.Invalid and nothing is written.
func (s *Service) Create(ctx context.Context, v db.Viewer, jobID int64, days string) (Created, error) {
	n, err := ParseDays(days)
	if err != nil {
		return Created{}, err
	}
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return Created{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	hash := sha256.Sum256([]byte(token))
	sh, err := s.store.CreateShare(ctx, v, jobID, hash[:], s.now().Add(time.Duration(n)*24*time.Hour))
	if err != nil {
		return Created{}, err
	}
	return Created{Share: sh, Token: token}, nil
}

// Open returns the job a token links to, or an error wrapping
// apperr.ErrNotFound when the token is malformed, unknown, revoked or
// expired, or its job was deleted.
//
// The lookup is by the token's SHA-256, through the unique index: an
// attacker cannot choose the hashes compared, so the index walk leaks
// nothing useful about stored tokens, and revoked, expired and unknown
// tokens take the same single query. A hidden job's link keeps working:
// hiding keeps a result out of the team gallery, and the owner chose to
// share it (revoke the link to stop it).
func (s *Service) Open(ctx context.Context, token string) (db.Share, db.Job, error) {
	if !wellFormed(token) {
		return db.Share{}, db.Job{}, fmt.Errorf("share token: %w", apperr.ErrNotFound)
	}
	hash := sha256.Sum256([]byte(token))
	return s.store.SharedJob(ctx, hash[:], s.now())
}

// wellFormed reports whether token could be one of ours, so junk never
// reaches the database.
func wellFormed(token string) bool {
	if len(token) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(token)
	return err == nil
}

// ForJob lists job jobID's links, newest first (the caller has checked the
// viewer may see the job).
func (s *Service) ForJob(ctx context.Context, jobID int64) ([]db.Share, error) {
	return s.store.SharesForJob(ctx, jobID)
}

// Revoke ends link id at once. Only its job's owner or an admin may;
// anyone else gets an error wrapping apperr.ErrNotFound.
func (s *Service) Revoke(ctx context.Context, v db.Viewer, id int64) (db.Share, error) {
	return s.store.RevokeShare(ctx, v, id)
}

// Active reports whether sh still works at now (its job aside).
func (s *Service) Active(sh db.Share) bool {
	return sh.RevokedAt.IsZero() && s.now().Before(sh.ExpiresAt)
}
