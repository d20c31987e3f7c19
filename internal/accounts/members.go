package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// MemberStore is what the admin's member acts need beyond Store.
type MemberStore interface {
	SetRole(ctx context.Context, userID int64, role string, audit db.AuditEntry) error
	CreateSigninLink(ctx context.Context, tokenHash string, userID int64, expires time.Time, audit db.AuditEntry) error
	SigninLinkByHash(ctx context.Context, tokenHash string) (db.SigninLink, error)
	UseSigninLink(ctx context.Context, tokenHash string, now time.Time, passwordHash string, audit db.AuditEntry) (db.User, error)
	SetTimeZone(ctx context.Context, userID int64, tz string, audit db.AuditEntry) error
}

// Members carries out the admin's acts on members and the member's acts
// on their own account, each validated and audited with who acted, on
// whom, the values and the address.
type Members struct {
	*Service
	ms MemberStore
}

// NewMembers returns Members over the accounts service and ms.
func NewMembers(s *Service, ms MemberStore) *Members { return &Members{Service: s, ms: ms} }

// LinkTTL is how long a one-time sign-in link works.
const LinkTTL = 72 * time.Hour

// Field names of the members forms.
const (
	FieldEmail    = fields.Email
	FieldName     = fields.Name
	FieldRole     = fields.Role
	FieldCurrent  = fields.Current
	FieldNew      = fields.New
	FieldTimeZone = fields.TimeZone
)

// Actor is who acts and from where, for the audit log.
type Actor struct {
	ID int64
	IP string
}

// Added is a new member and how they get in: a password shown once, or a
// one-time link token (to be put in /welcome/TOKEN).
type Added struct {
	User     db.User
	Password string
	Token    string
	Expires  time.Time
}

// AddMember creates a member (role member or admin). With link, it makes a
// one-time sign-in link valid for LinkTTL instead of a password the admin
// hands over. Errors: *apperr.Invalid (FieldEmail, FieldName, FieldRole).
func (m *Members) AddMember(ctx context.Context, a Actor, email, name, role string, link bool) (Added, error) {
	if role != db.RoleAdmin && role != db.RoleMember {
		fe := apperr.FieldErrors{FieldRole: "Choose member or admin."}
		NewUser{Email: NormalizeEmail(email), Name: strings.TrimSpace(name), Password: "long-enough-placeholder"}.validateInto(fe)
		return Added{}, apperr.Fields(fe)
	}
	pw := GeneratePassword()
	u, err := m.createUser(ctx, a.ID, a.IP, NewUser{Email: email, Name: name, Admin: role == db.RoleAdmin, Password: pw})
	if err != nil {
		return Added{}, err
	}
	if !link {
		return Added{User: u, Password: pw}, nil
	}
	tok, hash := newLinkToken()
	exp := m.now().Add(LinkTTL)
	if err := m.ms.CreateSigninLink(ctx, hash, u.ID, exp, db.AuditEntry{ActorID: a.ID, Action: db.AuditSigninLink,
		Subject: u.Email, IP: a.IP, Detail: fmt.Sprintf("member=%d expires=%s", u.ID, exp.UTC().Format(time.RFC3339))}); err != nil {
		return Added{}, err
	}
	return Added{User: u, Token: tok, Expires: exp}, nil
}

func (n NewUser) validateInto(fe apperr.FieldErrors) {
	validateEmail(fe, n.Email)
	validateName(fe, n.Name)
}

// newLinkToken returns a token of 256 random bits and its SHA-256 (hex),
// which is all the database keeps.
func newLinkToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// GeneratePassword returns a random password of 20 characters (about 119
// bits), easy to read aloud: no 0/O or 1/l.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// Link states.
var (
	ErrLinkUnknown = &apperr.Invalid{Message: "This sign-in link is not valid. Check that it was copied whole, or ask an admin for a new one."}
	ErrLinkUsed    = &apperr.Invalid{Message: "This sign-in link has already been used. Sign in with your password, or ask an admin for a new link."}
	ErrLinkExpired = &apperr.Invalid{Message: "This sign-in link has expired (links work for 72 hours). Ask an admin for a new one."}
)

