package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seedGallery writes n jobs in one statement for users (round robin):
// every 7th failed, every 100th (+1) deleted, the rest archived; every
// 13th hidden; modes and resolutions alternate; job i is created at
// second i; every 5th has the prompt "warm light number <i>", the others
// "cold rain".
func seedGallery(t testing.TB, d *DB, users []int64, n int) {
	t.Helper()
	var cases strings.Builder
	args := []any{n}
	cases.WriteString("CASE i % ?")
	args = append(args, len(users))
	for k, u := range users {
		cases.WriteString(fmt.Sprintf(" WHEN %d THEN ?", k))
		args = append(args, u)
	}
	cases.WriteString(" END")
	_, err := d.sql.Exec(`WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i + 1 <= ?)
		INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode,
			resolution, billed_seconds, estimate_credits, charged_credits, created_at, updated_at, deleted_at,
			archive_state, archive_path, hidden, prompt)
		SELECT `+cases.String()+`,
			printf('gallery-seed-key-%08d', i),
			CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'succeeded' END,
			'https://x/c.png', 'https://x/m.mp4',
			CASE WHEN i % 2 = 0 THEN 'animate' ELSE 'replace' END,
			CASE i % 3 WHEN 0 THEN '480p' WHEN 1 THEN '720p' ELSE '1080p' END,
			10, 20, 20, i * 1000, i * 1000,
			CASE WHEN i % 100 = 1 THEN i END,
			CASE WHEN i % 7 <> 0 AND i % 100 <> 1 THEN 'archived' END,
			CASE WHEN i % 7 <> 0 AND i % 100 <> 1 THEN printf('results/%d.mp4', i) ELSE '' END,
			CASE WHEN i % 13 = 0 THEN 1 ELSE 0 END,
			CASE WHEN i % 5 = 0 THEN printf('warm light number %d', i) ELSE 'cold rain' END
		FROM s`, args...)
	if err != nil {
		t.Fatal(err)
	}
}

