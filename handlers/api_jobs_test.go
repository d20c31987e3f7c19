package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
)

// apiJob is the part of the API's job object these tests read.
type apiJobView struct {
	ID       int64  `json:"id"`
	Status   string `json:"status"`
	Estimate struct {
		Credits       int64   `json:"credits"`
		BilledSeconds float64 `json:"billed_seconds"`
	} `json:"estimate"`
	Credits struct {
		Held    int64  `json:"held"`
		Charged *int64 `json:"charged"`
	} `json:"credits"`
	Archived bool `json:"archived"`
	URLs     struct {
		Content *string `json:"content"`
		Poster  *string `json:"poster"`
		Page    string  `json:"page"`
	} `json:"urls"`
	ExpiresAt *string `json:"expires_at"`
}

func TestAPIEstimateIsTheFormsEstimate(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, unlimitedChecks)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	before := app.writes(t, u)
	for _, tt := range []struct {
		resolution string
		duration   any
		credits    int64
		after      int64
	}{
		// The sample video is 12 s (the form's table, jobs_test.go).
		{"480p", nil, 15, 85},
		{"720p", nil, 30, 70},
		{"1080p", nil, 45, 55},
		{"720p", 2, 10, 90},
		{"720p", 5.01, 20, 80},
		{"720p", 60, 30, 70},
	} {
		body := app.apiBody()
		body["resolution"] = tt.resolution
		body["duration"] = tt.duration
		res := c.do(req{method: http.MethodPost, path: "/api/v1/estimate", body: body})
		wantAPIStatus(t, res, http.StatusOK)
		var e struct {
			Credits, BalanceAfter, Available int64
			Detected                         *float64 `json:"detected_seconds"`
			Enough                           bool
		}
		res.json(t, &e)
		if e.Credits != tt.credits || e.Available != 100 || e.Detected == nil || *e.Detected < 11 || !e.Enough {
			t.Errorf("%s/%v: %s", tt.resolution, tt.duration, res.body)
		}
		var raw map[string]any
		res.json(t, &raw)
		if got := raw["balance_after"]; got != float64(tt.after) {
			t.Errorf("%s/%v: balance_after %v, want %d", tt.resolution, tt.duration, got, tt.after)
		}
	}
	// Field problems are the form's, keyed by the JSON names; empty links
	// are reported too.
	for _, tt := range []struct {
		name   string
		body   map[string]any
		fields string
		msg    string
	}{
		{"empty", map[string]any{}, "image_url,video_url", "Enter the link"},
		{"duration 0", map[string]any{"duration": 0}, "duration", "from 1 to 120"},
		{"duration 121", map[string]any{"duration": 121}, "duration", "from 1 to 120"},
		{"duration negative", map[string]any{"duration": -5}, "duration", "from 1 to 120"},
		{"duration exponent", nil, "duration", "from 1 to 120"},
		{"mode", map[string]any{"mode": "dance"}, "mode", "animate or replace"},
		{"resolution", map[string]any{"resolution": "4k"}, "resolution", "480p, 720p or 1080p"},
		{"prompt", map[string]any{"prompt": strings.Repeat("a", 501)}, "prompt", "at most 500"},
		{"web page", map[string]any{"image_url": app.media.url("/page.html")}, "image_url", "web page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := app.apiBody()
			if tt.name == "empty" {
				body = map[string]any{}
			}
			for k, v := range tt.body {
				body[k] = v
			}
			var r req
			if tt.name == "duration exponent" {
				// 1e400 is valid JSON but no float64: sent as written.
				r = req{method: http.MethodPost, path: "/api/v1/estimate", invalid: true,
					body: fmt.Sprintf(`{"image_url":%q,"video_url":%q,"duration":1e400}`, app.media.url("/character.png"), app.media.url("/motion.mp4"))}
			} else {
				r = req{method: http.MethodPost, path: "/api/v1/estimate", body: body}
			}
			p := wantProblem(t, c.do(r), problem.Invalid)
			if got := fieldsOf(p); got != tt.fields {
				t.Fatalf("fields %q, want %q (%+v)", got, tt.fields, p.Errors)
			}
			if !strings.Contains(p.Errors[0].Message, tt.msg) {
				t.Errorf("message %q, want %q in it", p.Errors[0].Message, tt.msg)
			}
		})
	}
	if after := app.writes(t, u); after != before {
		t.Errorf("an estimate wrote: before %+v, after %+v", before, after)
	}
	// A short balance is an answer, not an error.
	_, poor := app.member("poor@example.com", 5)
	pc := app.apiClient(t, spec, app.apiToken(t, poor))
	res := pc.do(req{method: http.MethodPost, path: "/api/v1/estimate", body: app.apiBody()})
	wantAPIStatus(t, res, http.StatusOK)
	if !strings.Contains(string(res.body), `"balance_after":-25`) || !strings.Contains(string(res.body), `"enough":false`) {
		t.Errorf("short estimate: %s", res.body)
	}
}

