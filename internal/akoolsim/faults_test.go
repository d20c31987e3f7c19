package akoolsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

// receiver is a webhook endpoint that answers statuses from a script
// (then 200) and records every body.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	script  []int
	bodies  [][]byte
	headers []http.Header
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	rc := &receiver{script: script}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		rc.headers = append(rc.headers, r.Header.Clone())
		status := http.StatusOK
		if len(rc.script) > 0 {
			status, rc.script = rc.script[0], rc.script[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.bodies)
}

func (rc *receiver) count() int { return len(rc.got()) }

// finalEventsOnly makes a job send one webhook (3 or 4), as before Akool's
// status 2 events were emulated: tests of how one event is delivered
// (retries, faults, restarts) count more simply. Status 2 events are
// tested in TestWebhookSignedAndEncrypted and TestProcessingWebhook*.
func finalEventsOnly(c *Config) {
	c.WebhookStatuses = []akool.Status{akool.StatusCompleted, akool.StatusFailed}
}

func (h *harness) createWithHook(t *testing.T, rc *receiver, extra string) string {
	t.Helper()
	if extra != "" {
		extra = "," + extra
	}
	return h.create(t, h.okBody(`"webhookurl":"`+rc.URL+`/hook"`+extra)).mustOK(t).str(t, "_id")
}

func TestWebhookSignedAndEncrypted(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []akool.Status
		fail       bool
		wantEvents []akool.Status
	}{
		{"completed: 2 then 3 by default", nil, false, []akool.Status{2, 3}},
		{"failed: 2 then 4 by default", nil, true, []akool.Status{2, 4}},
		{"final statuses only", []akool.Status{3, 4}, false, []akool.Status{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.WebhookStatuses = tt.statuses })
			rc := newReceiver(t)
			if tt.fail {
				h.sim.FailNextJob("boom")
			}
			id := h.createWithHook(t, rc, "")
			info := h.finish(t, id)
			h.sim.Step()
			waitFor(t, "webhooks", func() bool { return rc.count() >= len(tt.wantEvents) })
			bodies := rc.got()
			if len(bodies) != len(tt.wantEvents) {
				t.Fatalf("webhooks: got %d, want %d", len(bodies), len(tt.wantEvents))
			}
			for i, body := range bodies {
				ev, err := akool.VerifyWebhook(body, testClient, testKey)
				if err != nil {
					t.Fatalf("VerifyWebhook(%s): %v", body, err)
				}
				wantURL := ""
				if ev.Status == akool.StatusCompleted {
					wantURL = info.ResultURL
				}
				want := akool.WebhookEvent{ID: id, Status: tt.wantEvents[i], Type: "character_swap", URL: wantURL}
				if *ev != want {
					t.Errorf("event %d: got %+v, want %+v", i, *ev, want)
				}
				var top map[string]json.RawMessage
				_ = json.Unmarshal(body, &top)
				if ts := string(top["timestamp"]); ts == "" || ts[0] == '"' {
					t.Errorf("timestamp: got %s, want a JSON number", ts)
				}
				if n := string(top["nonce"]); n == "" || n[0] != '"' {
					t.Errorf("nonce: got %s, want a JSON string", n)
				}
				if len(top) != 4 {
					t.Errorf("body keys: got %d, want exactly signature, dataEncrypt, timestamp, nonce: %s", len(top), body)
				}
			}
			rc.mu.Lock()
			ctype := rc.headers[0].Get("Content-Type")
			rc.mu.Unlock()
			if ctype != "application/json" {
				t.Errorf("Content-Type: got %q, want application/json", ctype)
			}
		})
	}
}

