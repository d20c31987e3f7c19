package accounts

import (
	"strings"
	"testing"
	"time"
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

func TestLimiterWindow(t *testing.T) {
	l := newLimiter(2, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.fail("k", t0)
	if b, _ := l.blocked("k", t0); b {
		t.Fatal("blocked after 1 of 2 failures")
	}
	l.fail("k", t0.Add(time.Second))
	b, wait := l.blocked("k", t0.Add(2*time.Second))
	if !b || wait != 58*time.Second {
		t.Fatalf("after 2 failures: blocked %v, wait %v; want true, 58s", b, wait)
	}
	if b, _ := l.blocked("other", t0); b {
		t.Error("another key is blocked")
	}
	if b, _ := l.blocked("k", t0.Add(time.Minute)); b {
		t.Error("still blocked after the window")
	}
	l.fail("k", t0)
	l.reset("k")
	if b, _ := l.blocked("k", t0); b {
		t.Error("blocked after reset")
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
