package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

// TestClientAgainstStandaloneSandbox points the production client at
// `swapdesk sandbox` by changing only the base URL and key, as a developer
// would switch between the sandbox and Akool.
func TestClientAgainstStandaloneSandbox(t *testing.T) {
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
	mp4, _ := os.ReadFile("../../static/samples/motion.mp4")
	png, _ := os.ReadFile("../../static/samples/character.png")
	inputs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp4") {
			w.Write(mp4)
			return
		}
		w.Write(png)
	}))
	defer inputs.Close()

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
	for _, args := range [][]string{
		{"sandbox", "--addr", "nope"},
		{"sandbox", "--credits", "-1"},
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
