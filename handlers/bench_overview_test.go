package handlers_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"bufio"

	"swapdesk/internal/credits"
)

// Issue 11, "Benchmarks": the credit overview with 200 members and
// 1,000,000 ledger lines answers with p99 < 50 ms server time; the ledger
// CSV of all of them streams with RSS growth < 16 MB.
const (
	benchMembers = 200
	benchJobs    = 300_000 // each a hold, a release and a charge: 900,000 lines
	benchGrants  = 100_000 // and 100,000 grants: 1,000,000 lines
)

// seedLedgerYear writes benchMembers members, benchJobs succeeded jobs
// (resolutions in turn) and their ledger lines, plus benchGrants grants,
// evenly over the year before the harness clock's now, in one transaction
// of recursive CTEs, then rebuilds the balance rows and ANALYZEs.
func seedLedgerYear(tb testing.TB, path string) {
	tb.Helper()
	began := time.Now()
	side := openSide(tb, path, "temp_store(MEMORY)", "cache_size(-262144)")
	side.SetMaxOpenConns(1)
	ctx := context.Background()
	tx, err := side.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixMilli()
	year := int64(365 * 24 * time.Hour / time.Millisecond)
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(benchMembers-1) + `)
		INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
		SELECT 1000 + i, 'm' || i || '@example.com', 'Member ' || i, 'member', 'x', 0, 0 FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(benchJobs) + `)
		INSERT INTO jobs (id, user_id, idempotency_key, status, image_url, video_url, mode, resolution, billed_seconds,
			estimate_credits, charged_credits, created_at, updated_at, finished_at)
		SELECT 1000000 + i, 1000 + i % ` + strconv.Itoa(benchMembers) + `, printf('bench-%016d', i), 'succeeded',
			'https://x.test/a.png', 'https://x.test/a.mp4', 'animate',
			CASE i % 3 WHEN 0 THEN '480p' WHEN 1 THEN '720p' ELSE '1080p' END, 10,
			(1 + i % 3) * 10, (1 + i % 3) * 10, t, t, t
		FROM (SELECT i, ` + strconv.FormatInt(now, 10) + ` - (` + strconv.Itoa(benchJobs) + ` - i) * ` + strconv.FormatInt(year/benchJobs, 10) + ` AS t FROM n)`,
		// hold, release, charge per job, in order.
		`INSERT INTO ledger (user_id, kind, amount, job_id, note, created_at)
		SELECT j.user_id, k.kind, CASE k.kind WHEN 'release' THEN j.estimate_credits ELSE -j.estimate_credits END,
			j.id, '', j.created_at
		FROM jobs j JOIN (SELECT 0 AS o, 'hold' AS kind UNION ALL SELECT 1, 'release' UNION ALL SELECT 2, 'charge') k
		WHERE j.id > 1000000 ORDER BY j.id, k.o`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(benchGrants) + `)
		INSERT INTO ledger (user_id, kind, amount, note, created_at)
		SELECT 1000 + i % ` + strconv.Itoa(benchMembers) + `, 'grant', 200, 'monthly top-up',
			` + strconv.FormatInt(now, 10) + ` - (` + strconv.Itoa(benchGrants) + ` - i) * ` + strconv.FormatInt(year/benchGrants, 10) + ` FROM n`,
		`DELETE FROM member_balances`,
		`INSERT INTO member_balances (user_id, granted, held, spent)
		SELECT user_id,
			COALESCE(SUM(CASE WHEN kind IN ('grant', 'adjust') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind IN ('hold', 'release') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind = 'charge' THEN amount END), 0)
		FROM ledger GROUP BY user_id`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			tb.Fatalf("seed: %v\n%s", err, q)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := side.ExecContext(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
	var n int
	if err := side.QueryRowContext(ctx, `SELECT COUNT(*) FROM ledger`).Scan(&n); err != nil || n < benchJobs*3+benchGrants {
		tb.Fatalf("seeded %d ledger lines, %v", n, err)
	}
	tb.Logf("seeded %d ledger lines, %d jobs, %d members in %v", n, benchJobs, benchMembers, time.Since(began).Round(time.Millisecond))
}

// serverTime serves one request in process (no network: the router, the
// queries and the render are what is timed) and returns its duration and
// response.
func serverTime(h http.Handler, path, cookie string) (time.Duration, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	t0 := time.Now()
	h.ServeHTTP(rec, req)
	return time.Since(t0), rec
}

// BenchmarkCreditOverview measures GET /admin/credits (30 and 90 days, by
// resolution and by member, a filtered ledger page; the charts again in
// New York's days after a change of the team's zone) and /admin/audit as
// server time, one request at a time, over 1,000,000 ledger lines of 200
// members spread over a year, and reports p50 and p99. Run:
//
//	go test -run '^$' -bench CreditOverview -benchtime 200x ./handlers
func BenchmarkCreditOverview(b *testing.B) {
	app := newTestApp(b)
	admin := app.signedIn("admin@example.com", true)
	seedLedgerYear(b, dbFile(b))
	cookie := cookieHeader(b, admin)
	h := app.srv.Config.Handler
	charts := []string{"/admin/credits", "/admin/credits?by=member", "/admin/credits?days=90", "/admin/credits?days=90&by=member"}
	run := func(name, path string) {
		b.Run(name, func(b *testing.B) {
			if _, rec := serverTime(h, path, cookie); rec.Code != http.StatusOK {
				b.Fatalf("%s: %d\n%s", path, rec.Code, snippet(rec.Body.String()))
			}
			var durs []time.Duration
			for b.Loop() {
				d, rec := serverTime(h, path, cookie)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, rec.Code)
				}
				durs = append(durs, d)
			}
			slices.Sort(durs)
			at := func(p float64) float64 { return float64(durs[int(p*float64(len(durs)-1))]) / float64(time.Millisecond) }
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
	name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace
	for _, path := range append(charts, "/admin/credits?kind=charge&member=1007&from=2026-06-01&to=2026-06-30", "/admin/audit") {
		run(name(path), path)
	}
	// The same charts in a team zone that is not UTC: the day sums are
	// rebuilt in its days with the setting, as an admin's change does. How
	// long that holds the database's write lock is reported as
	// rebuild-ms (once per run of the function, not per iteration: its
	// ns/op means nothing).
	b.Run("team-zone-change", func(b *testing.B) {
		t0 := time.Now()
		if _, err := credits.SetTeamZone(context.Background(), app.store, 0, "", "America/New_York"); err != nil {
			b.Fatal(err)
		}
		took := time.Since(t0)
		for b.Loop() {
		}
		// After the loop: b.Loop's first call deletes metrics reported before it.
		b.ReportMetric(float64(took)/float64(time.Millisecond), "rebuild-ms")
	})
	for _, path := range charts {
		run("NewYork"+name(path), path)
	}
}

// countingWriter is a ResponseWriter that keeps nothing but a count and
// the last bytes (to check the CSV ends with a whole line).
type countingWriter struct {
	h     http.Header
	code  int
	n     int64
	lines int64
	tail  []byte
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(c int)   { w.code = c }
func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += int64(len(p))
	for _, c := range p {
		if c == '\n' {
			w.lines++
		}
	}
	if len(p) >= 64 {
		w.tail = append(w.tail[:0], p[len(p)-64:]...)
	}
	return len(p), nil
}

// BenchmarkLedgerCSV streams the CSV of all 1,000,000 ledger lines through
// the real handler into a writer that keeps nothing, and reports the
// growth of the process's peak RSS while it runs (VmHWM after, reset just
// before, minus VmRSS before; Linux only). Run:
//
//	go test -run '^$' -bench LedgerCSV -benchtime 3x ./handlers
func BenchmarkLedgerCSV(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS (needs Linux /proc/self/clear_refs): %v", err)
	}
	app := newTestApp(b)
	admin := app.signedIn("admin@example.com", true)
	seedLedgerYear(b, dbFile(b))
	cookie := cookieHeader(b, admin)
	h := app.srv.Config.Handler
	var worst, rows, bytes int64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		before := procKB(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		req := httptest.NewRequest(http.MethodGet, "/admin/credits/ledger.csv", nil)
		req.Header.Set("Cookie", cookie)
		w := &countingWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
		b.StopTimer()
		if g := procKB(b, "VmHWM") - before; g > worst {
			worst = g
		}
		if w.code != http.StatusOK || w.lines != benchJobs*3+benchGrants+1 {
			b.Fatalf("status %d, %d lines, want %d", w.code, w.lines, benchJobs*3+benchGrants+1)
		}
		rows, bytes = w.lines-1, w.n
		b.StartTimer()
	}
	b.ReportMetric(float64(worst)/1024, "peak-rss-growth-MB")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(bytes)/(1<<20), "csv-MB")
}

func procKB(b *testing.B, name string) int64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("no %s", name)
	return 0
}

var _ = io.Discard
