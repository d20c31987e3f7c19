package akoolsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

// newStateHarness starts a Sim saving to path, on its own server (so each
// restart gets a new port) with BaseURL set to that server, like `serve`.
// Defaults as newHarness, plus SaveDelay 1ms.
func newStateHarness(t *testing.T, clock *FakeClock, in *inputs, path string, mut func(*Config)) *harness {
	t.Helper()
	var cur atomic.Pointer[Sim]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cur.Load().ServeHTTP(w, r)
	}))
	cfg := Config{
		APIKey: testKey, ClientID: testClient, ClientSecret: testKey, Credits: 1000,
		Now: clock.Now, QueueDelay: time.Minute, ProcessDelay: 2 * time.Minute,
		Tick: 5 * time.Millisecond, WebhookBackoff: time.Second,
		BaseURL: srv.URL, StatePath: path, SaveDelay: time.Millisecond,
	}
	if mut != nil {
		mut(&cfg)
	}
	h := &harness{sim: New(cfg), srv: srv, clock: clock, in: in}
	cur.Store(h.sim)
	t.Cleanup(srv.Close)
	t.Cleanup(h.sim.Close)
	return h
}

// stop is the operator stopping the server: the HTTP server first, then the Sim.
func (h *harness) stop() {
	h.srv.Close()
	h.sim.Close()
}

func httpGet(t *testing.T, url string, hdr map[string]string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// syncBuffer collects log output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (s *syncBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(s, nil)) }

// tempFiles lists *.tmp files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".tmp") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRestartKeepsJobsBalanceTokensAndResults(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "sandbox", "akool.json") // the directory does not exist yet
	h1 := newStateHarness(t, clock, in, path, nil)
	tok := h1.token(t)

	done := h1.create(t, h1.okBody(`"duration":10`)).mustOK(t).str(t, "_id")
	failed := h1.create(t, h1.okBody(`"duration":10,"resolution":"1080p"`)).mustOK(t).str(t, "_id")
	if err := h1.sim.FailJob(failed, "Face not detected."); err != nil {
		t.Fatal(err)
	}
	h1.finish(t, done)
	h1.finish(t, failed)
	processing := h1.create(t, h1.okBody(`"duration":10`)).mustOK(t).str(t, "_id")
	h1.clock.Advance(time.Minute) // past QueueDelay only
	if got := h1.poll(t, processing).num(t, "video_status"); got != 2 {
		t.Fatalf("status before restart: got %v, want 2", got)
	}
	queued := h1.create(t, h1.okBody(`"resolution":"480p"`)).mustOK(t).str(t, "_id")
	ids := []string{done, failed, processing, queued}

	before := map[string]reply{}
	for _, id := range ids {
		before[id] = h1.poll(t, id).mustOK(t)
	}
	balance := h1.sim.Balance()
	if want := 1000 - 20 - 20 - 10; balance != want { // the failed job's 30 are refunded
		t.Fatalf("balance before restart: got %d, want %d", balance, want)
	}
	h1.stop()

	h2 := newStateHarness(t, clock, in, path, func(c *Config) { c.Credits = 5 }) // loaded balance wins
	if got := h2.sim.Balance(); got != balance {
		t.Errorf("balance after restart: got %d, want %d", got, balance)
	}
	r := h2.call(t, http.MethodGet, quotaPath, map[string]string{"Authorization": "Bearer " + tok}, "")
	if r.Code != 1000 || r.num(t, "credit") != float64(balance) {
		t.Errorf("quota with the token from before the restart: got %s, want code 1000 credit %d", r.Raw, balance)
	}

	for _, id := range ids {
		got, want := h2.poll(t, id).mustOK(t), before[id]
		for k, v := range want.Data {
			if k == "video" {
				continue
			}
			if string(got.Data[k]) != string(v) {
				t.Errorf("job %s: data.%s after restart: got %s, want %s", id, k, got.Data[k], v)
			}
		}
		if len(got.Data) != len(want.Data) {
			t.Errorf("job %s: fields after restart: got %d, want %d (%s)", id, len(got.Data), len(want.Data), got.Raw)
		}
	}

	// The result URL follows the new server's address, keeps its random
	// part and serves the same bytes, Range included.
	wantURL := h2.srv.URL + strings.TrimPrefix(before[done].str(t, "video"), h1.srv.URL)
	checkResultURL(t, wantURL, h2.srv.URL, done)
	if got := h2.poll(t, done).str(t, "video"); got != wantURL {
		t.Errorf("video after restart: got %q, want %q", got, wantURL)
	}
	if code, b := httpGet(t, wantURL, nil); code != 200 || !bytes.Equal(b, in.clip) {
		t.Errorf("result after restart: got HTTP %d, %d bytes, want 200 and the %d-byte input", code, len(b), len(in.clip))
	}
	if code, b := httpGet(t, wantURL, map[string]string{"Range": "bytes=100-199"}); code != 206 || !bytes.Equal(b, in.clip[100:200]) {
		t.Errorf("range after restart: got HTTP %d %d bytes, want 206 and bytes 100-199 of the input", code, len(b))
	}
	if _, err := os.Stat(filepath.Join(path+".results", done+".mp4")); err != nil {
		t.Errorf("result file: %v", err)
	}

	// The jobs in flight carry on where they were.
	for _, id := range []string{processing, queued} {
		info := h2.finish(t, id)
		if info.Status != akool.StatusCompleted {
			t.Errorf("job %s after restart: got %v (%s), want completed", id, info.Status, info.FailReason)
		}
		if code, b := httpGet(t, info.ResultURL, nil); code != 200 || !bytes.Equal(b, in.clip) {
			t.Errorf("job %s result: got HTTP %d, %d bytes, want the input", id, code, len(b))
		}
	}
	// queued had no duration: charged 10 s at create (10 credits at 480p),
	// settled on the 3.5 s clip (5 credits).
	if got, want := h2.sim.Balance(), balance+5; got != want {
		t.Errorf("balance after the jobs finished: got %d, want %d", got, want)
	}
	// A third run sees what the second one did.
	h2.stop()
	h3 := newStateHarness(t, clock, in, path, nil)
	for _, id := range ids {
		if info, _ := h3.sim.Job(id); !info.Status.Final() {
			t.Errorf("job %s in the third run: got %v, want final", id, info.Status)
		}
	}
	if got := tempFiles(t, filepath.Dir(path)); len(got) != 0 {
		t.Errorf("temp files left: %v", got)
	}
}

