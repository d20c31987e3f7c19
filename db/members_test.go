package db_test

import (
	"context"
	"slices"
	"testing"

	"swapdesk/db"
)

// Migration 0013 rebuilt the ledger for the kind 'allowance': the
// append-only triggers and the amount CHECK came back with it.
func TestRebuiltLedgerStaysAppendOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, path := openTest(t)
	u, _ := d.CreateUser(ctx, "a@example.com", "A", db.RoleMember, "h")
	if _, err := d.Grant(ctx, u.ID, 0, db.LedgerGrant, 10, ""); err != nil {
		t.Fatal(err)
	}
	raw := rawOpen(t, path)
	defer raw.Close()
	for _, q := range []string{
		`UPDATE ledger SET amount = 99`,
		`DELETE FROM ledger`,
		`INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (1, 'allowance', 0, 0)`,
		`INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (1, 'allowance', -5, 0)`,
		`INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (1, 'bonus', 5, 0)`,
	} {
		if _, err := raw.Exec(q); err == nil {
			t.Errorf("%s: accepted", q)
		}
	}
	if _, err := raw.Exec(`INSERT INTO ledger (user_id, kind, amount, created_at) VALUES (1, 'allowance', 5, 0)`); err != nil {
		t.Errorf("an allowance line: %v", err)
	}
	rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE tbl_name = 'ledger' AND type IN ('index', 'trigger') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	// 0013: 3 indexes, 2 append-only triggers (and a spend-days trigger
	// that 0018 drops); 0014: 2 indexes (kind, created_at) and the
	// spend-by-day trigger.
	want := []string{"ledger_charges", "ledger_created", "ledger_job", "ledger_kind", "ledger_no_delete", "ledger_no_update",
		"ledger_user", "spend_by_day_charge"}
	if !slices.Equal(got, want) {
		t.Errorf("ledger's indexes and triggers: %q, want %q", got, want)
	}
}
