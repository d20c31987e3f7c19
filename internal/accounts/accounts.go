// Package accounts signs people in and manages their accounts: password
// hashing, login rate limits, validation of account fields, and the audit
// trail of each act.
package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/mail"
	"runtime"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// Limits on account fields.
const (
	MaxEmailLen    = 254
	MaxNameLen     = 100
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// ErrBadCredentials is returned for any failed sign-in, whatever the reason,
// so the answer does not reveal which accounts exist or are disabled.
var ErrBadCredentials = &apperr.Invalid{Message: "That email and password do not match an active account."}

// Store is what the service needs from the database.
type Store interface {
	CreateUser(ctx context.Context, email, name, role, passwordHash string) (db.User, error)
	UserByEmail(ctx context.Context, email string) (db.User, error)
	UserByID(ctx context.Context, id int64) (db.User, error)
	SetPassword(ctx context.Context, id int64, passwordHash string) error
	SetDisabled(ctx context.Context, id int64, disabled bool) error
	Audit(ctx context.Context, e db.AuditEntry) error
	TakeLoginAttempt(ctx context.Context, limits []db.LoginLimit, now time.Time, window time.Duration) (db.LoginTicket, bool, time.Duration, error)
	GiveBackLoginAttempt(ctx context.Context, t db.LoginTicket) error
	ResetLoginAttempts(ctx context.Context, key string) error
	ClearLoginAttempts(ctx context.Context, email string) (int64, error)
}

// Service signs people in and changes accounts.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	// hashing holds one token per password check in progress.
	hashing chan struct{}
	// checkPassword is CheckPassword; tests hold it to line up a burst.
	checkPassword func(encoded, password string) (bool, error)
	// dummyHash is checked for unknown emails so a miss costs as much time
	// as a wrong password.
	dummyHash string
	// cost is the cost of the hashes the Service makes.
	cost HashCost
}

// Option changes a Service as New makes it.
type Option func(*Service)

// WithHashCost makes the Service hash new passwords (and its timing
// equaliser) at c instead of the default cost. It is for tests, which
// hash hundreds of passwords under the race detector: a cheap hash is a
// weak one, and serve never sets it.
func WithHashCost(c HashCost) Option { return func(s *Service) { s.cost = c } }

// New returns a Service over store. now may be nil for time.Now.
func New(store Store, log *slog.Logger, now func() time.Time, opts ...Option) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		store: store, log: log, now: now,
		hashing:       make(chan struct{}, 2*runtime.GOMAXPROCS(0)),
		checkPassword: CheckPassword,
		cost:          defaultHashCost,
	}
	for _, o := range opts {
		o(s)
	}
	s.dummyHash, _ = s.hashPassword("swapdesk-timing-equaliser")
	return s
}

// hashPassword hashes password at the Service's cost.
func (s *Service) hashPassword(password string) (string, error) {
	return hashPassword(password, s.cost)
}

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// Authenticate checks email and password from ip. It returns the user on
// success; ErrBadCredentials for a wrong password, unknown email or disabled
// account; *apperr.TooMany when the account or address must wait, or when
// too many sign-ins are being checked at once; another error when the
// attempt could not be counted or the account not read.
//
// The attempt is counted (in the store, so a restart keeps it) before the
// password is checked, so parallel requests cannot all slip past the limit
// while the first is still hashing. A success gives its attempt back and
// clears the failures of its account from its address.
func (s *Service) Authenticate(ctx context.Context, email, password, ip string) (db.User, error) {
	email = NormalizeEmail(email)
	oversized := len(email) > MaxEmailLen || len(password) > MaxPasswordLen
	account := email
	if oversized {
		account = "" // no account has it; count the address alone
	}
	ticket, ok, wait, err := s.store.TakeLoginAttempt(ctx, loginLimits(account, ip), s.now(), limitWindow)
	if err != nil {
		return db.User{}, fmt.Errorf("count sign-in attempt: %w", err)
	}
	if !ok {
		return db.User{}, tooMany(wait)
	}
	if oversized {
		return db.User{}, ErrBadCredentials
	}
	// Each check takes ~19 MiB and a core for tens of milliseconds: refuse
	// a burst beyond what the machine can do at once instead of queueing it.
	select {
	case s.hashing <- struct{}{}:
	default:
		s.giveBack(ctx, ticket)
		return db.User{}, errBusy
	}
	u, err := s.store.UserByEmail(ctx, email)
	hash := s.dummyHash
	switch {
	case err == nil:
		hash = u.PasswordHash
	case !errors.Is(err, apperr.ErrNotFound):
		<-s.hashing
		s.giveBack(ctx, ticket)
		return db.User{}, fmt.Errorf("look up user: %w", err)
	}
	ok, herr := s.checkPassword(hash, password)
	<-s.hashing
	if herr != nil {
		s.log.Error("unreadable password hash", "user_id", u.ID, "err", herr)
	}
	if err != nil || !ok || u.Disabled() {
		s.audit(ctx, db.AuditEntry{ActorID: u.ID, Action: db.AuditLoginFailed, Subject: email, IP: ip})
		return db.User{}, ErrBadCredentials
	}
	s.giveBack(ctx, ticket)
	// The account's failures from elsewhere stay counted: the owner signing
	// in must not reset an attacker's count across addresses.
	if err := s.store.ResetLoginAttempts(context.WithoutCancel(ctx), accountIPKey(email, ip)); err != nil {
		s.log.Error("reset sign-in attempts", "err", err)
	}
	s.audit(ctx, db.AuditEntry{ActorID: u.ID, Action: db.AuditLogin, Subject: email, IP: ip})
	return u, nil
}