// Stop the app, let the emulator's time pass, start it: the job is complete,
// with the times it would have had if the process had kept running.
func TestJobsFinishWhileStopped(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "akool.json")
	cfg := func(c *Config) { c.SkipInputFetch = true }
	h1 := newStateHarness(t, clock, nil, path, cfg)
	id := h1.create(t, `{"image":"https://x/i.png","video":"https://x/v.mp4","duration":10}`).mustOK(t).str(t, "_id")
	h1.stop()

	clock.Advance(time.Hour)
	h2 := newStateHarness(t, clock, nil, path, cfg)
	r := h2.poll(t, id).mustOK(t)
	if got := r.num(t, "video_status"); got != 3 {
		t.Fatalf("status after restart: got %v, want 3 (%s)", got, r.Raw)
	}
	if got, want := int64(r.num(t, "update_time")), t0.Add(3*time.Minute).UnixMilli(); got != want {
		t.Errorf("update_time: got %d, want %d (create + QueueDelay + ProcessDelay)", got, want)
	}
	if code, b := httpGet(t, r.str(t, "video"), nil); code != 200 || !bytes.Equal(b, sampleMP4) {
		t.Errorf("result: got HTTP %d, %d bytes, want the sample", code, len(b))
	}
}

func TestRestartDeliversPendingWebhooks(t *testing.T) {
	tests := []struct {
		name       string
		fault      WebhookFault
		script     []int
		wantBefore int           // requests the receiver saw before the restart
		recorded   int           // attempts the Sim recorded before the restart
		advance    time.Duration // emulator time to let pass after the restart
		wantFinal  int           // the delivering attempt's number (an interrupted one does not count)
	}{
		{name: "retry after a failed attempt", script: []int{500}, wantBefore: 1, recorded: 1, advance: time.Second, wantFinal: 2},
		{name: "first attempt never made", fault: WebhookFault{Delay: time.Hour}, wantBefore: 0, advance: time.Hour, wantFinal: 1},
		{name: "attempt cut short by Close", script: []int{hang}, wantBefore: 1, wantFinal: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock, in := NewFakeClock(t0), newInputs(t)
			path := filepath.Join(t.TempDir(), "akool.json")
			rc := newHookRecorder(t, tt.script...)
			h1 := newStateHarness(t, clock, in, path, finalEventsOnly)
			h1.sim.InjectWebhook(tt.fault)
			id := h1.create(t, h1.okBody(`"webhookurl":"`+rc.URL+`"`)).mustOK(t).str(t, "_id")
			h1.finish(t, id)
			h1.sim.Step()
			// The receiver having the request is not enough: wait until the
			// Sim has recorded the answer, or Close would race with it.
			waitFor(t, "attempts before the restart", func() bool {
				return rc.count() >= tt.wantBefore && len(h1.sim.Deliveries()) >= tt.recorded
			})
			h1.stop()
			if got := rc.count(); got != tt.wantBefore {
				t.Fatalf("requests before the restart: got %d, want %d", got, tt.wantBefore)
			}

			h2 := newStateHarness(t, clock, in, path, finalEventsOnly)
			clock.Advance(tt.advance)
			h2.sim.Step()
			waitFor(t, "the webhook after the restart", func() bool {
				ds := h2.sim.Deliveries()
				return len(ds) > 0 && ds[len(ds)-1].HTTPStatus == 200
			})
			bodies := rc.got()
			last := bodies[len(bodies)-1]
			ev, err := akool.VerifyWebhook(last, testClient, testKey)
			if err != nil {
				t.Fatalf("VerifyWebhook: %v", err)
			}
			if ev.ID != id || ev.Status != akool.StatusCompleted {
				t.Errorf("event: got %+v, want completed %s", *ev, id)
			}
			if info, _ := h2.sim.Job(id); ev.URL != info.ResultURL || !strings.HasPrefix(ev.URL, h2.srv.URL+"/") {
				t.Errorf("event url: got %q, want the result URL on the new server, %q", ev.URL, info.ResultURL)
			}
			if len(bodies) > 1 {
				// A retry is the same event: same timestamp and nonce.
				first, _ := akool.ParseWebhookBody(bodies[0])
				again, _ := akool.ParseWebhookBody(last)
				if first.Timestamp != again.Timestamp || first.Nonce != again.Nonce {
					t.Errorf("retry after restart: got timestamp %s nonce %s, want %s and %s", again.Timestamp, again.Nonce, first.Timestamp, first.Nonce)
				}
			}
			ds := h2.sim.Deliveries()
			if got := ds[len(ds)-1]; !got.Final || got.Attempt != tt.wantFinal {
				t.Errorf("last delivery: got %+v, want final attempt %d", got, tt.wantFinal)
			}
			// Delivered: a further restart sends nothing more.
			n := rc.count()
			h2.stop()
			h3 := newStateHarness(t, clock, in, path, finalEventsOnly)
			clock.Advance(time.Hour)
			h3.sim.Step()
			h3.stop()
			if got := rc.count(); got != n {
				t.Errorf("requests after the delivered webhook's restart: got %d, want %d", got, n)
			}
		})
	}
}