func galleryUsers(t testing.TB, d *DB, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		u, err := d.CreateUser(context.Background(), fmt.Sprintf("g%d@example.com", i), fmt.Sprintf("G%d", i), RoleMember, "x")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// openShared opens a store on a new database and a second pool on the
// same file, as another process (the CLI) would.
func openShared(t *testing.T) (*DB, *sql.DB) {
	t.Helper()
	d := openInternal(t)
	var path string
	if err := d.sql.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	return d, other
}

// queryIDs runs query, which selects one integer column, and returns its
// values.
func queryIDs(t *testing.T, db *sql.DB, query string, args ...any) []int64 {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(items []GalleryItem) []int64 {
	var out []int64
	for _, it := range items {
		out = append(out, it.ID)
	}
	return out
}

// visible is the rule the gallery applies, in Go, for the seed.
func seedVisible(i int64, users []int64, v Viewer) bool {
	if i%7 == 0 || i%100 == 1 {
		return false
	}
	owner := users[int(i)%len(users)]
	return i%13 != 0 || owner == v.UserID || v.Admin
}

func TestGalleryFiltersAndPages(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 3)
	const n = 400
	seedGallery(t, d, users, n)
	viewer := Viewer{UserID: users[1]}
	// Star a few: a visible one, and one hidden from viewer's sight
	// cannot be starred.
	if err := d.SetFavorite(ctx, viewer, 2, true); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFavorite(ctx, viewer, 4, true); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFavorite(ctx, viewer, 26, true); err == nil { // 26 % 13 == 0, owner users[2]
		t.Fatal("starred a job hidden from the viewer")
	}
	if err := d.SetFavorite(ctx, viewer, 101, true); err == nil { // deleted
		t.Fatal("starred a deleted job")
	}
	if err := d.SetFavorite(ctx, viewer, 7, true); err == nil { // failed
		t.Fatal("starred a failed job")
	}

	want := func(v Viewer, keep func(i int64) bool) []int64 {
		var out []int64
		for i := int64(n); i >= 1; i-- {
			if seedVisible(i, users, v) && keep(i) {
				out = append(out, i)
			}
		}
		return out
	}
	all := func(int64) bool { return true }
	cases := []struct {
		name string
		q    GalleryQuery
		want []int64
	}{
		{"team, as a member", GalleryQuery{Viewer: viewer}, want(viewer, all)},
		{"team, as an admin", GalleryQuery{Viewer: Viewer{UserID: users[0], Admin: true}}, want(Viewer{Admin: true}, all)},
		{"one member", GalleryQuery{Viewer: viewer, MemberID: users[2]}, want(viewer, func(i int64) bool { return i%3 == 2 })},
		{"own, hidden included", GalleryQuery{Viewer: viewer, MemberID: users[1]}, want(viewer, func(i int64) bool { return i%3 == 1 })},
		{"mode", GalleryQuery{Viewer: viewer, Mode: "animate"}, want(viewer, func(i int64) bool { return i%2 == 0 })},
		{"resolution", GalleryQuery{Viewer: viewer, Resolution: "1080p"}, want(viewer, func(i int64) bool { return i%3 == 2 })},
		{"dates", GalleryQuery{Viewer: viewer, From: time.UnixMilli(100_000), To: time.UnixMilli(200_000)},
			want(viewer, func(i int64) bool { return i >= 100 && i < 200 })},
		{"favorites", GalleryQuery{Viewer: viewer, Favorites: true}, []int64{4, 2}},
		{"favorites of another", GalleryQuery{Viewer: Viewer{UserID: users[0]}, Favorites: true}, nil},
		{"member and mode and dates", GalleryQuery{Viewer: viewer, MemberID: users[0], Mode: "replace", From: time.UnixMilli(300_000)},
			want(viewer, func(i int64) bool { return i%3 == 0 && i%2 == 1 && i >= 300 })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// In pages of 7, each continuing from the last one's cursor.
			var got []int64
			q := tc.q
			q.Limit = 7
			for range n {
				page, err := d.Gallery(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page)...)
				if len(page) < q.Limit {
					break
				}
				c := page[len(page)-1].Cursor(false)
				q.After = &c
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got %d results %v\nwant %d %v", len(got), got, len(tc.want), tc.want)
			}
		})
	}

	// A search: newest first, only visible results; pages continue.
	match := MatchTerms(`warm "light`, 8)
	if match != `"warm" AND """light"` {
		t.Fatalf("MatchTerms = %s", match)
	}
	var got []int64
	q := GalleryQuery{Viewer: viewer, Match: match, Limit: 5}
	for range n {
		page, err := d.Gallery(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		if len(page) < q.Limit {
			break
		}
		c := page[len(page)-1].Cursor(true)
		q.After = &c
	}
	// Every 5th job's prompt is "warm light number <i>".
	if w := want(viewer, func(i int64) bool { return i%5 == 0 }); !slices.Equal(got, w) {
		t.Errorf("search: got %d results %v\nwant %d %v", len(got), got, len(w), w)
	}
	// A dated cursor on a search (or the reverse) is refused, not run.
	c := GalleryCursor{ID: 5}
	if _, err := d.Gallery(ctx, GalleryQuery{Viewer: viewer, Match: match, After: &c, Limit: 5}); err == nil {
		t.Error("a dated cursor continued a search")
	}
	c = GalleryCursor{Search: true, ID: 5}
	if _, err := d.Gallery(ctx, GalleryQuery{Viewer: viewer, After: &c, Limit: 5}); err == nil {
		t.Error("a search's cursor continued a dated page")
	}
}