// The estimate shares the form's per-member limit on link checks.
func TestAPIEstimateLimitedPerMember(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	var res *apiResponse
	for range 11 {
		res = c.do(req{method: http.MethodPost, path: "/api/v1/estimate", body: app.apiBody()})
	}
	wantProblem(t, res, problem.RateLimited)
	if res.Header.Get("Retry-After") != "1" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	// New jobs count against the same limit, as the form's do: nothing is
	// checked, written or held.
	before := app.writes(t, u)
	res = c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "over"}})
	wantProblem(t, res, problem.RateLimited)
	if res.Header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	if after := app.writes(t, u); after != before {
		t.Errorf("a refused job wrote: %+v, %+v", before, after)
	}
	// Once the bucket refills, the same key starts the job.
	app.clock.Advance(5 * time.Second)
	res = c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "over"}})
	wantAPIStatus(t, res, http.StatusCreated)
}

func TestAPICreateJobIsIdempotent(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	body := app.apiBody()
	body["prompt"] = "wave hello"

	res := c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: body, header: []string{"Idempotency-Key", "job-1"}})
	wantAPIStatus(t, res, http.StatusCreated)
	var job apiJobView
	res.json(t, &job)
	if job.Status != "queued" || job.Estimate.Credits != 30 || job.Credits.Held != 30 || job.Credits.Charged != nil {
		t.Fatalf("job: %s", res.body)
	}
	if want := app.srv.URL + "/api/v1/jobs/" + strconv.FormatInt(job.ID, 10); res.Header.Get("Location") != want {
		t.Errorf("Location %q, want %q", res.Header.Get("Location"), want)
	}
	if job.URLs.Page != app.srv.URL+"/jobs/"+strconv.FormatInt(job.ID, 10) || job.URLs.Content != nil {
		t.Errorf("urls: %+v", job.URLs)
	}
	after := app.writes(t, u)

	// The same key and body (spelled differently): the same job, nothing
	// held again.
	same := map[string]any{"prompt": " wave hello ", "resolution": "720p", "mode": "animate",
		"video_url": body["video_url"], "image_url": body["image_url"], "duration": nil}
	res = c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: same, header: []string{"Idempotency-Key", "job-1"}})
	wantAPIStatus(t, res, http.StatusOK)
	var again apiJobView
	res.json(t, &again)
	if again.ID != job.ID || res.Header.Get("Location") != "" {
		t.Fatalf("retry made job %d, want %d", again.ID, job.ID)
	}
	// The same key with another body: 409, nothing new.
	other := app.apiBody()
	other["resolution"] = "1080p"
	p := wantProblem(t, c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: other, header: []string{"Idempotency-Key", "job-1"}}),
		problem.IdempotencyConflict)
	if !strings.Contains(p.Detail, strconv.FormatInt(job.ID, 10)) {
		t.Errorf("detail %q does not name the job", p.Detail)
	}
	if got := app.writes(t, u); got != after {
		t.Errorf("retries wrote: %+v, want %+v", got, after)
	}
	if got := app.ledgerKinds(job.ID); got != "hold:-30" {
		t.Errorf("ledger of the job: %q", got)
	}
	// Keys are the member's: another member's same key is their own job.
	_, bo := app.member("bo@example.com", 100)
	bc := app.apiClient(t, spec, app.apiToken(t, bo))
	res = bc.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: body, header: []string{"Idempotency-Key", "job-1"}})
	wantAPIStatus(t, res, http.StatusCreated)

	// Keys: missing, too long, not printable → 400, nothing written; 255
	// printable characters are fine.
	before := app.writes(t, u)
	for _, key := range []string{"", strings.Repeat("k", 256), "tab\tkey"} {
		r := req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", key}, invalid: true}
		p := wantProblem(t, c.do(r), problem.IdempotencyKey)
		if fieldsOf(p) != "Idempotency-Key" {
			t.Errorf("key %q: fields %q", key, fieldsOf(p))
		}
	}
	if got := app.writes(t, u); got != before {
		t.Errorf("bad keys wrote: %+v, want %+v", got, before)
	}
	res = c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", strings.Repeat("k", 254) + "~"}})
	wantAPIStatus(t, res, http.StatusCreated)
}