func TestWebhookRetries(t *testing.T) {
	tests := []struct {
		name         string
		attempts     int
		script       []int
		wantAttempts int
		wantLast     int
	}{
		{"200 at once", 5, nil, 1, 200},
		{"until 200", 5, []int{500, 502}, 3, 200},
		{"201 is not 200", 5, []int{201, 204}, 3, 200},
		{"gives up after N", 3, []int{500, 500, 500, 500, 500}, 3, 500},
		{"one attempt only", 1, []int{404}, 1, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { finalEventsOnly(c); c.WebhookAttempts = tt.attempts })
			rc := newReceiver(t, tt.script...)
			id := h.createWithHook(t, rc, "")
			h.finish(t, id)
			for n := 1; n <= tt.wantAttempts; n++ {
				h.sim.Step()
				waitFor(t, "attempt", func() bool { return len(h.sim.Deliveries()) >= n })
				// The next attempt is due after WebhookBackoff·2^(n-1) by the emulator clock.
				h.clock.Advance(time.Second << (n - 1))
			}
			h.clock.Advance(time.Hour)
			h.sim.Step()
			ds := h.sim.Deliveries()
			if len(ds) != tt.wantAttempts || rc.count() != tt.wantAttempts {
				t.Fatalf("attempts: got %d recorded, %d received, want %d", len(ds), rc.count(), tt.wantAttempts)
			}
			last := ds[len(ds)-1]
			if last.HTTPStatus != tt.wantLast || !last.Final || last.Attempt != tt.wantAttempts {
				t.Errorf("last delivery: got %+v, want HTTP %d, final, attempt %d", last, tt.wantLast, tt.wantAttempts)
			}
			bodies := rc.got()
			for _, b := range bodies[1:] {
				if string(b) != string(bodies[0]) {
					t.Errorf("retry body differs from the first:\n%s\n%s", b, bodies[0])
				}
			}
		})
	}
}

func TestWebhookFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     WebhookFault
		wantCount int
		check     func(t *testing.T, h *harness, bodies [][]byte)
	}{
		{"drop", WebhookFault{Drop: true}, 0, func(t *testing.T, h *harness, _ [][]byte) {
			ds := h.sim.Deliveries()
			if len(ds) != 1 || !ds[0].Dropped {
				t.Errorf("deliveries: got %+v, want one dropped", ds)
			}
		}},
		{"duplicate", WebhookFault{Duplicate: true}, 2, func(t *testing.T, h *harness, b [][]byte) {
			if string(b[0]) != string(b[1]) {
				t.Errorf("duplicate bodies differ")
			}
			for _, body := range b {
				if _, err := akool.VerifyWebhook(body, testClient, testKey); err != nil {
					t.Errorf("VerifyWebhook: %v", err)
				}
			}
		}},
		{"bad signature", WebhookFault{BadSignature: true}, 1, func(t *testing.T, h *harness, b [][]byte) {
			if _, err := akool.VerifyWebhook(b[0], testClient, testKey); !errors.Is(err, akool.ErrWebhookSignature) {
				t.Errorf("VerifyWebhook: got %v, want ErrWebhookSignature", err)
			}
		}},
		{"other job's fault does not apply", WebhookFault{JobID: "someone-else", Drop: true}, 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, finalEventsOnly)
			rc := newReceiver(t)
			h.sim.InjectWebhook(tt.fault)
			id := h.createWithHook(t, rc, "")
			h.finish(t, id)
			h.sim.Step()
			if tt.wantCount > 0 {
				waitFor(t, "webhooks", func() bool { return rc.count() >= tt.wantCount })
			}
			waitFor(t, "deliveries to settle", func() bool {
				ds := h.sim.Deliveries()
				return len(ds) >= max(tt.wantCount, 1) && ds[len(ds)-1].Final
			})
			if got := rc.count(); got != tt.wantCount {
				t.Fatalf("webhooks received: got %d, want %d", got, tt.wantCount)
			}
			if tt.check != nil {
				tt.check(t, h, rc.got())
			}
		})
	}
}

func TestWebhookDelayFollowsEmulatorClock(t *testing.T) {
	h := newHarness(t, finalEventsOnly)
	rc := newReceiver(t)
	id := h.createWithHook(t, rc, "")
	h.sim.InjectWebhook(WebhookFault{JobID: id, Delay: 30 * time.Second})
	h.finish(t, id)
	h.sim.Step()
	if got := rc.count(); got != 0 {
		t.Fatalf("before the delay: got %d webhooks, want 0", got)
	}
	if ds := h.sim.Deliveries(); len(ds) != 0 {
		t.Fatalf("before the delay: got deliveries %+v, want none", ds)
	}
	h.clock.Advance(30 * time.Second)
	h.sim.Step()
	waitFor(t, "the delayed webhook", func() bool { return rc.count() == 1 })
}

