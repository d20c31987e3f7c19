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
	"slices"
	"strings"
	"text/tabwriter"

	"swapdesk/db"
	"swapdesk/internal/accounts"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
)

// userSubcommand is one of `swapdesk user`'s subcommands: its name, a line
// for the command list, and the flags it takes (besides --data-dir).
type userSubcommand struct {
	name, summary string
	flags         []string
}

// userSubcommands are `swapdesk user`'s subcommands, in the order help
// lists them.
var userSubcommands = []userSubcommand{
	{"add", "add an account: --email E --name N [--admin] [--password-stdin]", []string{"email", "name", "admin", "password-stdin"}},
	{"list", "list accounts", nil},
	{"passwd", "set a password, ending its sessions: --email E [--password-stdin]", []string{"email", "password-stdin"}},
	{"disable", "disable an account, ending its sessions: --email E [--enable to undo]", []string{"email", "enable"}},
	{"grant", "grant credits: --email E --credits N [--note T]", []string{"email", "credits", "note"}},
	{"unlock", "clear an account's failed sign-ins from every address: --email E", []string{"email"}},
}

// userOptions are the values of every `swapdesk user` flag; a subcommand
// registers only its own.
type userOptions struct {
	email, name, note string
	admin, pwStdin    bool
	enable            bool
	credits           int64
}

func (o *userOptions) register(fs *flag.FlagSet, names []string) {
	defs := map[string]func(){
		"email": func() { fs.StringVar(&o.email, "email", "", "account email") },
		"name":  func() { fs.StringVar(&o.name, "name", "", "display name") },
		"admin": func() { fs.BoolVar(&o.admin, "admin", false, "make the account an admin") },
		"password-stdin": func() {
			fs.BoolVar(&o.pwStdin, "password-stdin", false, "read the password from standard input's first line")
		},
		"enable": func() { fs.BoolVar(&o.enable, "enable", false, "re-enable instead of disable") },
		"credits": func() {
			fs.Int64Var(&o.credits, "credits", 0, fmt.Sprintf("credits to grant, 1 to %d", credits.MaxChange))
		},
		"note": func() { fs.StringVar(&o.note, "note", "", "why, for the ledger") },
	}
	for _, n := range names {
		defs[n]()
	}
}

func userUsage(w io.Writer) {
	fmt.Fprint(w, "Usage: swapdesk user SUBCOMMAND [flags]\n\nSubcommands:\n")
	for _, s := range userSubcommands {
		fmt.Fprintf(w, "  %-8s  %s\n", s.name, s.summary)
	}
	fmt.Fprint(w, "\nRun 'swapdesk user SUBCOMMAND -h' for its flags. --data-dir (or SWAPDESK_DATA_DIR) picks the database.\n")
}

func userSubcommandNames() string {
	var names []string
	for _, s := range userSubcommands {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

// userCommand runs `swapdesk user SUBCOMMAND`.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		return usagef("user: say which: %s (see 'swapdesk user help')", userSubcommandNames())
	}
	if isHelp(args) {
		if args[0] == "help" && len(args) > 1 {
			// `swapdesk user help add` is `swapdesk user add --help`.
			return userCommand(ctx, []string{args[1], "--help"}, getenv, stdin, stdout, log)
		}
		userUsage(stdout)
		return nil
	}
	sub, args := args[0], args[1:]
	i := slices.IndexFunc(userSubcommands, func(s userSubcommand) bool { return s.name == sub })
	if i < 0 {
		return usagef("user: unknown subcommand %q (%s; see 'swapdesk user help')", sub, userSubcommandNames())
	}
	spec := userSubcommands[i]
	fs := newFlags("user "+sub, stdout, strings.ToUpper(spec.summary[:1])+spec.summary[1:])
	dataDir := dataDirFlag(fs, getenv)
	var o userOptions
	o.register(fs, spec.flags)
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if slices.Contains(spec.flags, "email") && o.email == "" {
		return usagef("user %s: --email is required", sub)
	}
	// Only `user add` may create the database: it is how an operator makes
	// the first admin before the first serve. Every other subcommand needs
	// an existing one, so a wrong directory is an error, not a new empty
	// database.
	created := false
	if sub == "add" {
		if err := checkDataDir(*dataDir); err != nil {
			return usagef("%s: %v", settingName(fs, "data-dir", "SWAPDESK_DATA_DIR"), err)
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
		pw, generated, err := readPassword(stdin, o.pwStdin)
		if err != nil {
			return err
		}
		u, err := accts.CreateUser(ctx, 0, accounts.NewUser{Email: o.email, Name: o.name, Admin: o.admin, Password: pw})
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
		pw, generated, err := readPassword(stdin, o.pwStdin)
		if err != nil {
			return err
		}
		if err := accts.SetPassword(ctx, 0, o.email, pw); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "Password changed for %s; their open sessions are signed out.\n", accounts.NormalizeEmail(o.email))
		if generated {
			fmt.Fprintf(stdout, "Password: %s\n", pw)
		}
	case "grant":
		res, err := credits.New(store, nil).Grant(ctx, credits.Change{MemberEmail: o.email, Amount: o.credits, Note: o.note})
		if err != nil {
			return grantError(err)
		}
		fmt.Fprintf(stdout, "Granted %d credits to %s; available now %d.\n", o.credits, res.Member.Email, res.Balance.Available)
	case "disable":
		if err := accts.SetDisabled(ctx, 0, o.email, !o.enable); err != nil {
			return cliError(err)
		}
		if o.enable {
			fmt.Fprintf(stdout, "Enabled %s.\n", accounts.NormalizeEmail(o.email))
		} else {
			fmt.Fprintf(stdout, "Disabled %s; their open sessions are signed out.\n", accounts.NormalizeEmail(o.email))
		}
	case "unlock":
		if err := accts.Unlock(ctx, 0, o.email); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "Cleared the failed sign-ins of %s from every address; they can sign in again.\n", accounts.NormalizeEmail(o.email))
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
