package handlers_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/akoolsim"
)

// Issue 5, "Performance": a card poll for a member with 100k jobs in the
// database, as a throughput ratio of /healthz measured in the same run
// (target >= 0.5), with p50 and p99 latency.
const (
	benchMemberJobs = 100_000
	benchOtherJobs  = 20_000
	// benchClients goroutines, each with its own kept-alive connection,
	// send requests back to back.
	benchClients = 8
)

// BenchmarkCardVsHealthz measures GET /jobs/:id/card against GET /healthz
// over real HTTP: benchClients goroutines, one client, the same headers
// (session cookie, HX-Request) for both, to the real router over a SQLite
// database seeded with benchMemberJobs jobs of the signed-in member and
// benchOtherJobs of another member. The cards asked for are the member's
// own, in random order, in every state (running ones answer 200, final ones
// 286).
//
// Each run sends b.N cards (timed: ns/op, B/op are the card's) between two
// halves of b.N healthz requests (untimed), so drift on a shared machine
// hits both alike, and reports ratio = card req/s ÷ healthz req/s with
// client-side p50/p99 of each (body read included). The card path must
// make no Akool call: a one-shot fault armed on every emulator endpoint
// must still be there afterwards.
func BenchmarkCardVsHealthz(b *testing.B) {
	app := newTestApp(b)
	c, member := app.member("ana@example.com", 0)
	_, other := app.member("bo@example.com", 0)
	ids := seedJobs(b, dbFile(b), member.ID, other.ID, benchMemberJobs, benchOtherJobs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	cardPaths := make([]string, len(ids))
	for i, id := range ids {
		cardPaths[i] = "/jobs/" + strconv.FormatInt(id, 10) + "/card"
	}
	hdr := http.Header{}
	hdr.Set("Cookie", cookieHeader(b, c))
	hdr.Set("HX-Request", "true")
	ld := &loadDriver{base: app.srv.URL, header: hdr, client: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: benchClients,
		DisableCompression:  true,
	}}}
	b.Cleanup(ld.client.CloseIdleConnections)
	healthz := func(uint64) string { return "/healthz" }
	card := func(n uint64) string { return cardPaths[n%uint64(len(cardPaths))] }

	trip := armAkoolTripwire(app.sim)
	akoolJobs := len(app.sim.Jobs())
	b.Run(fmt.Sprintf("jobs=%d", benchMemberJobs), func(b *testing.B) {
		b.StopTimer()
		h1 := ld.run(b, b.N/2, healthz, http.StatusOK)
		b.StartTimer()
		cr := ld.run(b, b.N, card, http.StatusOK, 286)
		b.StopTimer()
		h2 := ld.run(b, b.N-b.N/2, healthz, http.StatusOK)
		if b.Failed() {
			return
		}
		hr := h1.merge(h2)
		b.ReportMetric(cr.rate()/hr.rate(), "ratio")
		b.ReportMetric(cr.rate(), "card-req/s")
		b.ReportMetric(cr.percentile(50), "card-p50-ms")
		b.ReportMetric(cr.percentile(99), "card-p99-ms")
		b.ReportMetric(hr.rate(), "healthz-req/s")
		b.ReportMetric(hr.percentile(50), "healthz-p50-ms")
		b.ReportMetric(hr.percentile(99), "healthz-p99-ms")
	})
	trip.check(b)
	if n := len(app.sim.Jobs()); n != akoolJobs {
		b.Errorf("the emulator has %d jobs after the card polls, want %d", n, akoolJobs)
	}
}

// loadDriver sends GETs from benchClients goroutines.
type loadDriver struct {
	client *http.Client
	base   string
	header http.Header
}

// loadResult is what one loadDriver.run saw.
type loadResult struct {
	elapsed time.Duration
	durs    []time.Duration // per request, sorted
}

func (r loadResult) rate() float64 { return float64(len(r.durs)) / r.elapsed.Seconds() }

// percentile returns the p-th percentile latency in milliseconds.
func (r loadResult) percentile(p int) float64 {
	if len(r.durs) == 0 {
		return 0
	}
	return float64(r.durs[(len(r.durs)-1)*p/100].Microseconds()) / 1000
}

func (r loadResult) merge(o loadResult) loadResult {
	durs := slices.Concat(r.durs, o.durs)
	slices.Sort(durs)
	return loadResult{elapsed: r.elapsed + o.elapsed, durs: durs}
}