// hang in a hookRecorder script holds the request until the client gives up.
const hang = -1

// hookRecorder is a webhook receiver answering from a script (then 200);
// hang holds the request until the sender cancels it.
type hookRecorder struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	bodies [][]byte
}

func newHookRecorder(t *testing.T, script ...int) *hookRecorder {
	t.Helper()
	rc := &hookRecorder{script: script}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		status := http.StatusOK
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		if status == hang {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *hookRecorder) got() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

func (rc *hookRecorder) count() int { return len(rc.got()) }

func TestStateKeepsGeneratedCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "akool.json")
	noCreds := func(c *Config) { c.APIKey, c.ClientID, c.ClientSecret = "", "", "" }
	clock := NewFakeClock(t0)
	h1 := newStateHarness(t, clock, nil, path, noCreds)
	key, id, secret := h1.sim.Credentials()
	if len(secret) != 32 || key != secret || len(id) != 24 {
		t.Fatalf("generated credentials: got (%q, %q, %q), want a 24-hex clientId and a 32-byte secret equal to the key", key, id, secret)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the state is saved at once on a fresh start: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: got %v, want 0600 (it holds the credentials)", fi.Mode().Perm())
	}
	tok := h1.call(t, http.MethodPost, "/api/open/v3/getToken", map[string]string{},
		`{"clientId":"`+id+`","clientSecret":"`+secret+`"}`).mustOK(t).Token
	h1.stop()

	h2 := newStateHarness(t, clock, nil, path, noCreds)
	if k, i, s := h2.sim.Credentials(); k != key || i != id || s != secret {
		t.Errorf("credentials after restart: got (%q, %q, %q), want (%q, %q, %q)", k, i, s, key, id, secret)
	}
	h2.call(t, http.MethodGet, quotaPath, map[string]string{"x-api-key": key}, "").mustOK(t)
	h2.call(t, http.MethodGet, quotaPath, map[string]string{"Authorization": "Bearer " + tok}, "").mustOK(t)
	h2.stop()

	// Credentials in Config win, and the old account's tokens stop working.
	h3 := newStateHarness(t, clock, nil, path, nil)
	if k, _, _ := h3.sim.Credentials(); k != testKey {
		t.Errorf("Config credentials: got key %q, want %q", k, testKey)
	}
	if r := h3.call(t, http.MethodGet, quotaPath, map[string]string{"Authorization": "Bearer " + tok}, ""); r.Code != 1101 {
		t.Errorf("old account's token with new credentials: got code %d, want 1101", r.Code)
	}
}

