package tokens_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/tokens"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func setup(t *testing.T) (*tokens.Service, *db.DB, *clock, db.User) {
	t.Helper()
	d := dbtest.Open(t)
	c := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	d.Now = c.now
	u, err := d.CreateUser(context.Background(), "ana@example.com", "Ana", db.RoleMember, "x")
	if err != nil {
		t.Fatal(err)
	}
	return tokens.New(d, c.now), d, c, u
}

func TestCreateAuthenticateRevoke(t *testing.T) {
	ctx := context.Background()
	s, d, c, u := setup(t)
	cr, err := s.Create(ctx, u.ID, u.ID, tokens.Request{Name: " nightly ", Scopes: []string{tokens.GalleryRead, tokens.JobsRead, tokens.JobsRead}, Days: "30", FormKey: tokens.NewFormKey()}, "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cr.Secret, "sd_") || len(cr.Secret) != 46 || !tokens.WellFormed(cr.Secret) {
		t.Fatalf("secret %q", cr.Secret)
	}
	if cr.Token.Name != "nightly" || cr.Token.Scopes != "jobs:read gallery:read" || !strings.HasPrefix(cr.Secret, cr.Token.Prefix) {
		t.Fatalf("token %+v", cr.Token)
	}
	if want := c.t.Add(30 * 24 * time.Hour); !cr.Token.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", cr.Token.ExpiresAt, want)
	}
	p, err := s.Authenticate(ctx, cr.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if p.User.ID != u.ID || !p.Can(tokens.JobsRead) || p.Can(tokens.JobsWrite) {
		t.Fatalf("principal %+v", p)
	}
	// Last used: written now, not again within the minute, again after it.
	list, _ := s.ForUser(ctx, u.ID)
	if !list[0].LastUsedAt.Equal(c.t) {
		t.Fatalf("last used %v, want %v", list[0].LastUsedAt, c.t)
	}
	first := c.t
	c.t = c.t.Add(59 * time.Second)
	if _, err := s.Authenticate(ctx, cr.Secret); err != nil {
		t.Fatal(err)
	}
	if list, _ = s.ForUser(ctx, u.ID); !list[0].LastUsedAt.Equal(first) {
		t.Fatalf("last used rewritten within a minute: %v", list[0].LastUsedAt)
	}
	c.t = c.t.Add(2 * time.Second)
	if _, err := s.Authenticate(ctx, cr.Secret); err != nil {
		t.Fatal(err)
	}
	if list, _ = s.ForUser(ctx, u.ID); !list[0].LastUsedAt.Equal(c.t) {
		t.Fatalf("last used %v, want %v", list[0].LastUsedAt, c.t)
	}

	// Another member cannot revoke it; the owner can, at once.
	bo, _ := d.CreateUser(ctx, "bo@example.com", "Bo", db.RoleMember, "x")
	if _, err := s.Revoke(ctx, db.Viewer{UserID: bo.ID}, cr.Token.ID, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("another member's revoke: %v", err)
	}
	if _, err := s.Authenticate(ctx, cr.Secret); err != nil {
		t.Fatalf("token stopped after a refused revoke: %v", err)
	}
	if _, err := s.Revoke(ctx, db.Viewer{UserID: u.ID}, cr.Token.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, cr.Secret); !errors.Is(err, tokens.ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
	audit, _ := d.RecentAudit(ctx, 10)
	if len(audit) != 2 || audit[0].Action != db.AuditTokenRevoked || audit[1].Action != db.AuditTokenCreated || audit[1].Subject != "ana@example.com" {
		t.Fatalf("audit %+v", audit)
	}
}

func TestAuthenticateRefusesAlike(t *testing.T) {
	ctx := context.Background()
	s, d, c, u := setup(t)
	cr, err := s.Create(ctx, u.ID, u.ID, tokens.Request{Name: "a", Scopes: []string{tokens.JobsWrite}, Days: "1", FormKey: tokens.NewFormKey()}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"", "sd_", "Bearer " + cr.Secret, cr.Secret[:45], cr.Secret + "A", "xx" + cr.Secret[2:],
		cr.Secret[:45] + "B", strings.ToUpper(cr.Secret), "sd_" + strings.Repeat("A", 43)} {
		if _, err := s.Authenticate(ctx, raw); !errors.Is(err, tokens.ErrUnauthorized) {
			t.Errorf("Authenticate(%q): %v", raw, err)
		}
	}
	// A disabled member's token stops; enabling brings it back.
	if err := d.SetDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, cr.Secret); !errors.Is(err, tokens.ErrUnauthorized) {
		t.Fatalf("disabled member's token: %v", err)
	}
	if err := d.SetDisabled(ctx, u.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, cr.Secret); err != nil {
		t.Fatalf("re-enabled member's token: %v", err)
	}
	// Expired after its day.
	c.t = c.t.Add(24 * time.Hour)
	if _, err := s.Authenticate(ctx, cr.Secret); !errors.Is(err, tokens.ErrUnauthorized) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestCreateRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	s, d, _, u := setup(t)
	for _, tc := range []struct {
		r     tokens.Request
		field string
	}{
		{tokens.Request{Name: "  ", Scopes: []string{tokens.JobsRead}}, fields.Name},
		{tokens.Request{Name: strings.Repeat("x", 101), Scopes: []string{tokens.JobsRead}}, fields.Name},
		{tokens.Request{Name: "a\x00b", Scopes: []string{tokens.JobsRead}}, fields.Name},
		{tokens.Request{Name: "a"}, fields.Scopes},
		{tokens.Request{Name: "a", Scopes: []string{"admin"}}, fields.Scopes},
		{tokens.Request{Name: "a", Scopes: []string{tokens.JobsRead}, Days: "0"}, fields.TokenDays},
		{tokens.Request{Name: "a", Scopes: []string{tokens.JobsRead}, Days: "366"}, fields.TokenDays},
		{tokens.Request{Name: "a", Scopes: []string{tokens.JobsRead}, Days: "1.5"}, fields.TokenDays},
		{tokens.Request{Name: "a", Scopes: []string{tokens.JobsRead}, Days: "never"}, fields.TokenDays},
	} {
		tc.r.FormKey = tokens.NewFormKey()
		_, err := s.Create(ctx, u.ID, u.ID, tc.r, "")
		var inv *apperr.Invalid
		if !errors.As(err, &inv) || inv.Fields[tc.field] == "" {
			t.Errorf("Create(%+v): %v, want a message on %s", tc.r, err, tc.field)
		}
	}
	// A disabled member gets no token.
	if err := d.SetDisabled(ctx, u.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, u.ID, u.ID, tokens.Request{Name: "a", Scopes: []string{tokens.JobsRead}, FormKey: tokens.NewFormKey()}, ""); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("disabled member's create: %v", err)
	}
	if list, _ := s.ForUser(ctx, u.ID); len(list) != 0 {
		t.Fatalf("refused creates wrote %d tokens", len(list))
	}
	if all, _ := s.AllActive(ctx); len(all) != 0 {
		t.Fatalf("AllActive: %d", len(all))
	}
}