// Retries that race make one job: the key is unique per member in the
// jobs table, and the hold is written with the job.
func TestAPICreateJobConcurrentRetriesMakeOneJob(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, unlimitedChecks)
	_, u := app.member("ana@example.com", 1000)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	const n = 8
	var wg sync.WaitGroup
	ids := make([]int64, n)
	codes := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			res, err := c.try(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "race"}})
			if err != nil {
				errs[i] = err
				return
			}
			codes[i] = res.StatusCode
			var j apiJobView
			res.json(t, &j)
			ids[i] = j.ID
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if codes[i] == http.StatusCreated {
			created++
		} else if codes[i] != http.StatusOK {
			t.Fatalf("answer %d: %d", i, codes[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("jobs %v", ids)
		}
	}
	if created != 1 {
		t.Errorf("%d answers said created, want 1", created)
	}
	if w := app.writes(t, u); w.jobs != 1 || w.ledger != 2 { // the grant and one hold
		t.Errorf("writes %+v, want 1 job and 2 ledger lines", w)
	}
}

func TestAPICreateJobRefusals(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, poor := app.member("poor@example.com", 5)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, poor))
	before := app.writes(t, poor)
	p := wantProblem(t, c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "k"}}),
		problem.InsufficientCredits)
	if !strings.Contains(p.Detail, "5 credits") || !strings.Contains(p.Detail, "30 credits") {
		t.Errorf("detail %q", p.Detail)
	}
	body := app.apiBody()
	body["video_url"] = ""
	p = wantProblem(t, c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: body, header: []string{"Idempotency-Key", "k"}}),
		problem.Invalid)
	if fieldsOf(p) != "video_url" {
		t.Errorf("fields %q", fieldsOf(p))
	}
	if got := app.writes(t, poor); got != before {
		t.Errorf("refusals wrote: %+v, want %+v", got, before)
	}
}

// Every malformed request is a 400 (413 when too large) problem naming
// what is wrong, and writes nothing.
func TestAPIBadInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	good := fmt.Sprintf(`{"image_url":%q,"video_url":%q}`, app.media.url("/character.png"), app.media.url("/motion.mp4"))
	before := app.writes(t, u)
	for _, tt := range []struct {
		name   string
		body   string
		ctype  string
		want   problem.Type
		fields string
	}{
		{"form body", "image_url=x", "application/x-www-form-urlencoded", problem.BadRequest, "Content-Type"},
		{"no content type", good, "", problem.BadRequest, "Content-Type"},
		{"text", good, "text/plain", problem.BadRequest, "Content-Type"},
		{"empty", "", "application/json", problem.BadRequest, ""},
		{"malformed", `{"image_url": "x",}`, "application/json", problem.BadRequest, ""},
		{"cut short", `{"image_url": "x"`, "application/json", problem.BadRequest, ""},
		{"trailing data", good + `{}`, "application/json", problem.BadRequest, ""},
		{"trailing junk", good + ` x`, "application/json", problem.BadRequest, ""},
		{"array", `[` + good + `]`, "application/json", problem.BadRequest, ""},
		{"null", `null`, "application/json", problem.BadRequest, ""},
		{"unknown field", `{"image_url":"x","video_url":"y","colour":"red"}`, "application/json", problem.BadRequest, "colour"},
		{"idem is the form's", `{"image_url":"x","video_url":"y","idem":"0123456789abcdef"}`, "application/json", problem.BadRequest, "idem"},
		{"duration as text", `{"image_url":"x","video_url":"y","duration":"12"}`, "application/json", problem.BadRequest, "duration"},
		{"url as number", `{"image_url":5,"video_url":"y"}`, "application/json", problem.BadRequest, "image_url"},
		{"prompt as object", `{"image_url":"x","video_url":"y","prompt":{}}`, "application/json", problem.BadRequest, "prompt"},
		{"mode as bool", `{"image_url":"x","video_url":"y","mode":true}`, "application/json", problem.BadRequest, "mode"},
		{"two wrong", `{"resolution":720,"zzz":1}`, "application/json", problem.BadRequest, "resolution,zzz"},
		{"too large", `{"prompt":"` + strings.Repeat("a", 70<<10) + `"}`, "application/json", problem.TooLarge, ""},
		{"over the global limit", `{"prompt":"` + strings.Repeat("a", 2<<20) + `"}`, "application/json", problem.TooLarge, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/jobs", "/api/v1/estimate"} {
				r := req{method: http.MethodPost, path: path, body: tt.body, invalid: true,
					header: []string{"Idempotency-Key", "bad-" + tt.name, "Content-Type", tt.ctype}}
				p := wantProblem(t, c.do(r), tt.want)
				if got := fieldsOf(p); got != tt.fields {
					t.Errorf("%s: fields %q, want %q (%+v)", path, got, tt.fields, p.Errors)
				}
			}
		})
	}
	if after := app.writes(t, u); after != before {
		t.Errorf("bad input wrote: before %+v, after %+v", before, after)
	}
}

