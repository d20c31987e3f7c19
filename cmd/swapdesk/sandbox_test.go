package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

// TestClientAgainstStandaloneSandbox points the production client at
// `swapdesk sandbox` by changing only the base URL and key, as a developer
// would switch between the sandbox and Akool.
func TestClientAgainstStandaloneSandbox(t *testing.T) {
	t.Parallel()
	const apiKey = "SANDBOXSECRETKEY0123456789abcdef" // 32 chars: also the webhook AES key
	vars := map[string]string{"AKOOL_API_KEY": apiKey, "AKOOL_CLIENT_ID": "64db241f6d9e5c4bd136c187"}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"sandbox", "--addr", "127.0.0.1:0", "--credits", "100", "--queue-delay", "10ms", "--process-delay", "10ms"},
			env(vars), nil, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("sandbox printed nothing: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	const prefix = "Akool sandbox is running at "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("first line %q", line)
	}
	base := strings.Fields(strings.TrimPrefix(line, prefix))[0]

	// Inputs the emulator fetches, as Akool would.
	inputs := sampleInputs(t)

	client, err := akool.New(akool.Config{BaseURL: base, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	credits, err := client.Quota(ctx)
	if err != nil || credits != 100 {
		t.Fatalf("Quota = %v, %v; want 100", credits, err)
	}
	job, err := client.CreateCharacterSwap(ctx, akool.CreateRequest{Image: inputs.URL + "/c.png", Video: inputs.URL + "/m.mp4", Duration: 12, Resolution: "720p"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if job.Credits() != 30 {
		t.Errorf("12 s at 720p cost %d, want Akool's 30", job.Credits())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := client.GetResult(ctx, job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Final() {
			if got.Status != akool.StatusCompleted || got.ResultURL == "" {
				t.Fatalf("job ended %v (%s)", got.Status, got.FailReason)
			}
			res, err := http.Get(got.ResultURL)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "video/mp4" {
				t.Errorf("result URL answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job did not finish")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// A wrong key is refused with Akool's code.
	bad, _ := akool.New(akool.Config{BaseURL: base, APIKey: "wrong-key"})
	if _, err := bad.Quota(ctx); err == nil {
		t.Error("wrong key accepted")
	} else if code, _ := akool.Code(err); code != akool.CodeIllegalToken {
		t.Errorf("wrong key: code %d, want 1101", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sandbox exit: %v", err)
	}
}

func TestSandboxBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"sandbox", "--addr", "nope"},
		{"sandbox", "--credits", "-1"},
		{"sandbox", "--queue-delay", "-1s"},
		{"sandbox", "--process-delay", "-1ms"},
	} {
		err := run(context.Background(), args, env(map[string]string{"AKOOL_API_KEY": "short"}), nil, io.Discard, io.Discard)
		var ue *usageError
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	err := run(context.Background(), []string{"sandbox", "--addr", "127.0.0.1:0"}, env(map[string]string{"AKOOL_API_KEY": "short"}), nil, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "16, 24 or 32") {
		t.Errorf("short secret: %v", err)
	}
}

// standalone is a running `swapdesk sandbox`.
type standalone struct {
	base string
	out  *bufio.Reader // what it printed after the first line
	stop func() error
}

// startSandbox runs `swapdesk sandbox` on 127.0.0.1:0 and waits for its
// first line.
func startSandbox(t *testing.T, vars map[string]string, flags ...string) *standalone {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"sandbox", "--addr", "127.0.0.1:0"}, flags...), env(vars), nil, pw, io.Discard)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("sandbox printed nothing: %v (%v)", err, <-done)
	}
	const prefix = "Akool sandbox is running at "
	if !strings.HasPrefix(line, prefix) {
		cancel()
		t.Fatalf("first line %q", line)
	}
	sb := &standalone{base: strings.Fields(strings.TrimPrefix(line, prefix))[0], out: out}
	stopped := false
	sb.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		go io.Copy(io.Discard, pr)
		return <-done
	}
	t.Cleanup(func() { _ = sb.stop() })
	return sb
}

// printed reads the NAME=value lines printed after the first line, up to
// and including the one named last.
func (sb *standalone) printed(t *testing.T, last string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for {
		line, err := sb.out.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the sandbox's output: %v (so far %v)", err, got)
		}
		name, value, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			t.Fatalf("unexpected line %q", line)
		}
		got[name] = value
		if name == last {
			return got
		}
	}
}

