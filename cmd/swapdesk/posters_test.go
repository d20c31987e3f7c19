package main

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"swapdesk/db"
)

// swapdesk media posters makes the posters that failed (or all, with
// --all) and says how it went.
func TestMediaPostersCommand(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not on PATH; install it to run this test")
	}
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir,
		"SWAPDESK_ADMIN_EMAIL": "boss@example.com", "SWAPDESK_ADMIN_PASSWORD": "a long enough password"}
	s := startServe(t, vars, "--sandbox-queue-delay", "0s", "--sandbox-process-delay", "0s")
	if err := run(context.Background(), []string{"user", "grant", "--email", "boss@example.com", "--credits", "100"},
		env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, "boss@example.com", "a long enough password"); got != http.StatusSeeOther {
		t.Fatalf("sign in: %d", got)
	}
	id := submitSample(t, c, s.URL, "")
	waitJob(t, dir, id, "postered", func(j db.Job) bool { return j.PosterState == db.PosterDone })

	// As if ffmpeg had failed on it three times.
	conn, err := sql.Open("sqlite", db.DSN(dbPath(dir)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(`UPDATE jobs SET poster_state = 'failed', poster_key = '', preview_key = '', poster_attempts = 3 WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	for _, args := range [][]string{{"media", "posters"}, {"media", "posters", "--all"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, env(vars), nil, &out, io.Discard); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out.String())
		}
		if !strings.Contains(out.String(), "tried 1 results (1 put back in line)") || !strings.Contains(out.String(), "1 with a poster") {
			t.Errorf("%v said %q", args, out.String())
		}
		j := waitJob(t, dir, id, "postered", func(j db.Job) bool { return j.PosterState == db.PosterDone })
		if j.PosterKey == "" || j.PreviewKey == "" {
			t.Errorf("%v: poster %q, preview %q", args, j.PosterKey, j.PreviewKey)
		}
	}
	// Nothing to do: says so, and succeeds.
	var out bytes.Buffer
	if err := run(context.Background(), []string{"media", "posters"}, env(vars), nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "tried 0 results") {
		t.Errorf("a second run: %v, %q", err, out.String())
	}
}