// A form's one-time key makes one token: posted again it makes nothing and
// returns the token made then, without its secret; another key, or the
// same key from another member, makes another. A malformed key makes
// nothing; no key (a post as before forms had one) makes a token each time.
func TestCreateOncePerFormKey(t *testing.T) {
	ctx := context.Background()
	s, d, _, u := setup(t)
	r := tokens.Request{Name: "nightly", Scopes: []string{tokens.JobsRead}, FormKey: tokens.NewFormKey()}
	first, err := s.Create(ctx, u.ID, u.ID, r, "")
	if err != nil || first.Again || first.Secret == "" {
		t.Fatalf("first create: %+v, %v", first, err)
	}
	for _, again := range []tokens.Request{r, {Name: "renamed", Scopes: []string{tokens.GalleryRead}, FormKey: r.FormKey}} {
		got, err := s.Create(ctx, u.ID, u.ID, again, "")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Again || got.Secret != "" || got.Token.ID != first.Token.ID || got.Token.Name != "nightly" {
			t.Errorf("the form again (%q): %+v, want the first token, Again, no secret", again.Name, got)
		}
	}
	if list, _ := s.ForUser(ctx, u.ID); len(list) != 1 {
		t.Errorf("%d tokens, want 1", len(list))
	}
	if audit, _ := d.RecentAudit(ctx, 10); len(audit) != 1 {
		t.Errorf("%d audit lines, want 1: %+v", len(audit), audit)
	}

	// The same key from another member, a new key: new tokens.
	bo, _ := d.CreateUser(ctx, "bo@example.com", "Bo", db.RoleMember, "x")
	if got, err := s.Create(ctx, bo.ID, bo.ID, r, ""); err != nil || got.Again || got.Secret == "" {
		t.Errorf("another member, same key: %+v, %v", got, err)
	}
	r.FormKey = tokens.NewFormKey()
	if got, err := s.Create(ctx, u.ID, u.ID, r, ""); err != nil || got.Again || got.Secret == "" {
		t.Errorf("a new key: %+v, %v", got, err)
	}

	// No key: a token each time.
	for range 2 {
		if got, err := s.Create(ctx, u.ID, u.ID, tokens.Request{Name: "keyless", Scopes: []string{tokens.JobsRead}}, ""); err != nil || got.Again || got.Secret == "" {
			t.Errorf("no key: %+v, %v", got, err)
		}
	}

	before, _ := s.ForUser(ctx, u.ID)
	for _, key := range []string{"short", strings.Repeat("a", 65), "has space in it, long enough", "ünïcödé-ünïcödé-ünï", "pct%20pct%20pct%20"} {
		_, err := s.Create(ctx, u.ID, u.ID, tokens.Request{Name: "k", Scopes: []string{tokens.JobsRead}, FormKey: key}, "")
		var inv *apperr.Invalid
		if !errors.As(err, &inv) || len(inv.Fields) != 0 || inv.Message == "" {
			t.Errorf("form key %q: %v, want an *apperr.Invalid with a message and no fields", key, err)
		}
	}
	if after, _ := s.ForUser(ctx, u.ID); len(after) != len(before) {
		t.Errorf("bad form keys made %d tokens", len(after)-len(before))
	}
}

// One form posted several times at once (a double click without the
// script) still makes one token: the lookup and the insert share a write
// transaction.
func TestCreateOncePerFormKeyConcurrently(t *testing.T) {
	ctx := context.Background()
	s, d, _, u := setup(t)
	r := tokens.Request{Name: "burst", Scopes: []string{tokens.JobsRead}, FormKey: tokens.NewFormKey()}
	const n = 8
	results := make(chan tokens.Created, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			cr, err := s.Create(ctx, u.ID, u.ID, r, "")
			results <- cr
			errs <- err
		}()
	}
	made, ids := 0, map[int64]bool{}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		cr := <-results
		if !cr.Again {
			made++
		}
		ids[cr.Token.ID] = true
	}
	if made != 1 || len(ids) != 1 {
		t.Errorf("%d creates made a token, %d distinct tokens; want 1 and 1", made, len(ids))
	}
	if audit, _ := d.RecentAudit(ctx, 20); len(audit) != 1 {
		t.Errorf("%d audit lines, want 1", len(audit))
	}
}