func TestStateFileProblems(t *testing.T) {
	valid := func(t *testing.T, path string) []byte {
		t.Helper()
		h := newStateHarness(t, NewFakeClock(t0), nil, path, func(c *Config) { c.SkipInputFetch = true })
		h.create(t, `{"image":"https://x/i.png","video":"https://x/v.mp4"}`).mustOK(t)
		h.stop()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name      string
		prepare   func(t *testing.T, path string)
		wantJobs  int
		wantError bool // logged, and the file moved aside
	}{
		{"missing", func(*testing.T, string) {}, 0, false},
		{"truncated", func(t *testing.T, path string) {
			b := valid(t, path)
			os.WriteFile(path, b[:len(b)/2], 0o600)
		}, 0, true},
		{"empty", func(t *testing.T, path string) { os.WriteFile(path, nil, 0o600) }, 0, true},
		{"not JSON", func(t *testing.T, path string) { os.WriteFile(path, []byte("hello"), 0o600) }, 0, true},
		{"two documents", func(t *testing.T, path string) {
			b := valid(t, path)
			os.WriteFile(path, append(b, b...), 0o600)
		}, 0, true},
		{"newer version", func(t *testing.T, path string) {
			os.WriteFile(path, []byte(`{"version":2,"jobs":[]}`), 0o600)
		}, 0, true},
		{"job id that is a path", func(t *testing.T, path string) {
			b := bytes.Replace(valid(t, path), []byte(`"id": "`), []byte(`"id": "../`), 1)
			os.WriteFile(path, b, 0o600)
		}, 0, true},
		{"invalid status", func(t *testing.T, path string) {
			b := bytes.Replace(valid(t, path), []byte(`"status": 1`), []byte(`"status": 9`), 1)
			os.WriteFile(path, b, 0o600)
		}, 0, true},
		{"a directory", func(t *testing.T, path string) { os.Mkdir(path, 0o700) }, 0, true},
		{"leftover temp file from a crashed save", func(t *testing.T, path string) {
			b := valid(t, path)
			os.WriteFile(path+".123456.tmp", b[:10], 0o600)
		}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "akool.json")
			tt.prepare(t, path)
			var logs syncBuffer
			h := newStateHarness(t, NewFakeClock(t0), nil, path, func(c *Config) {
				c.Logger = logs.logger()
				c.Credits = 77
			})
			if got := len(h.sim.Jobs()); got != tt.wantJobs {
				t.Errorf("jobs: got %d, want %d", got, tt.wantJobs)
			}
			wantBalance := 77
			if tt.wantJobs > 0 {
				wantBalance = 1000 - 20
			}
			if got := h.sim.Balance(); got != wantBalance {
				t.Errorf("balance: got %d, want %d", got, wantBalance)
			}
			h.call(t, http.MethodGet, quotaPath, nil, "").mustOK(t)
			gotError := strings.Contains(logs.String(), "level=ERROR")
			if gotError != tt.wantError {
				t.Errorf("error logged: got %v, want %v\n%s", gotError, tt.wantError, logs.String())
			}
			if _, err := os.Stat(path + ".corrupt"); (err == nil) != tt.wantError {
				t.Errorf("moved aside to .corrupt: got %v, want %v", err == nil, tt.wantError)
			}
			if got := tempFiles(t, filepath.Dir(path)); len(got) != 0 {
				t.Errorf("temp files: got %v, want none", got)
			}
			h.stop()
			// A good state replaced the bad one.
			if _, err := readState(path); err != nil {
				t.Errorf("state after the start: %v", err)
			}
		})
	}
}

