package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"strings"
	"testing"

	"swapdesk/db"
)

func TestDoctorReportsBalancesThatDifferFromTheLedger(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	ctx := context.Background()
	for _, args := range [][]string{
		{"user", "add", "--email", "mo@example.com", "--name", "Mo"},
		{"user", "grant", "--email", "mo@example.com", "--credits", "40"},
	} {
		if err := run(ctx, args, env(vars), nil, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"doctor"}, env(vars), nil, &out, io.Discard); err != nil {
		t.Fatalf("doctor on a sound database: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "every member's balance equals") {
		t.Errorf("doctor printed %q", out.String())
	}

	raw, err := sql.Open("sqlite", db.DSN(dbPath(dir)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE member_balances SET granted = 45`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	out.Reset()
	err = run(ctx, []string{"doctor"}, env(vars), nil, &out, io.Discard)
	var ue *usageError
	if err == nil || errors.As(err, &ue) {
		t.Fatalf("doctor on a drifted balance: err %v, want a failure (exit status 1)", err)
	}
	if got := out.String(); !strings.Contains(got, "mo@example.com") || !strings.Contains(got, "45 -> 40") {
		t.Errorf("doctor printed %q, want the member and granted 45 -> 40", got)
	}

	if err := run(ctx, []string{"doctor"}, env(map[string]string{"SWAPDESK_DATA_DIR": t.TempDir()}), nil, io.Discard, io.Discard); !errors.As(err, &ue) {
		t.Errorf("doctor without a database: %v, want a usage error", err)
	}
}
