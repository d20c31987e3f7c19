package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -h, --help and help work at every level, print to standard output,
// succeed, and list what there is at that level.
func TestHelpAtEveryLevel(t *testing.T) {
	t.Parallel()
	top := []string{"Commands:", "serve", "user add", "user unlock", "sandbox", "media", "backup", "version", "help"}
	user := []string{"Subcommands:", "add", "list", "passwd", "disable", "grant", "unlock"}
	tests := []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, top, []string{"listen address (SWAPDESK_ADDR)"}},
		{[]string{"-h"}, top, nil},
		{[]string{"help"}, top, nil},
		{[]string{"user", "--help"}, user, nil},
		{[]string{"user", "-h"}, user, nil},
		{[]string{"user", "help"}, user, nil},
		{[]string{"help", "user"}, user, nil},
		{[]string{"user", "add", "--help"}, []string{"Usage: swapdesk user add", "-email", "-name", "-admin", "-password-stdin", "-data-dir"}, []string{"-credits", "-enable"}},
		{[]string{"user", "add", "help"}, []string{"Usage: swapdesk user add", "-email"}, nil},
		{[]string{"user", "help", "add"}, []string{"Usage: swapdesk user add", "-email"}, nil},
		{[]string{"help", "user", "add"}, []string{"Usage: swapdesk user add", "-email"}, nil},
		{[]string{"user", "unlock", "-h"}, []string{"Usage: swapdesk user unlock", "-email"}, []string{"-password-stdin"}},
		{[]string{"user", "grant", "-h"}, []string{"-credits", "-note"}, []string{"-admin"}},
		{[]string{"serve", "--help"}, []string{"Usage: swapdesk serve", "-addr", "SWAPDESK_ADDR", "-data-dir"}, nil},
		{[]string{"help", "serve"}, []string{"Usage: swapdesk serve", "-addr"}, nil},
		{[]string{"serve", "help"}, []string{"Usage: swapdesk serve", "-addr"}, nil},
		{[]string{"backup", "-h"}, []string{"Usage: swapdesk backup", "-to"}, nil},
		{[]string{"sandbox", "--help"}, []string{"Usage: swapdesk sandbox", "-credits"}, nil},
		{[]string{"version", "--help"}, []string{"Usage: swapdesk version"}, nil},
		{[]string{"help", "media"}, []string{"Usage: swapdesk media migrate"}, nil},
		{[]string{"media", "migrate", "-h"}, []string{"Usage: swapdesk media migrate"}, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, env(map[string]string{"SWAPDESK_DATA_DIR": dir}), strings.NewReader(""), &out, &errOut)
			if err != nil {
				t.Fatalf("err = %v, want none (exit 0)", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(out.String(), want) {
					t.Errorf("help lacks %q:\n%s", want, out.String())
				}
			}
			for _, not := range tt.notWant {
				if strings.Contains(out.String(), not) {
					t.Errorf("help shows %q, which is not for this level:\n%s", not, out.String())
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("asking for help touched the data dir: %d entries", len(entries))
			}
		})
	}
}

// Errors name what the user typed: the flag when a setting came from a
// flag, the environment variable when it came from there, the command
// and subcommand as written.
func TestErrorsNameWhatWasTyped(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	tests := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"taken port from the flag", nil, []string{"serve", "--addr", taken.Addr().String()}, "--addr: cannot listen on " + taken.Addr().String()},
		{"taken port from the env", map[string]string{"SWAPDESK_ADDR": taken.Addr().String()}, []string{"serve"}, "SWAPDESK_ADDR: cannot listen on"},
		{"bad address flag without a command", nil, []string{"--addr", "nope"}, "--addr: \"nope\" is not host:port"},
		{"user add data dir flag", nil, []string{"user", "add", "--data-dir", file, "--email", "a@example.com", "--name", "A"}, "--data-dir: "},
		{"user add data dir env", map[string]string{"SWAPDESK_DATA_DIR": file}, []string{"user", "add", "--email", "a@example.com", "--name", "A"}, "SWAPDESK_DATA_DIR: "},
		{"flag of another subcommand", nil, []string{"user", "add", "--email", "a@example.com", "--credits", "5"}, "user add: flag provided but not defined: -credits"},
		{"unknown subcommand", nil, []string{"user", "rename"}, `user: unknown subcommand "rename" (add, list, passwd, disable, grant, unlock`},
		{"no subcommand", nil, []string{"user"}, "user: say which: add, list, passwd, disable, grant, unlock"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate" (try 'swapdesk help')`},
		{"help for an unknown command", nil, []string{"help", "frobnicate"}, `unknown command "frobnicate"`},
		{"argument left over", nil, []string{"version", "now"}, `version: unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"SWAPDESK_DATA_DIR": t.TempDir(), "SWAPDESK_ADDR": "127.0.0.1:0"}
			for k, v := range tt.vars {
				vars[k] = v
			}
			var out bytes.Buffer
			err := run(context.Background(), tt.args, env(vars), strings.NewReader(""), &out, io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error starting %q", err, tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("the error also printed %q", out.String())
			}
		})
	}
}