// FTS syntax typed into the search box is searched for as text.
func TestMatchTermsAreSafe(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 1)
	seedGallery(t, d, users, 30)
	for _, s := range []string{`"`, `""`, `"warm`, `warm*`, `*`, `NEAR(warm light)`, `warm AND`, `AND`, `OR`, `NOT`,
		`-warm`, `prompt:warm`, `warm:`, `^warm`, `(`, `)`, `{prompt}: warm`, `warm + light`, `'`, `\`,
		strings.Repeat("warm ", 100)} {
		m := MatchTerms(s, 8)
		if m == "" {
			continue
		}
		if _, err := d.Gallery(ctx, GalleryQuery{Viewer: Viewer{UserID: users[0]}, Match: m, Limit: 5}); err != nil {
			t.Errorf("search %q (%s): %v", s, m, err)
		}
	}
	if m := MatchTerms(`* - "" :`, 8); m != "" {
		t.Errorf("MatchTerms of punctuation = %q, want empty", m)
	}
}

// The gallery's pages keep their plans on 100k jobs, with and without
// statistics: the team's and a member's walk their partial covering
// indexes in order, without a sort and without reading a job row; a search
// walks the FTS index in rowid order (no sort) and checks each match in
// jobs_gallery_hits.
func TestGalleryQueryPlans(t *testing.T) {
	t.Parallel()
	n := 100_000
	if raceDetector {
		n = 5_000
	}
	d := openInternal(t)
	users := galleryUsers(t, d, 50)
	seedGallery(t, d, users, n)
	v := Viewer{UserID: users[3]}
	after := &GalleryCursor{CreatedAt: int64(n/2) * 1000, ID: int64(n / 2)}
	cases := []struct {
		name string
		q    GalleryQuery
		want string
	}{
		{"first page", GalleryQuery{Viewer: v}, "SCAN jobs USING COVERING INDEX jobs_gallery;"},
		{"later page", GalleryQuery{Viewer: v, After: after}, "SEARCH jobs USING COVERING INDEX jobs_gallery (created_at<?)"},
		{"mode and resolution", GalleryQuery{Viewer: v, Mode: "animate", Resolution: "720p"}, "SCAN jobs USING COVERING INDEX jobs_gallery;"},
		{"dates", GalleryQuery{Viewer: v, From: time.UnixMilli(1000), To: time.UnixMilli(50_000_000)}, "SEARCH jobs USING COVERING INDEX jobs_gallery (created_at>? AND created_at<?)"},
		{"member", GalleryQuery{Viewer: v, MemberID: users[7]}, "SEARCH jobs USING COVERING INDEX jobs_gallery_member (user_id=?)"},
		{"member, mode and resolution", GalleryQuery{Viewer: v, MemberID: users[7], Mode: "replace", Resolution: "720p"}, "SEARCH jobs USING COVERING INDEX jobs_gallery_member (user_id=?)"},
		{"mode and dates", GalleryQuery{Viewer: v, Mode: "animate", From: time.UnixMilli(1000), To: time.UnixMilli(50_000_000)}, "SEARCH jobs USING COVERING INDEX jobs_gallery (created_at>? AND created_at<?)"},
		{"member, later page", GalleryQuery{Viewer: v, MemberID: users[7], After: after}, "SEARCH jobs USING COVERING INDEX jobs_gallery_member (user_id=? AND created_at<?)"},
		{"favorites", GalleryQuery{Viewer: v, Favorites: true}, "SEARCH jobs USING INTEGER PRIMARY KEY (rowid=?)"},
		{"search", GalleryQuery{Viewer: v, Match: `"warm"`}, "SEARCH jobs USING COVERING INDEX jobs_gallery_hits (id=?"},
		{"search, later page", GalleryQuery{Viewer: v, Match: `"warm"`, MemberID: users[2], After: &GalleryCursor{Search: true, ID: 9}}, "SEARCH jobs USING COVERING INDEX jobs_gallery_hits (id=?"},
	}
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if _, err := d.sql.Exec(`ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range cases {
			q := tc.q
			q.Limit = 25
			if _, err := d.Gallery(context.Background(), q); err != nil {
				t.Fatal(err)
			}
			query, args := datedSQL(q)
			if q.Match != "" {
				query, args = gallerySearchQuery(q)
				args[1] = "[1,2,3,4,5,6,7,8,9]"
			}
			plan := d.plan(t, query, args...)
			if !strings.Contains(plan, tc.want) {
				t.Errorf("%s (analyzed %v):\n got %s\nwant %s", tc.name, analyzed, plan, tc.want)
			}
			if !tc.q.Favorites && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s (analyzed %v) sorts: %s", tc.name, analyzed, plan)
			}
		}
	}
}