// A burst of changes is written once, after SaveDelay; Close writes what is
// still pending.
func TestSavesAreCoalesced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "akool.json")
	h := newStateHarness(t, NewFakeClock(t0), nil, path, func(c *Config) { c.SaveDelay = time.Hour })
	saved := func() int {
		st, err := readState(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Balance
	}
	for i := range 100 {
		h.sim.SetBalance(i)
	}
	if got := saved(); got != 1000 {
		t.Errorf("saved balance within SaveDelay: got %d, want 1000 (not written yet)", got)
	}
	h.stop()
	if got := saved(); got != 99 {
		t.Errorf("saved balance after Close: got %d, want 99", got)
	}

	h = newStateHarness(t, NewFakeClock(t0), nil, path, nil) // SaveDelay 1ms
	h.sim.SetBalance(5)
	waitFor(t, "the debounced save", func() bool { return saved() == 5 })
	if got := tempFiles(t, filepath.Dir(path)); len(got) != 0 {
		t.Errorf("temp files: got %v, want none", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := writeFileAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := writeFileAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "two" {
		t.Errorf("content: got %q, want two", b)
	}
	// A failed write (here: the target is a directory) leaves the old state and no temp file.
	if err := writeFileAtomic(dir, []byte("x")); err == nil {
		t.Error("writing over a directory: got nil, want an error")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("files: got %d, want only f.json", len(entries))
	}
}

func TestExpiredResultsAreDeletedAndStay404(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "akool.json")
	h1 := newStateHarness(t, clock, in, path, nil)
	early := h1.create(t, h1.okBody("")).mustOK(t).str(t, "_id")
	late := h1.create(t, h1.okBody("")).mustOK(t).str(t, "_id")
	h1.finish(t, early)
	h1.finish(t, late)
	resultPath := map[string]string{}
	for _, id := range []string{early, late} {
		info, _ := h1.sim.Job(id)
		resultPath[id] = strings.TrimPrefix(info.ResultURL, h1.srv.URL)
	}
	file := func(id string) string { return filepath.Join(path+".results", id+".mp4") }
	waitFor(t, "the result files", func() bool {
		_, e1 := os.Stat(file(early))
		_, e2 := os.Stat(file(late))
		return e1 == nil && e2 == nil
	})
	if err := h1.sim.ExpireResult(early); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the expired result to be deleted", func() bool {
		_, err := os.Stat(file(early))
		return errors.Is(err, os.ErrNotExist)
	})
	h1.stop()

	clock.Advance(8 * 24 * time.Hour) // past ResultTTL while stopped
	h2 := newStateHarness(t, clock, in, path, nil)
	for _, id := range []string{early, late} {
		if code, _ := httpGet(t, h2.srv.URL+resultPath[id], nil); code != 404 {
			t.Errorf("expired result %s: got HTTP %d, want 404", id, code)
		}
	}
	h2.sim.SetBalance(1) // any change saves, and the save drops expired files
	waitFor(t, "the TTL-expired result to be deleted", func() bool {
		_, err := os.Stat(file(late))
		return errors.Is(err, os.ErrNotExist)
	})
}

// The saver snapshots under the lock and writes outside it while requests
// run; -race checks the handoff.
func TestConcurrentUseWithState(t *testing.T) {
	clock := NewFakeClock(t0)
	path := filepath.Join(t.TempDir(), "akool.json")
	cfg := func(c *Config) { c.SkipInputFetch = true; c.QueueDelay, c.ProcessDelay = NoDelay, NoDelay }
	h := newStateHarness(t, clock, nil, path, cfg)
	var wg sync.WaitGroup
	ids := make(chan string, 40)
	for range 8 {
		wg.Go(func() {
			for range 5 {
				r := h.create(t, `{"image":"https://x/i.png","video":"https://x/v.mp4","duration":5}`)
				if r.Code == 1000 {
					id := r.str(t, "_id")
					ids <- id
					if u := h.poll(t, id).str(t, "video"); u != "" {
						httpGet(t, u, nil)
					}
				}
				clock.Advance(time.Second)
			}
		})
	}
	wg.Wait()
	close(ids)
	h.stop()
	h2 := newStateHarness(t, clock, nil, path, cfg)
	n := 0
	for id := range ids {
		n++
		if info, ok := h2.sim.Job(id); !ok || info.Status != akool.StatusCompleted {
			t.Errorf("job %s after restart: got %v (found %v), want completed", id, info.Status, ok)
		}
	}
	if got, want := h2.sim.Balance(), 1000-10*n; got != want {
		t.Errorf("balance: got %d, want %d", got, want)
	}
}