// finish drives the emulator and the tracker until job id is final.
func (a *testApp) finish(t *testing.T, id int64) db.Job {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := a.job(id)
		if j.Final() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s", id, j.Status)
		}
		a.clock.Advance(5 * time.Second)
		a.sim.Step()
		a.tracker.PollDue(context.Background())
		time.Sleep(2 * time.Millisecond)
	}
}

func TestAPIGetListDeleteJobs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly, unlimitedChecks)
	_, u := app.member("ana@example.com", 1000)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	var ids []int64
	for i := range 5 {
		res := c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", fmt.Sprint("k", i)}})
		wantAPIStatus(t, res, http.StatusCreated)
		var j apiJobView
		res.json(t, &j)
		ids = append(ids, j.ID)
		if i > 0 {
			continue
		}
		// The first one finishes and is archived; the others run.
		if done := app.finish(t, ids[0]); done.Status != db.JobSucceeded {
			t.Fatalf("job %d %s", done.ID, done.Status)
		}
		if n := app.archiver.ArchiveDue(context.Background()); n != 1 {
			t.Fatalf("archived %d", n)
		}
	}
	path := func(id int64) string { return "/api/v1/jobs/" + strconv.FormatInt(id, 10) }

	res := c.do(req{method: http.MethodGet, path: path(ids[0])})
	wantAPIStatus(t, res, http.StatusOK)
	var j apiJobView
	res.json(t, &j)
	if j.Status != "succeeded" || !j.Archived || j.Credits.Held != 0 || j.Credits.Charged == nil || *j.Credits.Charged != 30 ||
		j.URLs.Content == nil || *j.URLs.Content != app.srv.URL+path(ids[0])+"/content" || j.ExpiresAt == nil {
		t.Errorf("finished job: %s", res.body)
	}

	// Another member's job is a 404 exactly like an unknown one.
	_, bo := app.member("bo@example.com", 0)
	bc := app.apiClient(t, spec, app.apiToken(t, bo))
	unknown := bc.do(req{method: http.MethodGet, path: path(99999)})
	wantProblem(t, unknown, problem.NotFound)
	for _, r := range []req{
		{method: http.MethodGet, path: path(ids[1])},
		{method: http.MethodDelete, path: path(ids[0])},
	} {
		res := bc.do(r)
		wantProblem(t, res, problem.NotFound)
		var p, q problem.Details
		res.json(t, &p)
		unknown.json(t, &q)
		if p.Detail != q.Detail || p.Title != q.Title || p.Type != q.Type {
			t.Errorf("another's job: %+v, unknown: %+v", p, q)
		}
	}
	for _, bad := range []string{"abc", "0", "-1", "1e3"} {
		wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/jobs/" + bad, invalid: true}), problem.NotFound)
	}

	// The list: newest first, paged with signed cursors, by status.
	res = c.do(req{method: http.MethodGet, path: "/api/v1/jobs?limit=2"})
	wantAPIStatus(t, res, http.StatusOK)
	var page struct {
		Data       []apiJobView
		NextCursor *string `json:"next_cursor"`
		Next       *string
	}
	res.json(t, &page)
	var seen []int64
	for {
		for _, d := range page.Data {
			seen = append(seen, d.ID)
		}
		if page.Next == nil {
			break
		}
		if !strings.HasPrefix(*page.Next, app.srv.URL+"/api/v1/jobs?") {
			t.Fatalf("next %q", *page.Next)
		}
		res = c.do(req{method: http.MethodGet, path: strings.TrimPrefix(*page.Next, app.srv.URL)})
		wantAPIStatus(t, res, http.StatusOK)
		page.Data, page.Next, page.NextCursor = nil, nil, nil
		res.json(t, &page)
	}
	if fmt.Sprint(seen) != fmt.Sprint([]int64{ids[4], ids[3], ids[2], ids[1], ids[0]}) {
		t.Errorf("listed %v, want %v newest first", seen, ids)
	}
	res = c.do(req{method: http.MethodGet, path: "/api/v1/jobs?status=succeeded"})
	page.Data = nil
	res.json(t, &page)
	if len(page.Data) != 1 || page.Data[0].ID != ids[0] || page.Next != nil {
		t.Errorf("succeeded: %s", res.body)
	}
	// Bad filters are 422s naming them; a changed cursor a 400.
	p := wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/jobs?status=done&limit=0"}), problem.Invalid)
	if fieldsOf(p) != "limit,status" {
		t.Errorf("fields %q", fieldsOf(p))
	}
	res = c.do(req{method: http.MethodGet, path: "/api/v1/jobs?limit=2"})
	page.NextCursor = nil
	res.json(t, &page)
	cur := *page.NextCursor
	for _, bad := range []string{cur[:len(cur)-2] + "AA", "x" + cur, "abc", "j.5.AAAA"} {
		p := wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/jobs?limit=2&cursor=" + bad}), problem.BadRequest)
		if fieldsOf(p) != "cursor" {
			t.Errorf("fields %q", fieldsOf(p))
		}
	}
	// A cursor is the filter's and the member's it was made for.
	wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/jobs?limit=2&status=queued&cursor=" + cur}), problem.BadRequest)
	wantProblem(t, bc.do(req{method: http.MethodGet, path: "/api/v1/jobs?limit=2&cursor=" + cur}), problem.BadRequest)

	// Delete: a running job is a 409; a finished one goes, with its file.
	before := app.writes(t, u)
	wantProblem(t, c.do(req{method: http.MethodDelete, path: path(ids[1])}), problem.Conflict)
	res = c.do(req{method: http.MethodDelete, path: path(ids[0])})
	wantAPIStatus(t, res, http.StatusNoContent)
	wantProblem(t, c.do(req{method: http.MethodGet, path: path(ids[0])}), problem.NotFound)
	wantProblem(t, c.do(req{method: http.MethodGet, path: path(ids[0]) + "/content"}), problem.NotFound)
	wantProblem(t, c.do(req{method: http.MethodDelete, path: path(ids[0])}), problem.NotFound)
	if after := app.writes(t, u); after.ledger != before.ledger || after.balance != before.balance {
		t.Errorf("delete changed the ledger: %+v, %+v", before, after)
	}
}