func TestWebhookWithoutURLOrWithBadURL(t *testing.T) {
	h := newHarness(t, finalEventsOnly)
	id := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	h.finish(t, id)
	h.sim.Step()
	if ds := h.sim.Deliveries(); len(ds) != 0 {
		t.Errorf("no webhookurl: got deliveries %+v, want none", ds)
	}
	id = h.create(t, h.okBody(`"webhookurl":"not a url"`)).mustOK(t).str(t, "_id")
	h.finish(t, id)
	ds := h.sim.Deliveries()
	if len(ds) != 1 || ds[0].Err == "" || !ds[0].Final {
		t.Errorf("bad webhookurl: got %+v, want one final delivery with an error", ds)
	}
}

func TestCallFaults(t *testing.T) {
	createPath := "/api/open/v4/characterSwap/create"
	resultPath := "/api/open/v3/content/video/infobymodelid?video_model_id=x"
	tests := []struct {
		name     string
		ep       Endpoint
		fault    CallFault
		method   string
		path     string
		wantHTTP int
		wantCode int
	}{
		{"create 1015", EndpointCreate, CallFault{Code: 1015}, "POST", createPath, 200, 1015},
		{"create 1005", EndpointCreate, CallFault{Code: 1005}, "POST", createPath, 200, 1005},
		{"create 502", EndpointCreate, CallFault{HTTPStatus: 502}, "POST", createPath, 502, 0},
		{"create 503", EndpointCreate, CallFault{HTTPStatus: 503}, "POST", createPath, 503, 0},
		{"result 1005", EndpointResult, CallFault{Code: 1005}, "GET", resultPath, 200, 1005},
		{"result 500", EndpointResult, CallFault{HTTPStatus: 500}, "GET", resultPath, 500, 0},
		{"quota 2001", EndpointQuota, CallFault{Code: 2001}, "GET", quotaPath, 200, 2001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.sim.InjectCall(tt.ep, tt.fault)
			body := ""
			if tt.method == "POST" {
				body = h.okBody("")
			}
			// A failed auth does not consume the fault.
			if r := h.call(t, tt.method, tt.path, map[string]string{"x-api-key": "bad"}, body); r.Code != 1101 {
				t.Errorf("bad key with a fault queued: got HTTP %d code %d, want 1101", r.HTTP, r.Code)
			}
			r := h.call(t, tt.method, tt.path, nil, body)
			if r.HTTP != tt.wantHTTP || r.Code != tt.wantCode {
				t.Errorf("faulted call: got HTTP %d code %d (%s), want HTTP %d code %d", r.HTTP, r.Code, r.Raw, tt.wantHTTP, tt.wantCode)
			}
			if r = h.call(t, tt.method, tt.path, nil, body); r.Code == tt.wantCode || r.HTTP != 200 {
				t.Errorf("next call: got HTTP %d code %d, want the fault used up", r.HTTP, r.Code)
			}
			if tt.ep == EndpointCreate && h.sim.Balance() != 980 {
				t.Errorf("balance: got %d, want 980 (only the good create charged)", h.sim.Balance())
			}
		})
	}
}

// Every code the client knows gets Akool's description as msg when a fault
// gives none, and a fault's own Msg verbatim.
func TestCallFaultMessages(t *testing.T) {
	h := newHarness(t, nil)
	for _, code := range akool.KnownCodes() {
		h.sim.InjectCall(EndpointQuota, CallFault{Code: code})
		r := h.call(t, "GET", quotaPath, nil, "")
		if r.Code != code || r.Msg == "" || r.Msg == "error" || r.Msg != codeMsg[code] {
			t.Errorf("code %d: got code %d msg %q, want Akool's description", code, r.Code, r.Msg)
		}
	}
	h.sim.InjectCall(EndpointQuota, CallFault{Code: 1005, Msg: "slow <down> & \"wait\""})
	if r := h.call(t, "GET", quotaPath, nil, ""); r.Code != 1005 || r.Msg != `slow <down> & "wait"` || !strings.Contains(r.Raw, `<down> &`) {
		t.Errorf("custom msg: got %d %q (%s)", r.Code, r.Msg, r.Raw)
	}
}