// run sends n GETs of path(0), path(1)… and fails b on an error or a
// status not in want.
func (d *loadDriver) run(b *testing.B, n int, path func(i uint64) string, want ...int) loadResult {
	var (
		next atomic.Uint64
		mu   sync.Mutex
		all  = make([]time.Duration, 0, n)
		wg   sync.WaitGroup
	)
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			local := make([]time.Duration, 0, n/benchClients+1)
			defer func() {
				mu.Lock()
				all = append(all, local...)
				mu.Unlock()
			}()
			for i := next.Add(1) - 1; i < uint64(n); i = next.Add(1) - 1 {
				req, err := http.NewRequest(http.MethodGet, d.base+path(i), nil)
				if err != nil {
					b.Error(err)
					return
				}
				req.Header = d.header.Clone()
				t0 := time.Now()
				res, err := d.client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				size, err := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				local = append(local, time.Since(t0))
				if err != nil || size == 0 || !slices.Contains(want, res.StatusCode) {
					b.Errorf("GET %s: status %d, %d bytes, err %v; want a body and a status in %v",
						req.URL.Path, res.StatusCode, size, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	return loadResult{elapsed: elapsed, durs: all}
}

// TestCardPollCallsNoAkool polls the card of a running and of a finished
// job and checks the emulator saw no call at all.
func TestCardPollCallsNoAkool(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, member := app.member("ana@example.com", 0)
	_, other := app.member("bo@example.com", 0)
	ids := seedJobs(t, dbFile(t), member.ID, other.ID, 60, 10)
	trip := armAkoolTripwire(app.sim)
	seen := map[int]bool{}
	for _, id := range ids {
		r, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/jobs/"+strconv.FormatInt(id, 10)+"/card", nil)
		r.Header.Set("HX-Request", "true")
		res := c.do(r)
		if res.StatusCode != http.StatusOK && res.StatusCode != 286 {
			t.Fatalf("card %d: status %d\n%s", id, res.StatusCode, snippet(res.body))
		}
		seen[res.StatusCode] = true
	}
	if !seen[http.StatusOK] || !seen[286] {
		t.Errorf("statuses seen %v, want both running (200) and final (286) cards", seen)
	}
	trip.check(t)
	if n := len(app.sim.Jobs()); n != 0 {
		t.Errorf("the emulator has %d jobs, want 0", n)
	}
}

// dbFile returns the database file newTestApp(tb) opened: every temp dir
// of one test shares a parent, so it is in a sibling of a new one.
func dbFile(tb testing.TB) string {
	tb.Helper()
	matches, err := filepath.Glob(filepath.Join(filepath.Dir(tb.TempDir()), "*", "swapdesk.db"))
	if err != nil || len(matches) != 1 {
		tb.Fatalf("looking for the test database: found %q (err %v), want exactly one", matches, err)
	}
	return matches[0]
}

// openSide opens a second pool on the app's database, as db.Open would,
// with extra per-connection pragmas.
func openSide(tb testing.TB, path string, pragmas ...string) *sql.DB {
	tb.Helper()
	dsn := db.DSN(path)
	for _, p := range pragmas {
		dsn += "&_pragma=" + url.QueryEscape(p)
	}
	side, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { side.Close() })
	return side
}

// seedJobs writes mine jobs of member and theirs of other (interleaved, so
// the member's ids are not one run) in one transaction of raw INSERTs, and
// returns the ids of the member's jobs that are not deleted. The spread is
// a team's year: most succeeded (mostly archived), some failed, rejected
// or interrupted, half the newest 1% queued or processing right now, 1% deleted.
func seedJobs(tb testing.TB, path string, member, other int64, mine, theirs int) []int64 {
	tb.Helper()
	ctx := context.Background()
	// The statement journal of each INSERT stays in memory.
	side := openSide(tb, path, "temp_store(MEMORY)")
	tx, err := side.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url,
			mode, resolution, duration_requested, duration_detected, billed_seconds, estimate_credits, charged_credits,
			prompt, akool_id, error_message, result_url, created_at, updated_at, finished_at,
			video_duration, next_poll_at, archive_state, archive_path, archive_sha256, archive_size,
			result_expires_at, deleted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		RETURNING id`)
	if err != nil {
		tb.Fatal(err)
	}
	defer stmt.Close()

	// The harness clock's now; the newest jobs are still running.
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(5, 2026))
	resolutions := []string{"480p", "720p", "1080p"}
	modes := []string{"animate", "replace"}
	total := mine + theirs
	var ids []int64
	assigned := 0 // jobs given to member so far
	for i := range total {
		owner := other
		if assigned*total < (i+1)*mine { // spread member's jobs evenly among other's
			owner = member
			assigned++
		}
		// Oldest first: ages run from a year down to a minute.
		age := time.Duration(float64(365*24*time.Hour) * float64(total-i) / float64(total))
		created := now.Add(-age - time.Minute)
		secs := float64(3 + rng.IntN(58))
		estimate := int64(secs) * int64(5+rng.IntN(3)*5)
		var (
			status                      db.JobStatus
			charged, finished, nextPoll any
			archiveState, expires, del  any
			akoolID                     any = fmt.Sprintf("6750%020d", i)
			errMsg, resultURL, prompt   string
			archivePath, sha            string
			archiveSize                 int64
			videoDuration               any
			updated                     = created.Add(time.Duration(30+rng.IntN(300)) * time.Second)
			roll                        = rng.IntN(1000)
			imageURL                    = fmt.Sprintf("https://cdn.example.com/characters/%d/portrait-%d.png", owner, rng.IntN(500))
			videoURL                    = fmt.Sprintf("https://cdn.example.com/motion/%d/clip-%d.mp4", owner, rng.IntN(2000))
		)
		var durReq, durDet any = nil, secs
		if rng.IntN(4) == 0 {
			durReq = secs
		}
		if rng.IntN(5) == 0 {
			prompt = "keep the lighting warm and the background soft"
		}
		switch {
		case i >= total-max(total/100, 4) && i%4 < 2: // half the newest 1% are still running
			status = db.JobQueued
			if roll%2 == 0 {
				status = db.JobProcessing
			}
			created = now.Add(-time.Duration(rng.IntN(600)) * time.Second)
			updated, nextPoll = created, created.Add(5*time.Second).UnixMilli()
		case roll < 40:
			status, charged, errMsg = db.JobFailed, 0, "Akool could not make this video."
		case roll < 50:
			status, akoolID, errMsg = db.JobRejected, nil, "Akool refused the job: the image has no visible face."
		case roll < 55:
			status, akoolID, errMsg = db.JobInterrupted, nil, "Swapdesk stopped while sending this job to Akool."
		default:
			status, charged, videoDuration = db.JobSucceeded, estimate-int64(rng.IntN(3)), secs
			resultURL = fmt.Sprintf("https://d11fbe263bhqij.cloudfront.net/agicontent/video/%s/result.mp4", akoolID)
			exp := updated.Add(7 * 24 * time.Hour)
			expires = exp.UnixMilli()
			switch r := rng.IntN(100); {
			case r < 90 || exp.Before(now) && r < 95:
				archiveState = db.ArchiveDone
				archivePath = fmt.Sprintf("%s/%d.mp4", updated.Format("2006-01"), i+1)
				sha = fmt.Sprintf("%064x", rng.Uint64())
				archiveSize = int64(secs) * (800_000 + rng.Int64N(400_000))
			case exp.After(now):
				archiveState = db.ArchivePending
			case r < 98:
				archiveState = db.ArchiveExpired
			default:
				archiveState = db.ArchiveFailed
			}
		}
		if nextPoll == nil {
			finished = updated.UnixMilli()
			if rng.IntN(100) == 0 {
				del = updated.Add(time.Hour).UnixMilli()
			}
		}
		var id int64
		err := stmt.QueryRowContext(ctx, owner, fmt.Sprintf("seed-%012d-%06d", i, rng.IntN(1e6)), status, imageURL, videoURL,
			modes[rng.IntN(2)], resolutions[rng.IntN(3)], durReq, durDet, secs, estimate, charged,
			prompt, akoolID, errMsg, resultURL, created.UnixMilli(), updated.UnixMilli(), finished,
			videoDuration, nextPoll, archiveState, archivePath, sha, archiveSize,
			expires, del).Scan(&id)
		if err != nil {
			tb.Fatalf("seed job %d: %v", i, err)
		}
		if owner == member && del == nil {
			ids = append(ids, id)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	// Start from a checkpointed database, as a server that has been up a while.
	if _, err := side.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		tb.Fatal(err)
	}
	return ids
}

// cookieHeader is c's session cookie as a Cookie header value.
func cookieHeader(tb testing.TB, c *client) string {
	tb.Helper()
	var parts []string
	for _, ck := range c.http.Jar.Cookies(httptest.NewRequest(http.MethodGet, c.app.srv.URL, nil).URL) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) == 0 {
		tb.Fatal("the client has no session cookie")
	}
	return strings.Join(parts, "; ")
}

// akoolTripwire is a one-shot fault armed on every emulator endpoint: any
// Akool call in between consumes it, so check finds it gone.
type akoolTripwire struct{ sim *akoolsim.Sim }

// tripwireCode is an answer no healthy call gets (1009: no permission).
const tripwireCode = 1009

var tripwireCalls = []struct {
	ep           akoolsim.Endpoint
	method, path string
}{
	{akoolsim.EndpointToken, http.MethodPost, "/api/open/v3/getToken"},
	{akoolsim.EndpointCreate, http.MethodPost, "/api/open/v4/characterSwap/create"},
	{akoolsim.EndpointResult, http.MethodGet, "/api/open/v3/content/video/infobymodelid?video_model_id=x"},
	{akoolsim.EndpointQuota, http.MethodGet, "/api/open/v3/faceswap/quota/info"},
}

func armAkoolTripwire(sim *akoolsim.Sim) akoolTripwire {
	for _, c := range tripwireCalls {
		sim.InjectCall(c.ep, akoolsim.CallFault{Code: tripwireCode, Count: 1})
	}
	return akoolTripwire{sim: sim}
}

// check calls each endpoint once, straight into the emulator, and fails
// unless the armed fault answers (and so was never consumed).
func (w akoolTripwire) check(tb testing.TB) {
	tb.Helper()
	apiKey, clientID, secret := w.sim.Credentials()
	for _, c := range tripwireCalls {
		body := fmt.Sprintf(`{"clientId":%q,"clientSecret":%q}`, clientID, secret)
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(body))
		req.Header.Set("x-api-key", apiKey)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		w.sim.ServeHTTP(rec, req)
		if want := fmt.Sprintf(`"code":%d`, tripwireCode); !strings.Contains(rec.Body.String(), want) {
			tb.Errorf("%s %s: the tripwire fault is gone (answer %s): something called Akool",
				c.method, c.path, strings.TrimSpace(rec.Body.String()))
		}
	}
}
