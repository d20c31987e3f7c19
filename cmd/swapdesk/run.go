package main

import (
	"context"
	"errors"
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

// command is one of swapdesk's commands. run gets the arguments after the
// command's name.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

// run is the whole program: it parses args, builds what the command needs
// from getenv, and returns when the command is done or ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// Every command, in the order `swapdesk help` lists them.
	commands := []command{
		{"serve", "run the web app (the default)", func(args []string) error { return serve(ctx, args, getenv, stdout, log) }},
		{"user", "manage accounts (see below)", func(args []string) error { return userCommand(ctx, args, getenv, stdin, stdout, log) }},
		{"sandbox", "run the Akool emulator alone: --addr :9090 [--credits N]", func(args []string) error { return sandboxCommand(ctx, args, getenv, stdout, log) }},
		{"media", "copy archived media to another store: migrate --to URL [--dry-run]; make missing posters: posters [--all]", func(args []string) error { return mediaCommand(ctx, args, getenv, stdout, log) }},
		{"doctor", "check every member's balance against the ledger", func(args []string) error { return doctor(ctx, args, getenv, stdout, log) }},
		{"backup", "copy the database, safe while it runs: --to FILE", func(args []string) error { return backup(ctx, args, getenv, stdout, log) }},
		{"version", "print the version", func(args []string) error {
			if err := parseFlags(newFlags("version", stdout, "Prints the version of this binary."), args); err != nil {
				return err
			}
			fmt.Fprintln(stdout, "swapdesk", version)
			return nil
		}},
	}
	if len(args) == 0 || (strings.HasPrefix(args[0], "-") && !isHelp(args[:1])) {
		if err := commands[0].run(args); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	name, args := args[0], args[1:]
	if isHelp([]string{name}) {
		if name == "help" && len(args) > 0 {
			// `swapdesk help user add` is `swapdesk user add --help`.
			return run(ctx, append(args, "--help"), getenv, stdin, stdout, stderr)
		}
		printUsage(stdout, commands)
		return nil
	}
	for _, c := range commands {
		if c.name == name {
			if err := c.run(args); !errors.Is(err, flag.ErrHelp) {
				return err
			}
			return nil // the help asked for was printed
		}
	}
	return usagef("unknown command %q (try 'swapdesk help')", name)
}

func printUsage(w io.Writer, commands []command) {
	fmt.Fprint(w, "Usage: swapdesk [command] [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-20s  %s\n", c.name, c.summary)
		if c.name == "user" {
			for _, s := range userSubcommands {
				fmt.Fprintf(w, "  %-20s  %s\n", "user "+s.name, s.summary)
			}
		}
	}
	fmt.Fprintf(w, "  %-20s  %s\n", "help [COMMAND]", "this list, or a command's flags")
	fmt.Fprint(w, `
Run 'swapdesk COMMAND -h' (or 'swapdesk help COMMAND') for a command's
flags. Configuration comes from environment variables (see README.md);
flags override them.
`)
}

// isHelp reports whether args ask for help: -h, --help or help first.
func isHelp(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// newFlags returns a flag set for `swapdesk name` that reports errors
// instead of exiting. Its help, printed to out, starts with about.
func newFlags(name string, out io.Writer, about ...string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: swapdesk %s [flags]\n", name)
		for _, line := range about {
			fmt.Fprintf(w, "\n%s\n", line)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprint(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs. For -h, --help or a first argument
// "help" it prints fs's help and returns flag.ErrHelp; a bad flag or an
// argument left over is a usage error naming what was typed.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if len(args) > 0 && args[0] == "help" {
		args = []string{"-h"}
	}
	// Errors are reported once, by main, without the whole flag list.
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err == flag.ErrHelp {
		fs.Usage()
		return err
	}
	if err != nil {
		return usagef("%s: %v (see 'swapdesk %s -h')", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q (see 'swapdesk %s -h')", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

// flagGiven reports whether the flag name was given on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// settingName is how the user gave a setting that has a flag and an
// environment variable: "--flag" when given as a flag, else the variable.
func settingName(fs *flag.FlagSet, flagName, envName string) string {
	if fs != nil && flagGiven(fs, flagName) {
		return "--" + flagName
	}
	return envName
}
