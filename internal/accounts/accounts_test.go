package accounts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/apperr"
)

func TestHashAndCheckPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Errorf("hash %q is not a PHC argon2id string", h)
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: salt missing")
	}
	tests := []struct {
		name, hash, pw string
		ok             bool
		wantErr        bool
	}{
		{"right", h, "correct horse battery", true, false},
		{"wrong", h, "correct horse batterY", false, false},
		{"empty", h, "", false, false},
		{"garbage hash", "not-a-hash", "x", false, true},
		{"bcrypt-looking hash", "$2a$10$abcdefghijklmnopqrstuu", "x", false, true},
		{"absurd memory", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5", "x", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.hash, tt.pw)
			if ok != tt.ok || (err != nil) != tt.wantErr {
				t.Errorf("CheckPassword = %v, %v; want %v, err %v", ok, err, tt.ok, tt.wantErr)
			}
		})
	}
}

// openService opens (or reopens) the database at path, as a start of the
// app does, and returns a Service over it on a fixed clock. Its password
// check is instant and knows one password, ownerPW: these tests are about
// counting attempts, not hashing.
func openService(t *testing.T, path string) (*Service, *db.DB) {
	t.Helper()
	store := dbtest.OpenFile(t, path)
	clock := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	s := New(store, nil, func() time.Time { return clock })
	s.checkPassword = func(_, password string) (bool, error) { return password == ownerPW, nil }
	return s, store
}

func isTooMany(err error) bool {
	var tm *apperr.TooMany
	return errors.As(err, &tm)
}

const (
	owner     = "ana@example.com"
	ownerPW   = "the right password"
	attacker  = "203.0.113.66"
	ownerAddr = "198.51.100.7"
)

// failFrom makes n wrong sign-ins to owner from ip, each refused as wrong.
func failFrom(t *testing.T, s *Service, ip string, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.Authenticate(context.Background(), owner, "a wrong password", ip); err != ErrBadCredentials {
			t.Fatalf("wrong password %d from %s: %v, want ErrBadCredentials", i+1, ip, err)
		}
	}
}

func newOwner(t *testing.T, s *Service) {
	t.Helper()
	if _, err := s.CreateUser(context.Background(), 0, NewUser{Email: owner, Name: "Ana", Password: ownerPW}); err != nil {
		t.Fatal(err)
	}
}

// An attacker at one address locks only that address out of the account:
// the owner still signs in from another.
func TestAttackerAtOneAddressDoesNotLockOutTheOwner(t *testing.T) {
	s, _ := openService(t, filepath.Join(t.TempDir(), "swapdesk.db"))
	ctx := context.Background()
	newOwner(t, s)
	failFrom(t, s, attacker, accountIPFailures)
	if _, err := s.Authenticate(ctx, owner, ownerPW, attacker); !isTooMany(err) {
		t.Errorf("right password from the attacker's address: %v, want TooMany", err)
	}
	if _, err := s.Authenticate(ctx, owner, ownerPW, ownerAddr); err != nil {
		t.Errorf("the owner from another address: %v, want signed in", err)
	}
	// The owner's success does not reset the attacker's count.
	if _, err := s.Authenticate(ctx, owner, "a wrong password", attacker); !isTooMany(err) {
		t.Errorf("the attacker after the owner signed in: %v, want TooMany", err)
	}
}

// Many addresses together still meet a limit on the account.
func TestAccountLimitAcrossAddresses(t *testing.T) {
	s, _ := openService(t, filepath.Join(t.TempDir(), "swapdesk.db"))
	ctx := context.Background()
	newOwner(t, s)
	for i := range accountFailures / accountIPFailures {
		failFrom(t, s, fmt.Sprintf("203.0.113.%d", i), accountIPFailures)
	}
	if _, err := s.Authenticate(ctx, owner, ownerPW, ownerAddr); !isTooMany(err) {
		t.Errorf("after %d failures from %d addresses, the owner: %v, want TooMany", accountFailures, accountFailures/accountIPFailures, err)
	}
	if err := s.Unlock(ctx, 0, owner); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, owner, ownerPW, ownerAddr); err != nil {
		t.Errorf("the owner after unlock: %v, want signed in", err)
	}
}

// The counts are in the database: a restart neither forgets the attacker
// nor loses a count.
func TestLoginCountsSurviveARestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "swapdesk.db")
	s, store := openService(t, path)
	newOwner(t, s)
	failFrom(t, s, attacker, accountIPFailures-1)
	store.Close()

	s, store = openService(t, path)
	failFrom(t, s, attacker, 1)
	store.Close()

	s, _ = openService(t, path)
	if _, err := s.Authenticate(context.Background(), owner, ownerPW, attacker); !isTooMany(err) {
		t.Errorf("after %d failures across two restarts: %v, want TooMany", accountIPFailures, err)
	}
}

func TestUnlockClearsALockout(t *testing.T) {
	s, store := openService(t, filepath.Join(t.TempDir(), "swapdesk.db"))
	ctx := context.Background()
	newOwner(t, s)
	failFrom(t, s, ownerAddr, accountIPFailures)
	if _, err := s.Authenticate(ctx, owner, ownerPW, ownerAddr); !isTooMany(err) {
		t.Fatalf("locked out owner: %v, want TooMany", err)
	}
	if err := s.Unlock(ctx, 0, "  ANA@example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, owner, ownerPW, ownerAddr); err != nil {
		t.Errorf("after unlock: %v, want signed in", err)
	}
	entries, err := store.RecentAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == db.AuditLoginUnlocked && e.Subject == owner && e.ActorID == 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no login_unlocked audit entry by the command line for %s in %+v", owner, entries)
	}
	if err := s.Unlock(ctx, 0, "ghost@example.com"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unlock an unknown email: %v, want ErrNotFound", err)
	}
}

