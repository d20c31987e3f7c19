package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"

	"swapdesk/db"
)

// doctor checks what the database keeps twice: every member's balance row
// against the sum of their ledger lines. It prints each member whose row
// differs and returns an error (exit status 1) when any does.
func doctor(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("doctor", stdout)
	dataDir := dataDirFlag(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := needDatabase(*dataDir); err != nil {
		return err
	}
	store, err := db.Open(ctx, dbPath(*dataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	bad, err := store.CheckBalances(ctx)
	if err != nil {
		return fmt.Errorf("doctor: check balances: %w", err)
	}
	if len(bad) == 0 {
		fmt.Fprintln(stdout, "Balances: every member's balance equals the sum of their ledger.")
		return nil
	}
	fmt.Fprintf(stdout, "Balances: %d member(s) differ from their ledger (stored -> ledger):\n", len(bad))
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tGRANTED\tHELD\tSPENT\tAVAILABLE")
	for _, m := range bad {
		fmt.Fprintf(tw, "%s (id %d)\t%d -> %d\t%d -> %d\t%d -> %d\t%d -> %d\n", m.Email, m.UserID,
			m.Stored.Granted, m.Ledger.Granted, m.Stored.Held, m.Ledger.Held,
			m.Stored.Spent, m.Ledger.Spent, m.Stored.Available, m.Ledger.Available)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	log.Error("balances differ from the ledger", "members", len(bad))
	return fmt.Errorf("doctor: %d member balance(s) differ from the ledger", len(bad))
}