func TestCallFaultCountAndClear(t *testing.T) {
	h := newHarness(t, nil)
	quota := func() int { return h.call(t, "GET", quotaPath, nil, "").Code }
	h.sim.InjectCall(EndpointQuota, CallFault{Code: 1005, Count: 2})
	h.sim.InjectCall(EndpointQuota, CallFault{Code: 2001})
	got := []int{quota(), quota(), quota(), quota()}
	if want := []int{1005, 1005, 2001, 1000}; !slices.Equal(got, want) {
		t.Errorf("codes: got %v, want %v", got, want)
	}
	h.sim.InjectCall(EndpointQuota, CallFault{Code: 1005, Count: Forever})
	for i := range 5 {
		if c := quota(); c != 1005 {
			t.Fatalf("call %d with a Forever fault: got %d, want 1005", i, c)
		}
	}
	h.sim.ClearFaults()
	if c := quota(); c != 1000 {
		t.Errorf("after ClearFaults: got %d, want 1000", c)
	}
}

func TestCreateHangsUntilClientGivesUp(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.InjectCall(EndpointCreate, CallFault{Hang: true})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/open/v4/characterSwap/create", strings.NewReader(h.okBody("")))
	req.Header.Set("x-api-key", testKey)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the client to time out", resp.StatusCode)
	}
	if len(h.sim.Jobs()) != 0 || h.sim.Balance() != 1000 {
		t.Errorf("a hung create must not create or charge: %d jobs, balance %d", len(h.sim.Jobs()), h.sim.Balance())
	}
}

func TestAccountFaults(t *testing.T) {
	h := newHarness(t, nil)
	h.sim.SetSubscribed(false)
	if r := h.create(t, h.okBody("")); r.Code != 1213 {
		t.Errorf("unsubscribed: got code %d, want 1213", r.Code)
	}
	if r := h.call(t, "GET", quotaPath, nil, ""); r.Code != 1000 {
		t.Errorf("unsubscribed quota: got code %d, want 1000", r.Code)
	}
	h.sim.SetSubscribed(true)
	h.sim.SetBanned(true)
	if r := h.create(t, h.okBody("")); r.Code != 1200 {
		t.Errorf("banned: got code %d, want 1200", r.Code)
	}
	h.sim.ClearFaults()
	h.create(t, h.okBody("")).mustOK(t)
}

func TestJobFaults(t *testing.T) {
	h := newHarness(t, nil)

	h.sim.FailNextJob("GPU on fire")
	a := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	b := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	c := h.create(t, h.okBody(`"prompt":"please `+MagicFailPrompt+`"`)).mustOK(t).str(t, "_id")
	d := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	if err := h.sim.FailJob(d, "cancelled by test"); err != nil {
		t.Fatalf("FailJob: %v", err)
	}
	h.finish(t, a)
	for _, id := range []string{b, c, d} {
		h.finish(t, id)
	}
	tests := []struct {
		id         string
		wantStatus akool.Status
		wantReason string
	}{
		{a, akool.StatusFailed, "GPU on fire"},
		{b, akool.StatusCompleted, ""},
		{c, akool.StatusFailed, "magic prompt"},
		{d, akool.StatusFailed, "cancelled by test"},
	}
	for _, tt := range tests {
		info, _ := h.sim.Job(tt.id)
		if info.Status != tt.wantStatus || !strings.Contains(info.FailReason, tt.wantReason) {
			t.Errorf("job %s: got %v %q, want %v %q", tt.id, info.Status, info.FailReason, tt.wantStatus, tt.wantReason)
		}
	}
	if err := h.sim.FailJob(b, "late"); !errors.Is(err, ErrJobFinal) {
		t.Errorf("FailJob on a final job: got %v, want ErrJobFinal", err)
	}
	if err := h.sim.FailJob("nope", "x"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("FailJob on unknown: got %v, want ErrUnknownJob", err)
	}

	info, _ := h.sim.Job(b)
	status := func() int {
		resp, err := http.Get(info.ResultURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != 200 {
		t.Fatalf("result before ExpireResult: got %d, want 200", got)
	}
	if err := h.sim.ExpireResult(b); err != nil {
		t.Fatal(err)
	}
	if got := status(); got != 404 {
		t.Errorf("result after ExpireResult: got %d, want 404", got)
	}
	if err := h.sim.ExpireResult("nope"); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("ExpireResult on unknown: got %v, want ErrUnknownJob", err)
	}
}

// Many clients at once: run with -race.
func TestConcurrentUse(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Credits = 10 * 20; c.SkipInputFetch = true })
	rc := newReceiver(t)
	var wg sync.WaitGroup
	codes := make(chan int, 30)
	for range 30 {
		wg.Go(func() {
			r := h.create(t, h.okBody(`"webhookurl":"`+rc.URL+`"`))
			codes <- r.Code
			if r.Code == 1000 {
				h.poll(t, r.str(t, "_id"))
			}
			h.call(t, "GET", quotaPath, nil, "")
		})
	}
	wg.Go(func() {
		for range 20 {
			h.clock.Advance(20 * time.Second)
			h.sim.Step()
			_ = h.sim.Jobs()
		}
	})
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == 1000 {
			ok++
		}
	}
	if ok != 10 || h.sim.Balance() != 0 {
		t.Errorf("got %d successful creates and balance %d, want 10 and 0", ok, h.sim.Balance())
	}
	h.clock.Advance(time.Hour)
	h.sim.Step()
	// Each job sends two: processing, then completed.
	waitFor(t, "20 webhooks", func() bool { return rc.count() == 20 })
}

