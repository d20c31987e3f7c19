package handlers_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"
)

// BenchmarkMembersList measures GET /admin/users (every column: balances,
// spent this month, allowance, jobs, last sign-in) with 200 members and
// 1,000,000 ledger lines spread over the year before the harness clock's
// now (so this month holds about 70,000 of them, most of them charges), one
// request at a time over loopback, so each latency is the server's time
// plus a loopback round trip. Reports p50 and p99 in ms (target p99 < 50).
func BenchmarkMembersList(b *testing.B) {
	app := newTestApp(b)
	admin := app.signedIn("boss@example.com", true)
	seedMembersLedger(b, dbFile(b), 200, 1_000_000)
	for _, sort := range []string{"", "?sort=spent&dir=desc", "?sort=last"} {
		b.Run("sort="+sort, func(b *testing.B) {
			req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/admin/users"+sort, nil)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				began := time.Now()
				res, err := admin.http.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat = append(lat, time.Since(began))
				if res.StatusCode != http.StatusOK {
					b.Fatalf("status %d", res.StatusCode)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			pct := func(p int) float64 { return float64(lat[(len(lat)-1)*p/100]) / 1e6 }
			b.ReportMetric(pct(50), "p50-ms")
			b.ReportMetric(pct(99), "p99-ms")
		})
	}
}

// seedMembersLedger adds members (ids after the existing accounts) and
// ledger lines in one transaction of recursive-CTE inserts: per member, one
// line in ten a grant of 100, then holds, releases and charges of 5, evenly
// over the 365 days before 2026-11-25 09:00 UTC; then it rebuilds the
// balance rows from the ledger, as migration 0008 does, and a login line
// per member in the audit log.
func seedMembersLedger(b *testing.B, path string, members, rows int) {
	b.Helper()
	side := openSide(b, path, "temp_store(MEMORY)", "cache_size(-262144)")
	ctx := context.Background()
	began := time.Now()
	tx, err := side.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	end := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC).UnixMilli()
	step := int64(365*24*time.Hour/time.Millisecond) / int64(rows)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO users (email, name, role, password_hash, created_at, updated_at)
			SELECT 'm' || i || '@example.com', 'Member ' || i, 'member', 'x', 0, 0 FROM n`, []any{members}},
		{`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
			INSERT INTO ledger (user_id, kind, amount, note, created_at)
			SELECT (SELECT MAX(id) FROM users) - ? + 1 + i % ?,
				CASE i / ? % 10 WHEN 0 THEN 'grant' WHEN 1 THEN 'hold' WHEN 2 THEN 'release' ELSE 'charge' END,
				CASE i / ? % 10 WHEN 0 THEN 100 WHEN 1 THEN -5 WHEN 2 THEN 5 ELSE -5 END,
				'', ? - (? - i) * ?
			FROM n`, []any{rows, members, members, members, members, end, rows, step}},
		{`DELETE FROM member_balances`, nil},
		{`INSERT INTO member_balances (user_id, granted, held, spent) SELECT user_id,
			COALESCE(SUM(CASE WHEN kind IN ('grant', 'adjust', 'allowance') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind IN ('hold', 'release') THEN amount END), 0),
			COALESCE(-SUM(CASE WHEN kind = 'charge' THEN amount END), 0)
			FROM ledger GROUP BY user_id`, nil},
		{`INSERT INTO audit_log (at, action, subject) SELECT ?, 'login', email FROM users`, []any{end - 3600_000}},
		{`ANALYZE`, nil},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			b.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d members and %d ledger lines in %v", members, rows, time.Since(began).Round(time.Millisecond))
}
