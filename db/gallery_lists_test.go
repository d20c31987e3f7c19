package db

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Every dated page, walked to its end with each filter the gallery has,
// for an owner, another member and an admin, lists exactly what one SQL
// query over jobs finds, in its order (ties of created_at broken by id):
// from the index walks before the team's list is read, and from the lists
// kept in memory (d.memberLists, d.team) once it is; and again after
// changes made behind the store's back by another connection (a hide, a
// failed archive, a delete, a mode changed, a new result with the same
// created_at as others).
func TestGalleryDatedPagesMatchSQL(t *testing.T) {
	t.Parallel()
	d, other := openShared(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 3)
	rng := rand.New(rand.NewPCG(5, 6))
	modes, resolutions := []string{"animate", "replace"}, []string{"480p", "720p", "1080p"}
	insert := func(db interface {
		Exec(string, ...any) (sql.Result, error)
	}, i int, user int64, created int64, archived string, hidden bool) {
		t.Helper()
		path := "results/x.mp4"
		if archived != "archived" {
			path = ""
		}
		_, err := db.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path, hidden)
			VALUES (?, printf('dated-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', ?, ?,
				10, 20, ?, ?, ?, ?, ?)`, user, i, modes[rng.IntN(2)], resolutions[rng.IntN(3)],
			created, created, archived, path, hidden)
		if err != nil {
			t.Fatal(err)
		}
	}
	teamReady := func() { t.Helper(); waitTeamList(t, d) }
	// An empty gallery (a failed archive moved its version): an empty
	// page, from the index and from the list.
	insert(d.sql, 9999, users[0], 0, "archive_failed", false)
	for range 2 {
		if page, err := d.Gallery(ctx, GalleryQuery{Viewer: Viewer{UserID: users[0]}, Limit: 5}); err != nil || len(page) != 0 {
			t.Fatalf("an empty gallery: %v, %v", page, err)
		}
		teamReady()
	}
	tx, err := d.sql.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 800 {
		archived := "archived"
		if rng.IntN(9) == 0 {
			archived = "archive_failed"
		}
		// Runs of equal created_at: the cursor's tie-break is tested.
		insert(tx, i, users[rng.IntN(len(users))], int64(i/3)*1000, archived, rng.IntN(8) == 0)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want := func(q GalleryQuery) []int64 {
		t.Helper()
		cond, args := `archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL AND (hidden = 0 OR user_id = ? OR ? = 1)`,
			[]any{q.Viewer.UserID, q.Viewer.Admin}
		for _, f := range []struct {
			on   bool
			cond string
			arg  any
		}{
			{q.MemberID != 0, `user_id = ?`, q.MemberID},
			{q.Mode != "", `mode = ?`, q.Mode},
			{q.Resolution != "", `resolution = ?`, q.Resolution},
			{!q.From.IsZero(), `created_at >= ?`, q.From.UnixMilli()},
			{!q.To.IsZero(), `created_at < ?`, q.To.UnixMilli()},
		} {
			if f.on {
				cond += ` AND ` + f.cond
				args = append(args, f.arg)
			}
		}
		return queryIDs(t, d.sql, `SELECT id FROM jobs NOT INDEXED WHERE `+cond+` ORDER BY created_at DESC, id DESC`, args...)
	}
	walk := func(q GalleryQuery) []int64 {
		t.Helper()
		var out []int64
		q.Limit = 10
		for range 1000 {
			page, err := d.Gallery(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ids(page)...)
			if len(page) < q.Limit {
				return out
			}
			c := page[len(page)-1].Cursor(false)
			q.After = &c
		}
		t.Fatal("no end")
		return nil
	}
	viewers := []Viewer{{UserID: users[0]}, {UserID: users[1]}, {UserID: users[2], Admin: true}}
	check := func(when string) {
		t.Helper()
		n := 0
		for _, v := range viewers {
			for _, member := range []int64{0, users[0], users[1]} {
				for _, mode := range []string{"", "replace", "none such"} {
					for _, res := range []string{"", "720p"} {
						for _, dates := range [][2]int64{{0, 0}, {60_000, 180_000}, {200_000, 0}} {
							q := GalleryQuery{Viewer: v, MemberID: member, Mode: mode, Resolution: res}
							if dates[0] != 0 {
								q.From = time.UnixMilli(dates[0])
							}
							if dates[1] != 0 {
								q.To = time.UnixMilli(dates[1])
							}
							got, want := walk(q), want(q)
							if !slices.Equal(got, want) {
								t.Errorf("%s: %+v:\n got %v\nwant %v", when, q, got, want)
							}
							n += len(want)
						}
					}
				}
			}
		}
		if n < 2000 {
			t.Fatalf("%s: only %d results in all: the seed is too small to test anything", when, n)
		}
	}
	check("seeded, before the team's list")
	teamReady()
	check("seeded")
	for i, change := range []string{
		fmt.Sprintf(`UPDATE jobs SET hidden = 1 - hidden WHERE user_id = %d AND id %% 5 = 0`, users[0]),
		`UPDATE jobs SET archive_state = 'archive_failed' WHERE id % 11 = 0`,
		`UPDATE jobs SET deleted_at = 1 WHERE id % 13 = 0`,
		`UPDATE jobs SET mode = 'replace' WHERE id % 17 = 0`,
	} {
		if _, err := other.Exec(change); err != nil {
			t.Fatal(change, err)
		}
		insert(other, 2000+i, users[0], 150_000, "archived", false) // ties with three others
		teamReady()
		check(change)
	}
}

// A versioned cache keeps values read at one version: a newer reading
// replaces them all, an older one is not kept, and past its bound it
// starts again; a value larger than the bound is never kept.
func TestVersionedCache(t *testing.T) {
	t.Parallel()
	var c versionedCache[string]
	if _, ok := c.get(0, 1); ok {
		t.Fatal("an empty cache had a value")
	}
	c.put(5, 1, "a", 2, 10)
	c.put(5, 2, "b", 2, 10)
	if v, ok := c.get(5, 1); !ok || v != "a" {
		t.Errorf("get(5, 1) = %q, %v", v, ok)
	}
	if _, ok := c.get(4, 1); ok {
		t.Error("a value kept at 5 answered for 4")
	}
	c.put(4, 3, "old", 1, 10) // read at an older version: not kept
	if _, ok := c.get(4, 3); ok {
		t.Error("an older reading was kept")
	}
	if _, ok := c.get(5, 2); !ok {
		t.Error("an older reading dropped the newer values")
	}
	c.put(6, 3, "c", 1, 10) // newer: the rest go
	if _, ok := c.get(6, 1); ok {
		t.Error("a value of version 5 survived version 6")
	}
	if v, ok := c.get(6, 3); !ok || v != "c" {
		t.Errorf("get(6, 3) = %q, %v", v, ok)
	}
	c.put(6, 4, "d", 9, 10) // 1 + 9 fits
	c.put(6, 5, "e", 1, 10) // past the bound: starts again
	if _, ok := c.get(6, 4); ok || c.size != 1 {
		t.Errorf("past the bound: %d units kept, value 4 still there: %v", c.size, ok)
	}
	c.put(6, 6, "huge", 11, 10)
	if _, ok := c.get(6, 6); ok || c.size > 10 {
		t.Errorf("a value over the bound was kept (%d units)", c.size)
	}
}

// waitTeamList waits until the team's list, read in the background, is
// kept at the lists' current version, and returns it.
func waitTeamList(t *testing.T, d *DB) *datedList {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		v, err := d.galleryVersions(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if l := d.teamResults(v.lists); l != nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatal("the team's list was not read")
		}
	}
}

// The lists are read again only when what they hold changes: a credit
// settled, a length probed or a job submitted moves the tiles' version
// only, and the pages show the new values from the lists kept; a hide
// moves the lists' version, and the lists are read again.
func TestGalleryListsFollowTheirColumns(t *testing.T) {
	t.Parallel()
	d, other := openShared(t)
	ctx := context.Background()
	users := galleryUsers(t, d, 2)
	for i := range 5 {
		_, err := d.sql.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, charged_credits, created_at, updated_at, archive_state, archive_path)
			VALUES (?, printf('cols-key-%08d', ?), 'succeeded', 'https://x/c.png', 'https://x/m.mp4', 'animate', '720p',
				10, 20, 20, ?, ?, 'archived', 'results/x.mp4')`, users[0], i, (i+1)*1000, (i+1)*1000)
		if err != nil {
			t.Fatal(err)
		}
	}
	viewer := Viewer{UserID: users[1]}
	page := func(member int64) []GalleryItem {
		t.Helper()
		items, err := d.Gallery(ctx, GalleryQuery{Viewer: viewer, MemberID: member, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	team := waitTeamList(t, d)
	page(users[0])
	v0, _ := d.galleryVersions(ctx)
	member, ok := d.memberLists.get(v0.lists, users[0])
	if !ok {
		t.Fatal("the member's list was not kept")
	}
	for _, change := range []string{
		`UPDATE jobs SET charged_credits = 99, video_duration = 12.5 WHERE id = 3`,
		`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution, billed_seconds,
			estimate_credits, created_at, updated_at) VALUES (1, 'queued-job-key-0001', 'queued', 'https://x/c.png',
			'https://x/m.mp4', 'animate', '720p', 10, 20, 9000, 9000)`,
	} {
		if _, err := other.Exec(change); err != nil {
			t.Fatal(change, err)
		}
	}
	v1, _ := d.galleryVersions(ctx)
	if v1.lists != v0.lists || v1.tiles != v0.tiles+2 {
		t.Errorf("versions %+v after a settlement and a submission, from %+v: want the tiles' moved by 2, the lists' not", v1, v0)
	}
	for _, m := range []int64{0, users[0]} {
		items := page(m)
		if got := ids(items); !slices.Equal(got, []int64{5, 4, 3, 2, 1}) {
			t.Fatalf("member %d: %v", m, got)
		}
		if it := items[2]; it.ChargedCredits == nil || *it.ChargedCredits != 99 || it.Length != 12.5 {
			t.Errorf("member %d: result 3 after its settlement: %+v", m, it)
		}
	}
	if l := d.teamResults(v1.lists); l != team {
		t.Error("the team's list was read again after a change to no column it holds")
	}
	if l, _ := d.memberLists.get(v1.lists, users[0]); l != member {
		t.Error("the member's list was read again after a change to no column it holds")
	}
	// Hidden by its owner: gone from the other member's pages, from
	// lists read again.
	if _, err := other.Exec(`UPDATE jobs SET hidden = 1 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if v2, _ := d.galleryVersions(ctx); v2.lists != v1.lists+1 {
		t.Errorf("a hide moved the lists' version from %d to %d", v1.lists, v2.lists)
	}
	if got := ids(page(users[0])); !slices.Equal(got, []int64{5, 4, 3, 1}) {
		t.Errorf("the member's page after a hide: %v", got)
	}
	if l := waitTeamList(t, d); l == team {
		t.Error("the team's list was not read again after a hide")
	}
	if got := ids(page(0)); !slices.Equal(got, []int64{5, 4, 3, 1}) {
		t.Errorf("the team's page after a hide: %v", got)
	}
}