// A search walks past the newest matches when the viewer may not see them
// (here 40 of 43 are hidden from the viewer), and still finds the rest.
func TestGallerySearchPastHiddenMatches(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 2)
	owner, viewer := users[0], Viewer{UserID: users[1]}
	var all, shown []int64
	for i := range 43 {
		prompt, hidden := "zebra", true
		if i%15 == 7 {
			prompt, hidden = "zebra among many other words that make this prompt long", false
		}
		var id int64
		err := d.sql.QueryRow(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path, hidden, prompt)
			VALUES (?, printf('zebra-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p',
				10, 20, ?, ?, 'archived', 'results/x.mp4', ?, ?) RETURNING id`, owner, i, i, i, hidden, prompt).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		all = append([]int64{id}, all...)
		if !hidden {
			shown = append([]int64{id}, shown...)
		}
	}
	var got []int64
	q := GalleryQuery{Viewer: viewer, Match: MatchTerms("zebra", 8), Limit: 2}
	for range 5 {
		page, err := d.Gallery(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ids(page)...)
		if len(page) < q.Limit {
			break
		}
		c := page[len(page)-1].Cursor(true)
		q.After = &c
	}
	if !slices.Equal(got, shown) {
		t.Errorf("search found %v, want %v", got, shown)
	}
	// The owner sees all 43, newest first.
	page, err := d.Gallery(ctx, GalleryQuery{Viewer: Viewer{UserID: owner}, Match: MatchTerms("zebra", 8), Newest: true, Limit: 30})
	if err != nil || !slices.Equal(ids(page), all[:30]) {
		t.Fatalf("owner's search: %v, err %v; want %v", ids(page), err, all[:30])
	}
}

// A search's pages, followed to the end, are every match the filters and
// the viewer allow, each once, in the order asked for: the same list as a
// plain query of the whole FTS index joined with the jobs, sorted here.
// Best match: by bm25 (ties newest first) among the newest matches of the
// index (a window of 500 here, so the longer searches cross it), then the
// older ones newest first. Pages of 97 over 4,000 jobs, some of them not
// archived or hidden.
func TestGallerySearchOrders(t *testing.T) {
	t.Parallel()
	d := openInternal(t)
	d.testRankWindow = 500
	ctx := context.Background()
	users := galleryUsers(t, d, 3)
	words := strings.Fields("warm cold light dark neon rain snow forest")
	rng := rand.New(rand.NewPCG(3, 4))
	n := 4000
	tx, err := d.sql.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		var p []string
		for range 1 + rng.IntN(6) {
			p = append(p, words[rng.IntN(len(words))])
		}
		archived, path := "archived", "results/x.mp4"
		if rng.IntN(9) == 0 {
			archived, path = "archive_failed", ""
		}
		_, err := tx.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path, hidden, prompt)
			VALUES (?, printf('window-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', ?, '720p',
				10, 20, ?, ?, ?, ?, ?, ?)`, users[rng.IntN(len(users))], i, []string{"animate", "replace"}[rng.IntN(2)],
			i*1000, i*1000, archived, path, rng.IntN(10) == 0, strings.Join(p, " "))
		if err != nil {
			t.Fatal(err)
		}
	}
	// users[0] starred every third job.
	if _, err := tx.Exec(`INSERT INTO favorites (user_id, job_id, created_at) SELECT ?, id, 0 FROM jobs WHERE id % 3 = 0`, users[0]); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// want is every match in the order asked for, then those the filters
	// and the viewer allow (filtered in SQL).
	want := func(q GalleryQuery) []int64 {
		t.Helper()
		type match struct {
			id    int64
			score float64
		}
		var all []match
		rows, err := d.sql.Query(`SELECT rowid, bm25(jobs_fts) FROM jobs_fts WHERE jobs_fts MATCH ?`, q.Match)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var m match
			if err := rows.Scan(&m.id, &m.score); err != nil {
				t.Fatal(err)
			}
			all = append(all, m)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		slices.SortFunc(all, func(a, b match) int { return cmp.Compare(b.id, a.id) })
		if !q.Newest {
			window := all[:min(len(all), d.testRankWindow)]
			slices.SortStableFunc(window, func(a, b match) int { return cmp.Compare(a.score, b.score) })
		}
		cond, args := `archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL AND (hidden = 0 OR user_id = ? OR ? = 1)`,
			[]any{q.Viewer.UserID, q.Viewer.Admin}
		if q.MemberID != 0 {
			cond += ` AND user_id = ?`
			args = append(args, q.MemberID)
		}
		if q.Mode != "" {
			cond += ` AND mode = ?`
			args = append(args, q.Mode)
		}
		if !q.From.IsZero() {
			cond += ` AND created_at >= ?`
			args = append(args, q.From.UnixMilli())
		}
		if !q.To.IsZero() {
			cond += ` AND created_at < ?`
			args = append(args, q.To.UnixMilli())
		}
		if q.Favorites {
			cond += ` AND id IN (SELECT job_id FROM favorites WHERE user_id = ?)`
			args = append(args, q.Viewer.UserID)
		}
		allowed := map[int64]bool{}
		for _, id := range queryIDs(t, d.sql, `SELECT id FROM jobs WHERE `+cond, args...) {
			allowed[id] = true
		}
		var out []int64
		for _, m := range all {
			if allowed[m.id] {
				out = append(out, m.id)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    GalleryQuery
		min  int
	}{
		{"one word", GalleryQuery{Viewer: Viewer{UserID: users[0]}, Match: MatchTerms("warm", 8)}, 1000},
		{"admin", GalleryQuery{Viewer: Viewer{UserID: users[1], Admin: true}, Match: MatchTerms("rain", 8)}, 1000},
		{"two words", GalleryQuery{Viewer: Viewer{UserID: users[2]}, Match: MatchTerms("neon snow", 8)}, 100},
		{"member and mode", GalleryQuery{Viewer: Viewer{UserID: users[0]}, Match: MatchTerms("dark", 8), MemberID: users[1], Mode: "replace"}, 100},
		{"dates", GalleryQuery{Viewer: Viewer{UserID: users[1]}, Match: MatchTerms("light", 8),
			From: time.UnixMilli(1_000_000), To: time.UnixMilli(3_000_000)}, 300},
		{"starred", GalleryQuery{Viewer: Viewer{UserID: users[0]}, Match: MatchTerms("snow", 8), Favorites: true}, 300},
		{"prompts", GalleryQuery{Viewer: Viewer{UserID: users[2]}, Match: MatchTerms("cold", 8), Prompts: true}, 1000},
	} {
		for _, newest := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, newest %v", tc.name, newest), func(t *testing.T) {
				q := tc.q
				q.Newest = newest
				want := want(q)
				if len(want) < tc.min {
					t.Fatalf("the seed gives %d matches, fewer than the case needs (%d)", len(want), tc.min)
				}
				var got []int64
				q.Limit = 97
				for range 100 {
					page, err := d.Gallery(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					got = append(got, ids(page)...)
					for _, it := range page {
						if it.Favorite != (q.Viewer.UserID == users[0] && it.ID%3 == 0) {
							t.Fatalf("result %d: favorite %v", it.ID, it.Favorite)
						}
						if q.Prompts && !strings.Contains(it.Prompt, "cold") || !q.Prompts && it.Prompt != "" {
							t.Fatalf("result %d: prompt %q", it.ID, it.Prompt)
						}
					}
					if len(page) < q.Limit {
						break
					}
					c := page[len(page)-1].Cursor(true)
					q.After = &c
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages gave %d results, want %d\n got %v\nwant %v", len(got), len(want), got[:min(len(got), 20)], want[:min(len(want), 20)])
				}
			})
		}
	}
}