func newTestService(t *testing.T) *Service {
	t.Helper()
	store := dbtest.Open(t)
	clock := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	return New(store, nil, func() time.Time { return clock })
}

// burst runs n sign-ins at once while every password check is held at a
// gate, and opens the gate only when each of the n has either reached a
// check or returned. So every attempt overlaps every other, without sleeps.
func burst(t *testing.T, s *Service, n int, attempt func(i int) error) (errs []error, checked int) {
	t.Helper()
	events := make(chan struct{}, 2*n)
	gate := make(chan struct{})
	var inCheck atomic.Int32
	s.checkPassword = func(encoded, password string) (bool, error) {
		inCheck.Add(1)
		events <- struct{}{}
		<-gate
		return CheckPassword(encoded, password)
	}
	results := make(chan error, n)
	for i := range n {
		go func() {
			err := attempt(i)
			events <- struct{}{}
			results <- err
		}()
	}
	// Until the gate opens no checked attempt can return, so the first n
	// events are one per attempt.
	for range n {
		<-events
	}
	close(gate)
	for range n {
		errs = append(errs, <-results)
	}
	return errs, int(inCheck.Load())
}

func TestParallelBurstChecksAtMostTheLimit(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, 0, NewUser{Email: "ana@example.com", Name: "Ana", Password: "the right password"}); err != nil {
		t.Fatal(err)
	}
	s.hashing = make(chan struct{}, 100) // this test is about the limit, not the slots
	errs, checked := burst(t, s, 40, func(int) error {
		_, err := s.Authenticate(ctx, "ana@example.com", "a wrong password", "192.0.2.1")
		return err
	})
	var bad, tooMany int
	for _, err := range errs {
		var tm *apperr.TooMany
		switch {
		case err == ErrBadCredentials:
			bad++
		case errors.As(err, &tm):
			tooMany++
		default:
			t.Errorf("unexpected answer %v", err)
		}
	}
	if checked != accountIPFailures || bad != accountIPFailures || tooMany != 40-accountIPFailures {
		t.Errorf("40 parallel wrong passwords: %d checked, %d refused as wrong, %d told to wait; want %d, %d, %d",
			checked, bad, tooMany, accountIPFailures, accountIPFailures, 40-accountIPFailures)
	}
	s.checkPassword = CheckPassword
	var tm *apperr.TooMany
	if _, err := s.Authenticate(ctx, "ana@example.com", "the right password", "192.0.2.1"); !errors.As(err, &tm) {
		t.Errorf("right password after the burst: %v, want TooMany", err)
	}
}

func TestPasswordChecksBeyondTheSlotsAreRefusedNotQueued(t *testing.T) {
	s := newTestService(t)
	ctx := context.Background()
	s.hashing = make(chan struct{}, 2)
	answers := make([]error, 10) // by attempt; read only after burst returns
	_, checked := burst(t, s, 10, func(i int) error {
		_, err := s.Authenticate(ctx, fmt.Sprintf("user%d@example.com", i), "a wrong password", fmt.Sprintf("192.0.2.%d", i))
		answers[i] = err
		return err
	})
	var busy []int
	for i, err := range answers {
		if err == errBusy {
			busy = append(busy, i)
		}
	}
	if checked != 2 || len(busy) != 8 {
		t.Fatalf("10 sign-ins with 2 slots: %d checked, %d told the server is busy; want 2 and 8", checked, len(busy))
	}
	// A refused attempt was never judged, so it does not count: each of
	// those accounts still has all its attempts.
	s.checkPassword = func(string, string) (bool, error) { return false, nil }
	for _, i := range busy {
		email, ip := fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("198.51.100.%d", i)
		for n := range accountIPFailures {
			if _, err := s.Authenticate(ctx, email, "a wrong password", ip); err != ErrBadCredentials {
				t.Fatalf("%s, attempt %d after the burst: %v, want ErrBadCredentials", email, n+1, err)
			}
		}
	}
}

func TestNewUserValidation(t *testing.T) {
	ok := NewUser{Email: "a@example.com", Name: "A", Password: "long enough pw"}
	tests := []struct {
		name  string
		edit  func(*NewUser)
		field string
	}{
		{"valid", func(*NewUser) {}, ""},
		{"no email", func(n *NewUser) { n.Email = "" }, "email"},
		{"not an email", func(n *NewUser) { n.Email = "nope" }, "email"},
		{"display-name email", func(n *NewUser) { n.Email = "Ana <a@example.com>" }, "email"},
		{"long email", func(n *NewUser) { n.Email = strings.Repeat("a", 250) + "@example.com" }, "email"},
		{"no name", func(n *NewUser) { n.Name = "" }, "name"},
		{"long name", func(n *NewUser) { n.Name = strings.Repeat("é", 101) }, "name"},
		{"control char in name", func(n *NewUser) { n.Name = "a\x00b" }, "name"},
		{"short password", func(n *NewUser) { n.Password = "short" }, "password"},
		{"huge password", func(n *NewUser) { n.Password = strings.Repeat("p", 257) }, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := ok
			tt.edit(&n)
			err := n.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid user: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("err = %v, want a message on %s", err, tt.field)
			}
		})
	}
}