// CheckLink returns the member a sign-in link is for, or ErrLinkUnknown,
// ErrLinkUsed or ErrLinkExpired.
func (m *Members) CheckLink(ctx context.Context, token string) (db.User, error) {
	if token == "" || len(token) > 100 {
		return db.User{}, ErrLinkUnknown
	}
	l, err := m.ms.SigninLinkByHash(ctx, hashToken(token))
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		return db.User{}, ErrLinkUnknown
	case err != nil:
		return db.User{}, err
	case !l.UsedAt.IsZero():
		return db.User{}, ErrLinkUsed
	case !m.now().Before(l.ExpiresAt):
		return db.User{}, ErrLinkExpired
	}
	return m.store.UserByID(ctx, l.UserID)
}

// UseLink sets the member's password through a sign-in link, once, and
// returns the member to sign in. Errors: *apperr.Invalid (FieldNew) for a
// weak password; the link errors of CheckLink.
func (m *Members) UseLink(ctx context.Context, token, password, ip string) (db.User, error) {
	if _, err := m.CheckLink(ctx, token); err != nil {
		return db.User{}, err
	}
	hash, err := m.newPasswordHash(password)
	if err != nil {
		return db.User{}, err
	}
	u, err := m.ms.UseSigninLink(ctx, hashToken(token), m.now(), hash, db.AuditEntry{Action: db.AuditSigninLinkUsed, IP: ip})
	if errors.Is(err, apperr.ErrNotFound) {
		// Used or expired between the check and now.
		return db.User{}, ErrLinkUsed
	}
	return u, err
}

func (m *Members) newPasswordHash(pw string) (string, error) {
	fe := apperr.FieldErrors{}
	validatePassword(fe, pw)
	if msg, ok := fe["password"]; ok {
		return "", apperr.Fields(apperr.FieldErrors{FieldNew: msg})
	}
	return m.hashPassword(pw)
}

// ErrLastAdminRole and ErrLastAdminDisable are the answers when a change
// would leave the team without an active admin.
var (
	ErrLastAdminRole    = apperr.Fields(apperr.FieldErrors{FieldRole: "This is the last active admin: make someone else an admin first."})
	ErrLastAdminDisable = &apperr.Invalid{Message: "This is the last active admin and cannot be disabled: make someone else an admin first."}
)

// SetRole makes memberID a member or an admin. Errors: *apperr.Invalid
// (FieldRole) for an unknown role or for demoting the last active admin
// (checked in the same transaction as the change); apperr.ErrNotFound.
func (m *Members) SetRole(ctx context.Context, a Actor, memberID int64, role string) error {
	if role != db.RoleAdmin && role != db.RoleMember {
		return apperr.Fields(apperr.FieldErrors{FieldRole: "Choose member or admin."})
	}
	u, err := m.store.UserByID(ctx, memberID)
	if err != nil {
		return err
	}
	err = m.ms.SetRole(ctx, memberID, role, db.AuditEntry{ActorID: a.ID, Action: db.AuditRoleChanged, Subject: u.Email, IP: a.IP,
		Detail: fmt.Sprintf("member=%d role=%s was=%s", memberID, role, u.Role)})
	if errors.Is(err, db.ErrLastAdmin) {
		return ErrLastAdminRole
	}
	return err
}

// SetMemberDisabled disables (ending their sessions at once) or enables
// memberID. Errors: ErrLastAdminDisable; apperr.ErrNotFound.
func (m *Members) SetMemberDisabled(ctx context.Context, a Actor, memberID int64, disabled bool) error {
	u, err := m.store.UserByID(ctx, memberID)
	if err != nil {
		return err
	}
	if err := m.store.SetDisabled(ctx, memberID, disabled); errors.Is(err, db.ErrLastAdmin) {
		return ErrLastAdminDisable
	} else if err != nil {
		return err
	}
	action := db.AuditUserEnabled
	if disabled {
		action = db.AuditUserDisabled
	}
	m.audit(ctx, db.AuditEntry{ActorID: a.ID, Action: action, Subject: u.Email, IP: a.IP, Detail: fmt.Sprintf("member=%d", memberID)})
	return nil
}