// Akool's webhook docs list status 2 (processing) among the events: it is
// signed and encrypted like the others (TestWebhookSignedAndEncrypted),
// retried the same way, and the job's final event waits for it.
func TestProcessingWebhookRetriedBeforeTheFinalOne(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t, 500, 502)
	id := h.createWithHook(t, rc, "")
	h.clock.Advance(time.Minute) // queued -> processing
	h.sim.Step()
	for n := 1; n <= 3; n++ {
		waitFor(t, "attempt", func() bool { return len(h.sim.Deliveries()) >= n })
		h.clock.Advance(time.Second << (n - 1)) // WebhookBackoff·2^(n-1)
		h.sim.Step()
	}
	h.finish(t, id)
	h.sim.Step()
	waitFor(t, "the final event", func() bool { return len(h.sim.Deliveries()) >= 4 })
	type attempt struct {
		status  akool.Status
		attempt int
		http    int
		final   bool
	}
	var got []attempt
	for _, d := range h.sim.Deliveries() {
		got = append(got, attempt{d.Status, d.Attempt, d.HTTPStatus, d.Final})
	}
	want := []attempt{{2, 1, 500, false}, {2, 2, 502, false}, {2, 3, 200, true}, {3, 1, 200, true}}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries:\ngot  %+v\nwant %+v", got, want)
	}
	bodies := rc.got()
	if string(bodies[1]) != string(bodies[0]) || string(bodies[2]) != string(bodies[0]) {
		t.Error("a retry of the processing event is not the same bytes")
	}
	ev, err := akool.VerifyWebhook(bodies[0], testClient, testKey)
	if err != nil || ev.ID != id || ev.Status != akool.StatusProcessing || ev.URL != "" {
		t.Errorf("processing event: got (%+v, %v), want status 2 of %s with no url", ev, err, id)
	}
}

// A fault can name the status it applies to: dropping the processing event
// leaves the final one alone.
func TestWebhookFaultForOneStatus(t *testing.T) {
	h := newHarness(t, nil)
	rc := newReceiver(t)
	h.sim.InjectWebhook(WebhookFault{Status: akool.StatusCompleted, BadSignature: true})
	h.sim.InjectWebhook(WebhookFault{Status: akool.StatusProcessing, Drop: true})
	id := h.createWithHook(t, rc, "")
	h.finish(t, id)
	h.sim.Step()
	// The sim records a delivery once its answer is back, after the
	// receiver has counted it.
	waitFor(t, "the final event", func() bool { return rc.count() == 1 && len(h.sim.Deliveries()) >= 2 })
	ds := h.sim.Deliveries()
	if len(ds) != 2 || ds[0].Status != akool.StatusProcessing || !ds[0].Dropped || ds[1].Status != akool.StatusCompleted || !ds[1].BadSignature {
		t.Errorf("deliveries: got %+v, want processing dropped, then completed with a bad signature", ds)
	}
}
