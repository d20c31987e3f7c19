package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"swapdesk/db"
)

// backup writes a consistent copy of the database to --to while the app may
// be running (SQLite's VACUUM INTO).
func backup(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("backup", stdout)
	dataDir := dataDirFlag(fs, getenv)
	to := fs.String("to", "", "file to write the copy to (must not exist)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *to == "" {
		return usagef("backup: --to FILE is required")
	}
	if _, err := os.Stat(*to); err == nil {
		return usagef("backup: %s already exists", *to)
	}
	if err := needDatabase(*dataDir); err != nil {
		return err
	}
	store, err := db.Open(ctx, dbPath(*dataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, *to); err != nil {
		return err
	}
	log.Info("backup written", "to", *to)
	fmt.Fprintf(stdout, "Backed up to %s\n", *to)
	return nil
}