// ResetPassword gives memberID a new generated password, ending their
// sessions, and returns it (to be shown once).
func (m *Members) ResetPassword(ctx context.Context, a Actor, memberID int64) (string, error) {
	u, err := m.store.UserByID(ctx, memberID)
	if err != nil {
		return "", err
	}
	pw := GeneratePassword()
	hash, err := m.hashPassword(pw)
	if err != nil {
		return "", err
	}
	if err := m.store.SetPassword(ctx, memberID, hash); err != nil {
		return "", err
	}
	m.audit(ctx, db.AuditEntry{ActorID: a.ID, Action: db.AuditPasswordReset, Subject: u.Email, IP: a.IP, Detail: fmt.Sprintf("member=%d by=admin", memberID)})
	return pw, nil
}

// UnlockMember clears memberID's sign-in lockout from every address.
func (m *Members) UnlockMember(ctx context.Context, a Actor, memberID int64) error {
	u, err := m.store.UserByID(ctx, memberID)
	if err != nil {
		return err
	}
	n, err := m.store.ClearLoginAttempts(ctx, u.Email)
	if err != nil {
		return fmt.Errorf("clear sign-in attempts: %w", err)
	}
	m.audit(ctx, db.AuditEntry{ActorID: a.ID, Action: db.AuditLoginUnlocked, Subject: u.Email, IP: a.IP,
		Detail: fmt.Sprintf("member=%d counts=%d", memberID, n)})
	return nil
}

// ChangePassword changes the signed-in person's own password after
// checking the current one, and returns the account as changed (its new
// session version, so the caller keeps this session while every other one
// ends). Errors: *apperr.Invalid (FieldCurrent, FieldNew); *apperr.TooMany
// after as many wrong current passwords as sign-in allows.
func (m *Members) ChangePassword(ctx context.Context, a Actor, current, next string) (db.User, error) {
	u, err := m.store.UserByID(ctx, a.ID)
	if err != nil {
		return db.User{}, err
	}
	// Counted like a sign-in, so a session left open cannot be used to
	// guess the password behind it.
	ticket, allowed, wait, err := m.store.TakeLoginAttempt(ctx, loginLimits(u.Email, a.IP), m.now(), limitWindow)
	if err != nil {
		return db.User{}, fmt.Errorf("count password check: %w", err)
	}
	if !allowed {
		return db.User{}, tooMany(wait)
	}
	ok := false
	if len(current) <= MaxPasswordLen {
		ok, err = m.checkPassword(u.PasswordHash, current)
	}
	if ok && err == nil {
		m.giveBack(ctx, ticket)
	}
	if err != nil || !ok {
		m.audit(ctx, db.AuditEntry{ActorID: u.ID, Action: db.AuditLoginFailed, Subject: u.Email, IP: a.IP, Detail: "password change"})
		return db.User{}, apperr.Fields(apperr.FieldErrors{FieldCurrent: "That is not your current password."})
	}
	hash, err := m.newPasswordHash(next)
	if err != nil {
		return db.User{}, err
	}
	if err := m.store.SetPassword(ctx, u.ID, hash); err != nil {
		return db.User{}, err
	}
	m.audit(ctx, db.AuditEntry{ActorID: u.ID, Action: db.AuditPasswordReset, Subject: u.Email, IP: a.IP, Detail: "by=self"})
	return m.store.UserByID(ctx, u.ID)
}

// MaxTimeZoneLen bounds a time zone name.
const MaxTimeZoneLen = 64

// SetTimeZone sets the zone the person's dates are shown in: an IANA name
// time.LoadLocation knows, or "" for the team's. Errors: *apperr.Invalid
// (FieldTimeZone).
func (m *Members) SetTimeZone(ctx context.Context, a Actor, tz string) error {
	tz = strings.TrimSpace(tz)
	if tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || len(tz) > MaxTimeZoneLen || strings.EqualFold(tz, "local") {
			return apperr.Fields(apperr.FieldErrors{FieldTimeZone: "Enter a time zone name such as Europe/Berlin or America/New_York."})
		}
	}
	u, err := m.store.UserByID(ctx, a.ID)
	if err != nil {
		return err
	}
	return m.ms.SetTimeZone(ctx, a.ID, tz, db.AuditEntry{ActorID: a.ID, Action: db.AuditTimeZoneSet, Subject: u.Email, IP: a.IP,
		Detail: fmt.Sprintf("time_zone=%q", tz)})
}