func TestAPIContentAndPoster(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c0, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	job := app.archivedResult(t, c0)
	c := app.apiClient(t, spec, app.apiToken(t, u, tokens.JobsRead))
	content := "/api/v1/jobs/" + strconv.FormatInt(job.ID, 10) + "/content"
	res := c.do(req{method: http.MethodGet, path: content})
	wantAPIStatus(t, res, http.StatusOK)
	if int64(len(res.body)) != job.ArchiveSize || res.Header.Get("Content-Type") != "video/mp4" ||
		res.Header.Get("ETag") != `"`+job.ArchiveSHA256+`"` || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("content: %d bytes (want %d), headers %v", len(res.body), job.ArchiveSize, res.Header)
	}
	res = c.do(req{method: http.MethodGet, path: content, header: []string{"Range", "bytes=0-99"}})
	wantAPIStatus(t, res, http.StatusPartialContent)
	if len(res.body) != 100 || !strings.HasPrefix(res.Header.Get("Content-Range"), "bytes 0-99/") {
		t.Errorf("range: %d bytes, %q", len(res.body), res.Header.Get("Content-Range"))
	}
	res = c.do(req{method: http.MethodGet, path: content, header: []string{"If-None-Match", `"` + job.ArchiveSHA256 + `"`}})
	wantAPIStatus(t, res, http.StatusNotModified)
	res = c.do(req{method: http.MethodGet, path: content, header: []string{"Range", "bytes=999999999-"}})
	wantAPIStatus(t, res, http.StatusRequestedRangeNotSatisfiable)
	poster := "/api/v1/jobs/" + strconv.FormatInt(job.ID, 10) + "/poster"
	res = c.do(req{method: http.MethodGet, path: poster})
	wantAPIStatus(t, res, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "image/png" && ct != "image/jpeg" {
		t.Errorf("poster type %q", ct)
	}

	// The gallery's rule: a teammate (gallery:read is enough) may fetch
	// it, until its owner hides it; a running job has nothing.
	_, bo := app.member("bo@example.com", 0)
	bc := app.apiClient(t, spec, app.apiToken(t, bo, tokens.GalleryRead))
	wantAPIStatus(t, bc.do(req{method: http.MethodGet, path: content}), http.StatusOK)
	if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: u.ID}, job.ID, true); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, bc.do(req{method: http.MethodGet, path: content}), problem.NotFound)
	wantProblem(t, bc.do(req{method: http.MethodGet, path: poster}), problem.NotFound)
	wantAPIStatus(t, c.do(req{method: http.MethodGet, path: content}), http.StatusOK)
	running := app.submitted(c0)
	wantProblem(t, c.do(req{method: http.MethodGet, path: "/api/v1/jobs/" + strconv.FormatInt(running.ID, 10) + "/content"}), problem.NotFound)
}

