package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/accounts"
	"swapdesk/internal/apperr"
)

// `user unlock` clears a lockout for good: the counts live in the database,
// so the server sees the change without a restart.
func TestCLIUserUnlock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	if err := run(ctx, []string{"user", "add", "--email", "mo@example.com", "--name", "Mo", "--password-stdin"},
		env(vars), strings.NewReader("mo's long password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	store, err := db.Open(ctx, dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	accts := accounts.New(store, nil, nil)
	signIn := func(password string) error {
		_, err := accts.Authenticate(ctx, "mo@example.com", password, "192.0.2.1")
		return err
	}
	var tooMany *apperr.TooMany
	for i := 0; i < 100 && signIn("a wrong password") == accounts.ErrBadCredentials; i++ {
	}
	if err := signIn("mo's long password"); !errors.As(err, &tooMany) {
		t.Fatalf("locked out: %v, want TooMany", err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"user", "unlock", "--email", "MO@example.com"}, env(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("user unlock: %v", err)
	}
	if got, want := strings.TrimSpace(out.String()), "Cleared the failed sign-ins of mo@example.com from every address; they can sign in again."; got != want {
		t.Errorf("user unlock printed %q, want %q", got, want)
	}
	if err := signIn("mo's long password"); err != nil {
		t.Errorf("sign in after unlock: %v", err)
	}
	entries, err := store.RecentAudit(ctx, 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit: %v, %v", entries, err)
	}
	if e := entries[0]; e.Action != db.AuditLogin {
		t.Errorf("last audit entry %q, want the login after unlock", e.Action)
	}
	entries, _ = store.RecentAudit(ctx, 2)
	if e := entries[1]; e.Action != db.AuditLoginUnlocked || e.Subject != "mo@example.com" || e.ActorID != 0 {
		t.Errorf("audit entry before the login: %+v, want login_unlocked of mo@example.com by the command line", e)
	}

	err = run(ctx, []string{"user", "unlock", "--email", "ghost@example.com"}, env(vars), nil, io.Discard, io.Discard)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "no account") {
		t.Errorf("unlock an unknown account: %v, want a usage error saying there is no account", err)
	}
}
