package db_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"swapdesk/db"
)

// seedLedger fills a new database with members and ledger lines in one
// transaction (a recursive CTE, so no round trip per row), then rebuilds the
// balance rows from the ledger as migration 0008 does.
func seedLedger(b *testing.B, members, rows int) (*db.DB, string) {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "swapdesk.db")
	d, err := db.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	d.Close()
	// One connection with no journal, no syncs, no foreign-key lookups and
	// a large cache: this is a scratch file, and the seed is what it is.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	for _, p := range []string{`PRAGMA journal_mode = OFF`, `PRAGMA synchronous = OFF`, `PRAGMA foreign_keys = OFF`,
		`PRAGMA cache_size = -262144`} {
		if _, err := raw.Exec(p); err != nil {
			b.Fatal(err)
		}
	}
	began := time.Now()
	tx, err := raw.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
		SELECT i, 'm' || i || '@example.com', 'M' || i, 'member', 'x', 0, 0 FROM n`,
		// Per member, one line in ten a grant of 100, then holds, releases
		// and charges of 5, spread over a year.
		`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ? - 1)
		INSERT INTO ledger (user_id, kind, amount, note, created_at)
		SELECT 1 + i % ` + "200" + `,
			CASE i / 200 % 10 WHEN 0 THEN 'grant' WHEN 1 THEN 'hold' WHEN 2 THEN 'release' ELSE 'charge' END,
			CASE i / 200 % 10 WHEN 0 THEN 100 WHEN 1 THEN -5 WHEN 2 THEN 5 ELSE -5 END,
			'', 1767225600000 + i * 31
		FROM n`,
		`DELETE FROM member_balances`,
		`INSERT INTO member_balances (user_id, granted, held, spent) ` + db.LedgerSums + ` GROUP BY user_id`,
	} {
		arg := members
		if q[len(q)-1] == 'n' {
			arg = rows
		}
		if _, err := tx.Exec(q, arg); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d ledger lines over %d members in %v", rows, members, time.Since(began).Round(time.Millisecond))
	d, err = db.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d, path
}

// BenchmarkMemberBalance reads one member's balance with 1,000,000 ledger
// lines across 200 members: its balance row, by primary key. It reports
// the p50 and p99 of one read. Run: go test -run '^$' -bench MemberBalance ./db
func BenchmarkMemberBalance(b *testing.B) {
	if db.RaceDetector {
		b.Skip("1M rows under -race take minutes; run without -race")
	}
	const members, rows = 200, 1_000_000
	d, _ := seedLedger(b, members, rows)
	ctx := context.Background()
	if bad, err := d.CheckBalances(ctx); err != nil || len(bad) != 0 {
		b.Fatalf("seed: %d mismatches, %v", len(bad), err)
	}
	durs := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		id := 1 + rand.Int64N(members)
		t0 := time.Now()
		bal, err := d.Balance(ctx, id)
		durs = append(durs, time.Since(t0))
		if err != nil || bal.Granted == 0 {
			b.Fatalf("member %d: %+v, %v", id, bal, err)
		}
	}
	reportPercentiles(b, durs)
}

// BenchmarkMemberBalanceLedgerSum is the same read as the sum of the
// member's ledger (what Balance did before member_balances), for
// comparison.
func BenchmarkMemberBalanceLedgerSum(b *testing.B) {
	if db.RaceDetector {
		b.Skip("1M rows under -race take minutes; run without -race")
	}
	const members, rows = 200, 1_000_000
	_, path := seedLedger(b, members, rows)
	raw, err := sql.Open("sqlite", db.DSN(path))
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	durs := make([]time.Duration, 0, 1<<12)
	for b.Loop() {
		id := 1 + rand.Int64N(members)
		t0 := time.Now()
		var g, h, s int64
		err := raw.QueryRow(db.LedgerSums+` WHERE user_id = ?`, id).Scan(new(int64), &g, &h, &s)
		durs = append(durs, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportPercentiles(b, durs)
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	slices.Sort(durs)
	at := func(p float64) float64 { return float64(durs[int(p*float64(len(durs)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
