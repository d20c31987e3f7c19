package akoolsim

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

// noBackgroundSave leaves only the saves made before answering: the
// coalescing saver would wait an hour.
func noBackgroundSave(c *Config) { c.SaveDelay = time.Hour }

// savedJob reads job id from the state file as it is on disk now.
func savedJob(t *testing.T, path, id string) (jobState, bool) {
	t.Helper()
	st, err := readState(path)
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	i := slices.IndexFunc(st.Jobs, func(j jobState) bool { return j.ID == id })
	if i < 0 {
		return jobState{}, false
	}
	return st.Jobs[i], true
}

// What the API acknowledged is on disk before the answer: a kill -9 right
// after it, simulated by opening a second emulator from the same file
// without closing the first, loses nothing.
func TestAcknowledgedStateSurvivesACrash(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "akool.json")

	// The webhook receiver notes, for every event, the job's status in the
	// state file at the moment the event arrives.
	type seen struct{ event, onDisk akool.Status }
	var mu sync.Mutex
	var events []seen
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ev, err := akool.VerifyWebhook(b, testClient, testKey)
		if err != nil {
			t.Errorf("webhook: %v", err)
			return
		}
		st, err := readState(path)
		if err != nil {
			t.Errorf("read state: %v", err)
			return
		}
		var onDisk akool.Status
		if i := slices.IndexFunc(st.Jobs, func(j jobState) bool { return j.ID == ev.ID }); i >= 0 {
			onDisk = st.Jobs[i].Status
		}
		mu.Lock()
		events = append(events, seen{ev.Status, onDisk})
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)

	h1 := newStateHarness(t, clock, in, path, noBackgroundSave)
	// crash opens the file as it is now in a second emulator, h1 still
	// running. Its own stopped clock keeps it from moving jobs on.
	crash := func() *harness {
		return newStateHarness(t, NewFakeClock(clock.Now()), in, path, noBackgroundSave)
	}

	tok := h1.token(t)
	id := h1.create(t, h1.okBody(`"duration":10,"webhookurl":"`+hook.URL+`"`)).mustOK(t).str(t, "_id")
	h2 := crash()
	if r := h2.poll(t, id); r.Code != 1000 || r.num(t, "video_status") != 1 {
		t.Fatalf("job after the crash: got %s, want code 1000, video_status 1", r.Raw)
	}
	if got, want := h2.sim.Balance(), h1.sim.Balance(); got != want {
		t.Errorf("balance after the crash: got %d, want %d", got, want)
	}
	r := h2.call(t, http.MethodGet, quotaPath, map[string]string{"Authorization": "Bearer " + tok}, "")
	if r.Code != 1000 {
		t.Errorf("token after the crash: got %s, want code 1000", r.Raw)
	}

	// A status a poll showed is on disk (a restarted emulator would redo
	// the move by the clock, so the file itself is checked).
	clock.Advance(time.Minute)
	if got := h1.poll(t, id).num(t, "video_status"); got != 2 {
		t.Fatalf("poll: got video_status %v, want 2", got)
	}
	if js, _ := savedJob(t, path, id); js.Status != akool.StatusProcessing {
		t.Errorf("status on disk after a poll showed 2: got %d, want 2", js.Status)
	}
	h1.finish(t, id)
	video := h1.poll(t, id).mustOK(t).str(t, "video")
	key := checkResultURL(t, video, h1.srv.URL, id)
	if js, _ := savedJob(t, path, id); js.Status != akool.StatusCompleted || js.ResultKey != key {
		t.Errorf("on disk after a poll showed 3: got status %d key %q, want 3 and %q", js.Status, js.ResultKey, key)
	}
	h3 := crash()
	if got := h3.poll(t, id).str(t, "video"); strings.TrimPrefix(got, h3.srv.URL) != strings.TrimPrefix(video, h1.srv.URL) {
		t.Errorf("result URL after the crash: got %q, want the same path as %q", got, video)
	}

	// Webhooks too: an event goes out only once its status is on disk.
	h1.sim.Step()
	waitFor(t, "the webhooks", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0 && events[len(events)-1].event == akool.StatusCompleted
	})
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		if e.onDisk < e.event {
			t.Errorf("webhook for status %d arrived while the file said %d", e.event, e.onDisk)
		}
	}
}

// A create (or a token) that cannot be saved is not acknowledged: the
// client is told to try again and nothing is kept or charged.
func TestUnsavedCreateIsRefused(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	dir := filepath.Join(t.TempDir(), "sandbox")
	path := filepath.Join(dir, "akool.json")
	h := newStateHarness(t, clock, in, path, noBackgroundSave)
	before := h.sim.Balance()

	// The state directory becomes a file: every save fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := h.create(t, h.okBody(`"duration":10`)); r.Code != 1015 {
		t.Errorf("create that cannot be saved: got %s, want code 1015", r.Raw)
	}
	if got := h.sim.Balance(); got != before {
		t.Errorf("balance: got %d, want %d (nothing charged)", got, before)
	}
	if jobs := h.sim.Jobs(); len(jobs) != 0 {
		t.Errorf("jobs: got %+v, want none", jobs)
	}
	r := h.call(t, http.MethodPost, "/api/open/v3/getToken", map[string]string{"Content-Type": "application/json"},
		`{"clientId":"`+testClient+`","clientSecret":"`+testKey+`"}`)
	if r.Code != 2001 || r.Token != "" {
		t.Errorf("token that cannot be saved: got %s, want code 2001 and no token", r.Raw)
	}

	// Once the disk is back, creates work and the refused one never appears.
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	id := h.create(t, h.okBody(`"duration":10`)).mustOK(t).str(t, "_id")
	st, err := readState(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Jobs) != 1 || st.Jobs[0].ID != id || st.Balance != before-20 {
		t.Errorf("saved: got %d jobs, balance %d, want only %s and balance %d", len(st.Jobs), st.Balance, id, before-20)
	}
}

// A state file saved before result URLs had a random part: its jobs get
// one on load, saved at once, and the old guessable URL is 404.
func TestOldStateGetsResultKeys(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "akool.json")
	h1 := newStateHarness(t, clock, in, path, nil)
	id := h1.create(t, h1.okBody("")).mustOK(t).str(t, "_id")
	h1.finish(t, id)
	h1.stop()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := regexp.MustCompile(`\s*"result_key": "[0-9a-f]*",`).ReplaceAll(raw, nil)
	if bytes.Equal(old, raw) {
		t.Fatal("no result_key in the state file to remove")
	}
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}

	h2 := newStateHarness(t, clock, in, path, noBackgroundSave)
	video := h2.poll(t, id).mustOK(t).str(t, "video")
	key := checkResultURL(t, video, h2.srv.URL, id)
	if js, _ := savedJob(t, path, id); js.ResultKey != key {
		t.Errorf("saved key: got %q, want %q", js.ResultKey, key)
	}
	if code, _ := httpGet(t, video, nil); code != 200 {
		t.Errorf("GET %s: got %d, want 200", video, code)
	}
	if code, _ := httpGet(t, h2.srv.URL+"/results/"+id+".mp4", nil); code != 404 {
		t.Errorf("the old URL: got %d, want 404", code)
	}
}
