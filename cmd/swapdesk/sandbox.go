package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"swapdesk/internal/akoolsim"
	"swapdesk/internal/sandbox"
)

// sandboxCommand runs the emulator alone: `swapdesk sandbox --addr :9090`.
func sandboxCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("sandbox", stdout)
	addr := fs.String("addr", ":9090", "listen address")
	credits := fs.Int("credits", 10_000, "starting credit balance of the emulated account")
	queue := fs.Duration("queue-delay", 3*time.Second, "time a job stays queued (0s: none)")
	process := fs.Duration("process-delay", 20*time.Second, "time a job stays processing (0s: none)")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := checkAddr(*addr); err != nil {
		return usagef("sandbox --addr: %v", err)
	}
	if *credits < 0 {
		return usagef("sandbox --credits: must be 0 or more")
	}
	if *queue < 0 || *process < 0 {
		return usagef("sandbox --queue-delay and --process-delay: must be 0s or more")
	}
	creds, err := sandboxCredentials(getenv)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return usagef("sandbox --addr: cannot listen on %s: %v", *addr, unwrapOpErr(err))
	}
	base := listenURL(ln.Addr(), "")
	sim := akoolsim.New(akoolsim.Config{
		APIKey: creds.apiKey, ClientID: creds.clientID, ClientSecret: creds.secret, Credits: *credits,
		// The emulator's 0 means its default; ours means no wait.
		BaseURL: base, QueueDelay: sandbox.SimDelay(*queue), ProcessDelay: sandbox.SimDelay(*process), Logger: log,
	})
	defer sim.Close()
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(stdout, "Akool sandbox is running at %s with %d credits\n", base, *credits)
	if len(creds.generated) > 0 {
		// Only what we made up: values taken from the environment are not echoed.
		fmt.Fprintf(stdout, "AKOOL_BASE_URL=%s\n", base)
		for _, name := range creds.generated {
			fmt.Fprintf(stdout, "%s=%s\n", name, creds.value(name))
		}
	}
	select {
	case err := <-served:
		return fmt.Errorf("sandbox server: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutCtx)
}

// sandboxCreds is the emulated account of `swapdesk sandbox`.
type sandboxCreds struct {
	apiKey, clientID, secret string
	generated                []string // names of the variables that were not set, in print order
}

func (c sandboxCreds) value(name string) string {
	switch name {
	case "AKOOL_API_KEY":
		return c.apiKey
	case "AKOOL_CLIENT_ID":
		return c.clientID
	}
	return c.secret
}

// sandboxCredentials takes the account from AKOOL_API_KEY, AKOOL_CLIENT_ID
// and AKOOL_CLIENT_SECRET and generates only what is missing. As on Akool,
// the API key and the clientSecret are one value: either one given sets
// both. It returns a usage error for a secret that cannot be an AES key.
func sandboxCredentials(getenv func(string) string) (sandboxCreds, error) {
	c := sandboxCreds{apiKey: getenv("AKOOL_API_KEY"), clientID: getenv("AKOOL_CLIENT_ID"), secret: getenv("AKOOL_CLIENT_SECRET")}
	genKey, genID, _ := akoolsim.GenerateCredentials()
	switch {
	case c.apiKey == "" && c.secret == "":
		c.apiKey, c.secret = genKey, genKey
		c.generated = append(c.generated, "AKOOL_API_KEY")
	case c.apiKey == "":
		c.apiKey = c.secret
	case c.secret == "":
		c.secret = c.apiKey
	}
	if c.clientID == "" {
		c.clientID = genID
		c.generated = append(c.generated, "AKOOL_CLIENT_ID")
	}
	if slices.Contains(c.generated, "AKOOL_API_KEY") {
		c.generated = append(c.generated, "AKOOL_CLIENT_SECRET")
	}
	switch len(c.secret) {
	case 16, 24, 32:
	default:
		return sandboxCreds{}, usagef("AKOOL_CLIENT_SECRET: must be 16, 24 or 32 characters (it is the AES key of webhooks)")
	}
	return c, nil
}