// A search's list is kept while the index is unchanged, and read again
// after a prompt is added, changed or removed, by the store or by another
// connection; a page link made before a change still continues after its
// last result.
func TestGallerySearchFollowsChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, other := openShared(t)
	users := galleryUsers(t, d, 2)
	insert := func(db interface {
		Exec(string, ...any) (sql.Result, error)
	}, i int, prompt string) {
		t.Helper()
		_, err := db.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path, prompt)
			VALUES (?, printf('change-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p',
				10, 20, ?, ?, 'archived', 'results/x.mp4', ?)`, users[0], i, i*1000, i*1000, prompt)
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range 6 {
		insert(d.sql, i, "zebra crossing at night")
	}
	v := Viewer{UserID: users[0]}
	search := func(newest bool, after *GalleryCursor) []GalleryItem {
		t.Helper()
		page, err := d.Gallery(ctx, GalleryQuery{Viewer: v, Match: MatchTerms("zebra", 8), Newest: newest, After: after, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	dated := func() []GalleryItem {
		t.Helper()
		page, err := d.Gallery(ctx, GalleryQuery{Viewer: v, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	if got := ids(dated()); !slices.Equal(got, []int64{6, 5, 4, 3, 2, 1}) {
		t.Fatalf("gallery %v", got)
	}
	first := search(false, nil)
	if got := ids(first); !slices.Equal(got, []int64{6, 5, 4}) {
		t.Fatalf("first page %v", got)
	}
	version := func() (search, tiles int64) {
		t.Helper()
		v, err := d.galleryVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v.search, v.tiles
	}
	sv, _ := version()
	ranked, err := d.searchIDs(ctx, MatchTerms("zebra", 8), false, sv)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := d.searchIDs(ctx, MatchTerms("Zebra", 8), false, sv)
	if &ranked[0] != &again[0] {
		t.Error("an unchanged index read the list again")
	}
	// Another process adds a prompt that says it best (the shortest):
	// it leads the list now, and the old page link still continues.
	insert(other, 6, "zebra")
	if got := ids(search(false, nil)); !slices.Equal(got, []int64{7, 6, 5}) {
		t.Errorf("after an insert by another connection: %v, want [7 6 5]", got)
	}
	c := first[2].Cursor(true)
	if got := ids(search(false, &c)); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Errorf("the old page link continued with %v, want [3 2 1]", got)
	}
	// A prompt changed and one removed.
	if _, err := other.Exec(`UPDATE jobs SET prompt = 'horse' WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`DELETE FROM jobs WHERE id = 6`); err != nil {
		t.Fatal(err)
	}
	if got := ids(search(true, nil)); !slices.Equal(got, []int64{5, 4, 3}) {
		t.Errorf("after a change and a delete: %v, want [5 4 3]", got)
	}
	if got := ids(search(false, nil)); !slices.Equal(got, []int64{5, 4, 3}) {
		t.Errorf("ranked, after a change and a delete: %v, want [5 4 3]", got)
	}
	// What a tile shows or a filter tests, changed by another process: the
	// kept tiles are read again, the list is not.
	sv, tv := version()
	for _, change := range []string{
		`UPDATE jobs SET hidden = 1, user_id = ? WHERE id = 5`, // another's, hidden
		`UPDATE jobs SET archive_state = 'archive_failed' WHERE id = 4 AND ? > 0`,
		`UPDATE jobs SET deleted_at = 1 WHERE id = 3 AND ? > 0`,
		`UPDATE jobs SET charged_credits = 99, mode = 'replace' WHERE id = 2 AND ? > 0`,
	} {
		if _, err := other.Exec(change, users[1]); err != nil {
			t.Fatal(change, err)
		}
	}
	page := search(false, nil)
	if got := ids(page); !slices.Equal(got, []int64{2, 1}) {
		t.Errorf("after hiding, failing and deleting results: %v, want [2 1]", got)
	} else if page[0].Mode != "replace" || page[0].ChargedCredits == nil || *page[0].ChargedCredits != 99 {
		t.Errorf("a changed result's tile: %+v", page[0])
	}
	page = dated()
	if got := ids(page); !slices.Equal(got, []int64{7, 2, 1}) { // 7 says horse now
		t.Errorf("gallery after hiding, failing and deleting results: %v, want [7 2 1]", got)
	} else if page[1].Mode != "replace" || page[1].ChargedCredits == nil || *page[1].ChargedCredits != 99 {
		t.Errorf("a changed result's tile in the gallery: %+v", page[1])
	}
	if sv2, tv2 := version(); sv2 != sv || tv2 != tv+4 {
		t.Errorf("versions %d, %d after 4 changes to tiles; want %d, %d", sv2, tv2, sv, tv+4)
	}
	// An update that changes no such column keeps them.
	if _, err := other.Exec(`UPDATE jobs SET updated_at = updated_at + 1, hidden = hidden WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, tv2 := version(); tv2 != tv+4 {
		t.Errorf("an update of nothing a tile shows moved the tiles' version")
	}
}

// A page's stars are the viewer's own, kept between pages and read again
// after any star is given or taken, by the store or by another process,
// on dated pages and searches alike.
func TestGalleryStarsFollowChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, other := openShared(t)
	users := galleryUsers(t, d, 2)
	for i := range 4 {
		_, err := d.sql.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path, prompt)
			VALUES (?, printf('star-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p',
				10, 20, ?, ?, 'archived', 'results/x.mp4', 'a fox')`, users[i%2], i, i*1000, i*1000)
		if err != nil {
			t.Fatal(err)
		}
	}
	starred := func(user int64, match string) string {
		t.Helper()
		page, err := d.Gallery(ctx, GalleryQuery{Viewer: Viewer{UserID: user}, Match: match, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range page {
			if it.Favorite {
				s = append(s, strconv.FormatInt(it.ID, 10))
			}
		}
		return strings.Join(s, ",")
	}
	both := func(user int64, want string) {
		t.Helper()
		for _, match := range []string{"", MatchTerms("fox", 8)} {
			if got := starred(user, match); got != want {
				t.Errorf("user %d's stars (search %q): %q, want %q", user, match, got, want)
			}
		}
	}
	both(users[0], "")
	if err := d.SetFavorite(ctx, Viewer{UserID: users[0]}, 3, true); err != nil {
		t.Fatal(err)
	}
	if err := d.SetFavorite(ctx, Viewer{UserID: users[0]}, 1, true); err != nil {
		t.Fatal(err)
	}
	both(users[0], "3,1")
	both(users[1], "")
	// Another process stars for users[1] and takes users[0]'s star on 3.
	if _, err := other.Exec(`INSERT INTO favorites (user_id, job_id, created_at) VALUES (?, 4, 0)`, users[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`DELETE FROM favorites WHERE user_id = ? AND job_id = 3`, users[0]); err != nil {
		t.Fatal(err)
	}
	both(users[0], "1")
	both(users[1], "4")
	if err := d.SetFavorite(ctx, Viewer{UserID: users[0]}, 1, false); err != nil {
		t.Fatal(err)
	}
	both(users[0], "")
	both(users[1], "4")
}

// The search cache keeps at most searchCacheLists lists, dropping the
// least recently used, and no list larger than its whole bound.
func TestSearchCacheBounds(t *testing.T) {
	t.Parallel()
	var c searchCache
	for i := range searchCacheLists + 3 {
		c.put(searchKey{match: strconv.Itoa(i)}, &searchList{ids: []int64{1, 2, 3}})
		if i == 1 {
			c.lists[searchKey{match: "0"}].used = c.clock + 100 // 0 was used last
		}
	}
	if len(c.lists) != searchCacheLists || c.ids != 3*searchCacheLists {
		t.Errorf("%d lists, %d ids; want %d, %d", len(c.lists), c.ids, searchCacheLists, 3*searchCacheLists)
	}
	for _, k := range []string{"1", "2", "3"} {
		if c.lists[searchKey{match: k}] != nil {
			t.Errorf("list %s kept; the least recently used go first", k)
		}
	}
	if c.lists[searchKey{match: "0"}] == nil {
		t.Error("the list used last was dropped")
	}
	c.put(searchKey{match: "huge"}, &searchList{ids: make([]int64, searchCacheIDs+1)})
	if c.lists[searchKey{match: "huge"}] != nil || c.ids > searchCacheIDs {
		t.Errorf("a list over the bound was kept (%d ids held)", c.ids)
	}
}

// GalleryMembers keeps its list between calls, and reads it again after
// any change to what it shows, made through the store or by another
// connection (the CLI, say).
func TestGalleryMembersFollowChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, other := openShared(t)
	names := func() string {
		t.Helper()
		ms, err := d.GalleryMembers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range ms {
			out = append(out, m.Name)
		}
		return strings.Join(out, ",")
	}
	if got := names(); got != "" {
		t.Fatalf("no users: %q", got)
	}
	users := galleryUsers(t, d, 2) // g0@, g1@
	if got, want := names(), "G0,G1"; got != want {
		t.Errorf("after adding: %q, want %q", got, want)
	}
	if got, want := names(), "G0,G1"; got != want {
		t.Errorf("read again: %q, want %q", got, want)
	}
	for _, step := range []struct {
		sql  string
		args []any
		want string
	}{
		{`UPDATE users SET name = 'Renamed' WHERE id = ?`, []any{users[0]}, "Renamed,G1"},
		{`UPDATE users SET email = 'a@example.com' WHERE id = ?`, []any{users[1]}, "G1,Renamed"},
		{`INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('0@example.com', 'First', 'member', 'x', 0, 0)`, nil, "First,G1,Renamed"},
		{`DELETE FROM users WHERE id = ?`, []any{users[0]}, "First,G1"},
	} {
		if _, err := other.Exec(step.sql, step.args...); err != nil {
			t.Fatal(err)
		}
		if got := names(); got != step.want {
			t.Errorf("after %s: %q, want %q", step.sql, got, step.want)
		}
	}
}