// A job whose inputs were fetched before the stop does not fetch them again:
// they may be gone (the sandbox's samples move with the port).
func TestRestartKeepsFetchedInputs(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "akool.json")
	h1 := newStateHarness(t, clock, in, path, nil)
	id := h1.create(t, h1.okBody("")).mustOK(t).str(t, "_id")
	clock.Advance(time.Minute)
	h1.sim.Step()
	waitFor(t, "the input fetch", func() bool {
		h1.sim.mu.Lock()
		defer h1.sim.mu.Unlock()
		return h1.sim.jobs[id].probe != nil
	})
	h1.stop()
	in.Close()

	h2 := newStateHarness(t, clock, nil, path, nil)
	info := h2.finish(t, id)
	if info.Status != akool.StatusCompleted || info.Duration != 3.5 {
		t.Fatalf("after restart: got %v, %vs (%s), want completed, 3.5s detected", info.Status, info.Duration, info.FailReason)
	}
	if code, b := httpGet(t, info.ResultURL, nil); code != 200 || !bytes.Equal(b, in.clip) {
		t.Errorf("result: got HTTP %d, %d bytes, want the %d-byte input", code, len(b), len(in.clip))
	}
}

// A failed job's saved input video is deleted; its poll stays the same.
func TestFailedJobVideoIsDeleted(t *testing.T) {
	clock, in := NewFakeClock(t0), newInputs(t)
	path := filepath.Join(t.TempDir(), "akool.json")
	h := newStateHarness(t, clock, in, path, nil)
	id := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	clock.Advance(time.Minute)
	h.sim.Step()
	file := filepath.Join(path+".results", id+".mp4")
	waitFor(t, "the fetched input to be saved", func() bool { _, err := os.Stat(file); return err == nil })
	if err := h.sim.FailJob(id, "Face not detected."); err != nil {
		t.Fatal(err)
	}
	if info := h.finish(t, id); info.Status != akool.StatusFailed {
		t.Fatalf("status: got %v, want failed", info.Status)
	}
	waitFor(t, "the video to be deleted", func() bool {
		_, err := os.Stat(file)
		return errors.Is(err, os.ErrNotExist)
	})
}

// answerAtClose is a transport whose receiver answers 500 just as the Sim
// closes: the answer arrives after the request's context is done.
type answerAtClose struct{ started chan struct{} }

func (a *answerAtClose) RoundTrip(r *http.Request) (*http.Response, error) {
	close(a.started)
	<-r.Context().Done()
	return &http.Response{StatusCode: http.StatusInternalServerError, Header: http.Header{},
		Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

// An attempt the receiver answered counts, even when Close came while its
// answer was on the way; only one cut short before any answer does not.
func TestCloseKeepsAnAnsweredAttempt(t *testing.T) {
	rt := &answerAtClose{started: make(chan struct{})}
	path := filepath.Join(t.TempDir(), "akool.json")
	clock := NewFakeClock(t0)
	h := newStateHarness(t, clock, newInputs(t), path, func(c *Config) {
		finalEventsOnly(c)
		c.SkipInputFetch = true
		c.HTTPClient = &http.Client{Transport: rt}
	})
	id := h.create(t, h.okBody(`"webhookurl":"http://hook.example/akool"`)).mustOK(t).str(t, "_id")
	h.finish(t, id)
	h.sim.Step()
	<-rt.started
	h.stop()
	ds := h.sim.Deliveries()
	if len(ds) != 1 || ds[0].Attempt != 1 || ds[0].HTTPStatus != 500 || ds[0].Final {
		t.Fatalf("deliveries: got %+v, want attempt 1 answered 500, not final", ds)
	}
	// The saved state agrees: a restart makes attempt 2, not attempt 1 again.
	var st stateFile
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Webhooks) != 1 || st.Webhooks[0].Attempt != 1 {
		t.Errorf("saved pending webhooks: got %+v, want one with 1 attempt made", st.Webhooks)
	}
}
