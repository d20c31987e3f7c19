package accounts

import (
	"context"
	"errors"
	"sync"
	"testing"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/apperr"
)

func newMembers(t *testing.T) (*Members, *db.DB) {
	t.Helper()
	store := dbtest.Open(t)
	return NewMembers(New(store, nil, nil), store), store
}

// TestTheLastActiveAdminStays: the last active admin can be neither
// demoted nor disabled; with two admins demoting (or disabling) each other
// at once, exactly one act succeeds, because the check and the change share
// one transaction.
func TestTheLastActiveAdminStays(t *testing.T) {
	ctx := context.Background()
	m, store := newMembers(t)
	a, _ := store.CreateUser(ctx, "a@example.com", "A", db.RoleAdmin, "h")
	if err := m.SetRole(ctx, Actor{}, a.ID, db.RoleMember); fieldOf(err, FieldRole) == "" {
		t.Errorf("demoting the only admin: %v, want a field error", err)
	}
	if err := m.SetMemberDisabled(ctx, Actor{}, a.ID, true); !errors.Is(err, ErrLastAdminDisable) {
		t.Errorf("disabling the only admin: %v", err)
	}
	// A disabled admin does not count.
	b, _ := store.CreateUser(ctx, "b@example.com", "B", db.RoleAdmin, "h")
	if err := store.SetDisabled(ctx, b.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := m.SetRole(ctx, Actor{}, a.ID, db.RoleMember); fieldOf(err, FieldRole) == "" {
		t.Errorf("demoting the only active admin: %v", err)
	}
	if err := m.SetMemberDisabled(ctx, Actor{}, b.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, act := range []struct {
		name string
		do   func(id int64) error
	}{
		{"demote", func(id int64) error { return m.SetRole(ctx, Actor{}, id, db.RoleMember) }},
		{"disable", func(id int64) error { return m.SetMemberDisabled(ctx, Actor{}, id, true) }},
	} {
		for range 20 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, id := range []int64{a.ID, b.ID} {
				wg.Go(func() { errs[i] = act.do(id) })
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				var inv *apperr.Invalid
				switch {
				case err == nil:
					ok++
				case !errors.As(err, &inv):
					t.Fatalf("%s: %v", act.name, err)
				}
			}
			admins, _ := store.ActiveAdmins(ctx)
			if ok != 1 || len(admins) != 1 {
				t.Fatalf("%s both at once: %d succeeded, %d active admins left; want 1 and 1", act.name, ok, len(admins))
			}
			// Back to two active admins.
			for _, id := range []int64{a.ID, b.ID} {
				if err := store.SetDisabled(ctx, id, false); err != nil {
					t.Fatal(err)
				}
				if err := store.SetRole(ctx, id, db.RoleAdmin, db.AuditEntry{}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func fieldOf(err error, field string) string {
	var inv *apperr.Invalid
	if errors.As(err, &inv) {
		return inv.Fields[field]
	}
	return ""
}

func TestSigninLinkTokensAreHashedAndLong(t *testing.T) {
	ctx := context.Background()
	m, store := newMembers(t)
	added, err := m.AddMember(ctx, Actor{}, "n@example.com", "N", db.RoleMember, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(added.Token) < 43 || added.Password != "" {
		t.Errorf("token %q (%d chars), password %q: want >= 256 bits and no password", added.Token, len(added.Token), added.Password)
	}
	if _, err := store.SigninLinkByHash(ctx, added.Token); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("the token itself is stored: %v", err)
	}
	if _, err := store.SigninLinkByHash(ctx, hashToken(added.Token)); err != nil {
		t.Errorf("the token's hash is not stored: %v", err)
	}
}
