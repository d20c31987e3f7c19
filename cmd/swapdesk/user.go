package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"swapdesk/db"
	"swapdesk/internal/accounts"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
)

// userCommand runs `swapdesk user add|list|passwd|disable|grant`.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		return usagef("user: say add, list, passwd, disable or grant")
	}
	sub, args := args[0], args[1:]
	fs := newFlags("user "+sub, stdout)
	dataDir := dataDirFlag(fs, getenv)
	var (
		email       = fs.String("email", "", "account email")
		name        = fs.String("name", "", "display name (add)")
		admin       = fs.Bool("admin", false, "make the account an admin (add)")
		pwStdin     = fs.Bool("password-stdin", false, "read the password from the first line of standard input")
		enable      = fs.Bool("enable", false, "re-enable instead of disable (disable)")
		amount      = fs.Int64("credits", 0, fmt.Sprintf("credits to grant, 1 to %d (grant)", credits.MaxChange))
		note        = fs.String("note", "", "why, for the ledger (grant)")
		needsEmail  = sub != "list"
		allowedSubs = map[string]bool{"add": true, "list": true, "passwd": true, "disable": true, "grant": true}
	)
	if !allowedSubs[sub] {
		return usagef("user: unknown subcommand %q (add, list, passwd, disable, grant)", sub)
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if needsEmail && *email == "" {
		return usagef("user %s: --email is required", sub)
	}
	// Only `user add` may create the database: it is how an operator makes
	// the first admin before the first serve. Every other subcommand needs
	// an existing one, so a wrong directory is an error, not a new empty
	// database.
	created := false
	if sub == "add" {
		if err := checkDataDir(*dataDir); err != nil {
			return usagef("SWAPDESK_DATA_DIR: %v", err)
		}
		_, err := os.Stat(dbPath(*dataDir))
		created = errors.Is(err, os.ErrNotExist)
	} else if err := needDatabase(*dataDir); err != nil {
		return err
	}
	store, err := db.Open(ctx, dbPath(*dataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	accts := accounts.New(store, log, nil)

	switch sub {
	case "add":
		pw, generated, err := readPassword(stdin, *pwStdin)
		if err != nil {
			return err
		}
		u, err := accts.CreateUser(ctx, 0, accounts.NewUser{Email: *email, Name: *name, Admin: *admin, Password: pw})
		if err != nil {
			return cliError(err)
		}
		if created {
			// Said out loud, so an add run from the wrong directory is noticed.
			fmt.Fprintf(stdout, "Created a new Swapdesk database at %s.\n", absPath(dbPath(*dataDir)))
		}
		fmt.Fprintf(stdout, "Added %s <%s> (%s).\n", u.Name, u.Email, u.Role)
		if generated {
			fmt.Fprintf(stdout, "Password: %s\n", pw)
		}
		if created && !u.IsAdmin() {
			// serve makes a first admin only when there are no users at all.
			fmt.Fprintln(stdout, "Nobody is an admin yet: add one with `swapdesk user add --admin`.")
		}
	case "list":
		users, err := store.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tNAME\tROLE\tSTATUS")
		for _, u := range users {
			status := "active"
			if u.Disabled() {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Email, u.Name, u.Role, status)
		}
		return tw.Flush()
	case "passwd":
		pw, generated, err := readPassword(stdin, *pwStdin)
		if err != nil {
			return err
		}
		if err := accts.SetPassword(ctx, 0, *email, pw); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "Password changed for %s; their open sessions are signed out.\n", accounts.NormalizeEmail(*email))
		if generated {
			fmt.Fprintf(stdout, "Password: %s\n", pw)
		}
	case "grant":
		res, err := credits.New(store, nil).Grant(ctx, credits.Change{MemberEmail: *email, Amount: *amount, Note: *note})
		if err != nil {
			return grantError(err)
		}
		fmt.Fprintf(stdout, "Granted %d credits to %s; available now %d.\n", *amount, res.Member.Email, res.Balance.Available)
	case "disable":
		if err := accts.SetDisabled(ctx, 0, *email, !*enable); err != nil {
			return cliError(err)
		}
		if *enable {
			fmt.Fprintf(stdout, "Enabled %s.\n", accounts.NormalizeEmail(*email))
		} else {
			fmt.Fprintf(stdout, "Disabled %s; their open sessions are signed out.\n", accounts.NormalizeEmail(*email))
		}
	}
	return nil
}

// needDatabase refuses to go on when dataDir holds no database, rather than
// letting db.Open create an empty one in the wrong place.
func needDatabase(dataDir string) error {
	path := dbPath(dataDir)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return usagef("no Swapdesk database at %s — run `swapdesk serve` first or pass --data-dir", absPath(path))
	}
	return nil
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// readPassword reads one line from stdin, or generates a password when
// --password-stdin was not given.
func readPassword(stdin io.Reader, fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = accounts.RandomPassword()
		return pw, true, err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, fmt.Errorf("read password: %w", err)
	}
	pw = strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", false, usagef("--password-stdin: standard input was empty")
	}
	return pw, false, nil
}

// grantError turns the credits service's errors into one clear line about
// the flags.
func grantError(err error) error {
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		if _, ok := invalid.Fields[credits.FieldAmount]; ok {
			return usagef("user grant: --credits must be a whole number from 1 to %d", credits.MaxChange)
		}
		if m, ok := invalid.Fields[credits.FieldNote]; ok {
			return usagef("user grant: --note: %s", m)
		}
	}
	return cliError(err)
}

// cliError turns service errors into one clear line.
func cliError(err error) error {
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		if len(invalid.Fields) > 0 {
			var parts []string
			for _, f := range []string{"email", "name", "password"} {
				if m, ok := invalid.Fields[f]; ok {
					parts = append(parts, "--"+f+": "+m)
				}
			}
			return usagef("%s", strings.Join(parts, "; "))
		}
		return usagef("%s", invalid.Message)
	}
	if errors.Is(err, apperr.ErrNotFound) {
		return usagef("no account with that email")
	}
	return err
}
