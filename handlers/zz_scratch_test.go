package handlers_test

import (
	"testing"
	"time"
)

func TestScratchSeed(t *testing.T) {
	app := newTestApp(t)
	_, m := app.member("ana@example.com", 0)
	_, o := app.member("bo@example.com", 0)
	start := time.Now()
	ids := seedJobs(t, dbFile(t), m.ID, o.ID, 100_000, 20_000)
	t.Log(len(ids), time.Since(start))
	side := openSide(t, dbFile(t))
	rows, _ := side.Query(`SELECT user_id, status, COALESCE(archive_state,''), deleted_at IS NOT NULL, COUNT(*) FROM jobs GROUP BY 1,2,3,4`)
	defer rows.Close()
	for rows.Next() {
		var u, n int
		var s, a string
		var d bool
		rows.Scan(&u, &s, &a, &d, &n)
		t.Log(u, s, a, d, n)
	}
}
