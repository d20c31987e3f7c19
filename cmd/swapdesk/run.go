package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// usageError is a problem with how swapdesk was invoked or configured; main
// exits with status 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

const usage = `Usage: swapdesk [command] [flags]

Commands:
  serve                 run the web app (the default)
  user add              add an account: --email E --name N [--admin] [--password-stdin]
  user list             list accounts
  user passwd           set a password: --email E [--password-stdin]
  user disable          disable an account: --email E [--enable to undo]
  user grant            grant credits: --email E --credits N [--note T]
  sandbox               run the Akool emulator alone: --addr :9090 [--credits N]
  backup                copy the database: --to FILE
  version               print the version

Run 'swapdesk COMMAND -h' for a command's flags. Configuration comes from
environment variables (see README.md); flags override them.
`

// run is the whole program: it parses args, builds what the command needs
// from getenv, and returns when the command is done or ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, log)
	case "user":
		return userCommand(ctx, args, getenv, stdin, stdout, log)
	case "sandbox":
		return sandboxCommand(ctx, args, getenv, stdout, log)
	case "backup":
		return backup(ctx, args, getenv, stdout, log)
	case "doctor":
		return doctor(ctx, args, getenv, stdout, log)
	case "version":
		fmt.Fprintln(stdout, "swapdesk", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usagef("unknown command %q (try 'swapdesk help')", cmd)
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}
