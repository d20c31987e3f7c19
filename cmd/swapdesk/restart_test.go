package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/fields"
)

// freeAddr returns a loopback address nobody listens on, so the app can come
// back on the same port after a restart (as an operator's would).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitJob polls the database (as a second reader, WAL) until cond holds.
func waitJob(t *testing.T, dir string, id int64, what string, cond func(db.Job) bool) db.Job {
	t.Helper()
	store, err := db.Open(context.Background(), dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := store.JobByID(context.Background(), id)
		if err == nil && cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d never became %s (now %s, archive %q)", id, what, j.Status, j.ArchiveState)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRestartMidJobLosesNothing stops the app while Akool (the sandbox) is
// processing a job, lets the job finish while the app is down, and starts
// the app again: the job completes, is archived, and the credits are exact.
func TestRestartMidJobLosesNothing(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir, "SWAPDESK_ADDR": freeAddr(t),
		"SWAPDESK_ADMIN_EMAIL": "boss@example.com", "SWAPDESK_ADMIN_PASSWORD": "a long enough password"}
	flags := []string{"--sandbox-queue-delay", "300ms", "--sandbox-process-delay", "3s"}
	s := startServe(t, vars, flags...)
	if err := run(context.Background(), []string{"user", "grant", "--email", "boss@example.com", "--credits", "100"},
		env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, "boss@example.com", "a long enough password"); got != http.StatusSeeOther {
		t.Fatalf("sign in: %d", got)
	}
	res, err := c.Get(s.URL + "/jobs/new?sample=1")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	form := url.Values{}
	for _, name := range []string{fields.CSRF, fields.Idem, fields.ImageURL, fields.VideoURL} {
		v, _ := doc.Find(`input[name="` + name + `"]`).Attr("value")
		form.Set(name, v)
	}
	form.Set(fields.Mode, "animate")
	form.Set(fields.Resolution, "720p")
	res, err = c.PostForm(s.URL+"/jobs", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)

	// Stop while the sandbox is processing (queued for 300 ms, then 3 s of
	// processing) and before our first poll (5 s after submitting).
	time.Sleep(time.Second)
	s.stop()
	if j := waitJob(t, dir, id, "open", func(db.Job) bool { return true }); j.Final() {
		t.Fatalf("the job finished before the stop (%s); the test proves nothing", j.Status)
	}
	// Akool keeps working while we are down.
	time.Sleep(3 * time.Second)

	startServe(t, vars, flags...)
	job := waitJob(t, dir, id, "archived", func(j db.Job) bool { return j.ArchiveState == db.ArchiveDone })
	if job.Status != db.JobSucceeded || job.ChargedCredits == nil || *job.ChargedCredits != 30 {
		t.Fatalf("after restart: %s charged %v", job.Status, job.ChargedCredits)
	}
	store, _ := db.Open(context.Background(), dbPath(dir))
	defer store.Close()
	bal, _ := store.Balance(context.Background(), job.UserID)
	entries, _ := store.LedgerForJob(context.Background(), id)
	var kinds []string
	for _, e := range entries {
		kinds = append(kinds, e.Kind+":"+strconv.FormatInt(e.Amount, 10))
	}
	if bal.Available != 70 || bal.Held != 0 || bal.Spent != 30 || strings.Join(kinds, ",") != "hold:-30,release:30,charge:-30" {
		t.Errorf("balance %+v, ledger %v; want exact: 70 available, 30 spent", bal, kinds)
	}
}