// Unlock clears the failed sign-in attempts counted against the account
// with email, from every address, so its owner can sign in again at once.
// An address's own count across accounts belongs to no account and stays.
// actorID is the admin acting, or 0 for the command line. It returns an
// error wrapping apperr.ErrNotFound for an unknown email.
func (s *Service) Unlock(ctx context.Context, actorID int64, email string) error {
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return err
	}
	n, err := s.store.ClearLoginAttempts(ctx, u.Email)
	if err != nil {
		return fmt.Errorf("clear sign-in attempts: %w", err)
	}
	s.audit(ctx, db.AuditEntry{ActorID: actorID, Action: db.AuditLoginUnlocked, Subject: u.Email, Detail: fmt.Sprintf("counts=%d", n)})
	return nil
}

// errBusy is the answer when every password-checking slot is taken.
var errBusy = &apperr.TooMany{Message: "Many people are signing in right now. Try again in a moment."}

func tooMany(wait time.Duration) error {
	mins := int(math.Ceil(wait.Minutes()))
	unit := "minutes"
	if mins <= 1 {
		mins, unit = 1, "minute"
	}
	return &apperr.TooMany{Message: fmt.Sprintf("Too many sign-in attempts. Try again in %d %s.", mins, unit)}
}

// NewUser is the input to CreateUser.
type NewUser struct {
	Email    string
	Name     string
	Admin    bool
	Password string
}

// Validate returns *apperr.Invalid with field messages for a bad account.
func (n NewUser) Validate() error {
	fe := apperr.FieldErrors{}
	validateEmail(fe, n.Email)
	validateName(fe, n.Name)
	validatePassword(fe, n.Password)
	return apperr.Fields(fe)
}

func validateEmail(fe apperr.FieldErrors, email string) {
	switch {
	case email == "":
		fe.Add(fields.Email, "Enter an email address.")
	case len(email) > MaxEmailLen:
		fe.Add(fields.Email, fmt.Sprintf("Use an email address of at most %d characters.", MaxEmailLen))
	default:
		a, err := mail.ParseAddress(email)
		if err != nil || a.Address != email || a.Name != "" {
			fe.Add(fields.Email, "Enter an email address like name@example.com.")
		}
	}
}

func validateName(fe apperr.FieldErrors, name string) {
	switch {
	case name == "":
		fe.Add("name", "Enter a name.")
	case utf8.RuneCountInString(name) > MaxNameLen:
		fe.Add("name", fmt.Sprintf("Use a name of at most %d characters.", MaxNameLen))
	case !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		fe.Add("name", "The name contains characters that cannot be shown.")
	}
}

func validatePassword(fe apperr.FieldErrors, pw string) {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		fe.Add(fields.Password, fmt.Sprintf("Use a password of at least %d characters.", MinPasswordLen))
	case len(pw) > MaxPasswordLen:
		fe.Add(fields.Password, fmt.Sprintf("Use a password of at most %d bytes.", MaxPasswordLen))
	}
}

// CreateUser validates and creates an account. actorID is the admin acting,
// or 0 for the command line. It returns *apperr.Invalid for bad fields
// (including a taken email).
func (s *Service) CreateUser(ctx context.Context, actorID int64, n NewUser) (db.User, error) {
	return s.createUser(ctx, actorID, "", n)
}

// createUser is CreateUser with the asker's address for the audit log.
func (s *Service) createUser(ctx context.Context, actorID int64, ip string, n NewUser) (db.User, error) {
	n.Email = NormalizeEmail(n.Email)
	n.Name = strings.TrimSpace(n.Name)
	if err := n.Validate(); err != nil {
		return db.User{}, err
	}
	hash, err := s.hashPassword(n.Password)
	if err != nil {
		return db.User{}, err
	}
	role := db.RoleMember
	if n.Admin {
		role = db.RoleAdmin
	}
	u, err := s.store.CreateUser(ctx, n.Email, n.Name, role, hash)
	if errors.Is(err, apperr.ErrConflict) {
		return db.User{}, apperr.Fields(apperr.FieldErrors{fields.Email: "An account with this email already exists."})
	}
	if err != nil {
		return db.User{}, err
	}
	s.audit(ctx, db.AuditEntry{ActorID: actorID, Action: db.AuditUserCreated, Subject: u.Email, IP: ip, Detail: "role=" + role})
	return u, nil
}

// SetPassword changes the password of the account with email, ending its
// sessions. It returns *apperr.Invalid for a weak password and an error
// wrapping apperr.ErrNotFound for an unknown email.
func (s *Service) SetPassword(ctx context.Context, actorID int64, email, password string) error {
	fe := apperr.FieldErrors{}
	validatePassword(fe, password)
	if err := apperr.Fields(fe); err != nil {
		return err
	}
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return err
	}
	hash, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	s.audit(ctx, db.AuditEntry{ActorID: actorID, Action: db.AuditPasswordReset, Subject: u.Email})
	return nil
}

// SetDisabled disables or re-enables the account with email. Disabling ends
// its sessions at their next request. It returns an error wrapping
// apperr.ErrNotFound for an unknown email.
func (s *Service) SetDisabled(ctx context.Context, actorID int64, email string, disabled bool) error {
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return err
	}
	if err := s.store.SetDisabled(ctx, u.ID, disabled); err != nil {
		return err
	}
	action := db.AuditUserEnabled
	if disabled {
		action = db.AuditUserDisabled
	}
	s.audit(ctx, db.AuditEntry{ActorID: actorID, Action: action, Subject: u.Email})
	return nil
}

// audit records e; a failure to audit is logged, not fatal to the act.
func (s *Service) audit(ctx context.Context, e db.AuditEntry) {
	if err := s.store.Audit(ctx, e); err != nil {
		s.log.Error("audit", "action", e.Action, "err", err)
	}
}