// Prefer: wait answers as soon as the job is final and its video
// archived, with Preference-Applied.
func TestAPIPreferWait(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	_, u := app.member("ana@example.com", 100)
	spec := app.loadAPISpec(t)
	c := app.apiClient(t, spec, app.apiToken(t, u))
	res := c.do(req{method: http.MethodPost, path: "/api/v1/jobs", body: app.apiBody(), header: []string{"Idempotency-Key", "w"}})
	wantAPIStatus(t, res, http.StatusCreated)
	var j apiJobView
	res.json(t, &j)
	path := "/api/v1/jobs/" + strconv.FormatInt(j.ID, 10)

	// No wait: at once, as it is.
	res = c.do(req{method: http.MethodGet, path: path})
	if res.Header.Get("Preference-Applied") != "" {
		t.Errorf("Preference-Applied without Prefer")
	}
	// wait=1 on a running job: answered after about a second, still running.
	began := time.Now()
	res = c.do(req{method: http.MethodGet, path: path, header: []string{"Prefer", "wait=1"}})
	res.json(t, &j)
	if el := time.Since(began); j.Status != "queued" || el < 900*time.Millisecond || res.Header.Get("Preference-Applied") != "wait=1" {
		t.Errorf("wait=1: %s after %v, applied %q", j.Status, el, res.Header.Get("Preference-Applied"))
	}
	// wait=30 while the job finishes and is archived: answered when it is,
	// with the content URL a script fetches next.
	stop := make(chan struct{})
	go func() {
		time.Sleep(200 * time.Millisecond)
		for {
			select {
			case <-stop:
				return
			default:
			}
			app.clock.Advance(5 * time.Second)
			app.sim.Step()
			app.tracker.PollDue(context.Background())
			app.archiver.ArchiveDue(context.Background())
			time.Sleep(20 * time.Millisecond)
		}
	}()
	began = time.Now()
	res = c.do(req{method: http.MethodGet, path: path, header: []string{"Prefer", "respond-async, wait=30"}})
	close(stop)
	j = apiJobView{}
	res.json(t, &j)
	if el := time.Since(began); j.Status != "succeeded" || !j.Archived || el > 10*time.Second || res.Header.Get("Preference-Applied") != "wait=30" {
		t.Errorf("wait=30: %s (archived %v) after %v, applied %q", j.Status, j.Archived, el, res.Header.Get("Preference-Applied"))
	}
	// More than 60 is 60; a final job answers at once.
	began = time.Now()
	res = c.do(req{method: http.MethodGet, path: path, header: []string{"Prefer", "wait=600"}})
	if res.Header.Get("Preference-Applied") != "wait=60" || time.Since(began) > 5*time.Second {
		t.Errorf("wait=600: applied %q after %v", res.Header.Get("Preference-Applied"), time.Since(began))
	}
}