func TestSandboxCredentials(t *testing.T) {
	t.Parallel()
	const (
		key32  = "0123456789abcdef0123456789abcdef"
		key24  = "0123456789abcdef01234567"
		client = "64db241f6d9e5c4bd136c187"
	)
	tests := []struct {
		name          string
		vars          map[string]string
		wantKey       string // "" = generated
		wantClient    string // "" = generated
		wantSecret    string // "" = same as the key
		wantGenerated []string
	}{
		{"nothing set", nil, "", "", "", []string{"AKOOL_API_KEY", "AKOOL_CLIENT_ID", "AKOOL_CLIENT_SECRET"}},
		{"only the client id", map[string]string{"AKOOL_CLIENT_ID": client}, "", client, "", []string{"AKOOL_API_KEY", "AKOOL_CLIENT_SECRET"}},
		{"only the key", map[string]string{"AKOOL_API_KEY": key32}, key32, "", key32, []string{"AKOOL_CLIENT_ID"}},
		{"only the secret", map[string]string{"AKOOL_CLIENT_SECRET": key24}, key24, "", key24, []string{"AKOOL_CLIENT_ID"}},
		{"key and client id", map[string]string{"AKOOL_API_KEY": key32, "AKOOL_CLIENT_ID": client}, key32, client, key32, nil},
		{"all three", map[string]string{"AKOOL_API_KEY": "any-key", "AKOOL_CLIENT_ID": client, "AKOOL_CLIENT_SECRET": key24}, "any-key", client, key24, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sandboxCredentials(env(tt.vars))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.generated, tt.wantGenerated) {
				t.Errorf("generated: got %v, want %v", c.generated, tt.wantGenerated)
			}
			if tt.wantKey != "" && c.apiKey != tt.wantKey || tt.wantKey == "" && len(c.apiKey) != 32 {
				t.Errorf("API key: got %q, want %q (or a generated one)", c.apiKey, tt.wantKey)
			}
			if tt.wantClient != "" && c.clientID != tt.wantClient || tt.wantClient == "" && len(c.clientID) != 24 {
				t.Errorf("client id: got %q, want %q (or a generated one)", c.clientID, tt.wantClient)
			}
			if want := cmp.Or(tt.wantSecret, c.apiKey); c.secret != want {
				t.Errorf("secret: got %q, want %q", c.secret, want)
			}
		})
	}
}

// A clientId given without a key is kept: only the key is generated, and
// the running sandbox accepts the given clientId at getToken.
func TestSandboxKeepsTheGivenClientID(t *testing.T) {
	t.Parallel()
	const client = "64db241f6d9e5c4bd136c187"
	sb := startSandbox(t, map[string]string{"AKOOL_CLIENT_ID": client})
	got := sb.printed(t, "AKOOL_CLIENT_SECRET")
	if _, printed := got["AKOOL_CLIENT_ID"]; printed || got["AKOOL_API_KEY"] == "" || got["AKOOL_CLIENT_SECRET"] != got["AKOOL_API_KEY"] || got["AKOOL_BASE_URL"] != sb.base {
		t.Errorf("printed %v, want the base URL and a generated key and secret, not the client id", got)
	}
	c, err := akool.New(akool.Config{BaseURL: sb.base, ClientID: client, ClientSecret: got["AKOOL_CLIENT_SECRET"]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Errorf("getToken with the given clientId: %v", err)
	}
}

// --queue-delay 0s and --process-delay 0s mean no wait, not the emulator's
// defaults (2 s and 20 s).
func TestSandboxZeroDelays(t *testing.T) {
	t.Parallel()
	const apiKey = "SANDBOXSECRETKEY0123456789abcdef"
	sb := startSandbox(t, map[string]string{"AKOOL_API_KEY": apiKey, "AKOOL_CLIENT_ID": "64db241f6d9e5c4bd136c187"},
		"--queue-delay", "0s", "--process-delay", "0s")
	inputs := sampleInputs(t)
	ctx := context.Background()
	client, err := akool.New(akool.Config{BaseURL: sb.base, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	job, err := client.CreateCharacterSwap(ctx, akool.CreateRequest{Image: inputs.URL + "/c.png", Video: inputs.URL + "/m.mp4", Duration: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetResult(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status == akool.StatusQueued {
		t.Errorf("first poll: still queued with --queue-delay 0s")
	}
	// Only the input fetch remains; the bound just stops a broken test
	// long before a 20 s process delay would end.
	deadline := time.Now().Add(10 * time.Second)
	for !got.Status.Final() {
		if time.Now().After(deadline) {
			t.Fatalf("job still %v after 10 s with --process-delay 0s", got.Status)
		}
		time.Sleep(10 * time.Millisecond)
		if got, err = client.GetResult(ctx, job.ID); err != nil {
			t.Fatal(err)
		}
	}
	if got.Status != akool.StatusCompleted {
		t.Errorf("job ended %v (%s)", got.Status, got.FailReason)
	}
	if err := sb.stop(); err != nil {
		t.Errorf("sandbox exit: %v", err)
	}
}

// sampleInputs serves the sandbox's sample MP4 for any *.mp4 path and its
// sample PNG for everything else, until the test ends.
func sampleInputs(t *testing.T) *httptest.Server {
	t.Helper()
	mp4, err := os.ReadFile("../../static/samples/motion.mp4")
	if err != nil {
		t.Fatal(err)
	}
	png, err := os.ReadFile("../../static/samples/character.png")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp4") {
			w.Write(mp4)
			return
		}
		w.Write(png)
	}))
	t.Cleanup(srv.Close)
	return srv
}
