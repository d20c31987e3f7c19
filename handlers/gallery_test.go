package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
)

// galleryJob is one archived result written straight into the database.
type galleryJob struct {
	owner      int64
	mode, res  string
	created    time.Time
	prompt     string
	hidden     bool
	deleted    bool
	notArchive bool // succeeded, but its copy is still pending
	failed     bool
}

// seedGallery writes jobs as the archiver would have left them and returns
// their ids, in order. The files are not in the media store: the gallery
// lists rows, and /media tests use a job archived for real.
func seedGallery(t testing.TB, app *testApp, jobs ...galleryJob) []int64 {
	t.Helper()
	side := openSide(t, dbFile(t))
	var ids []int64
	for i, j := range jobs {
		if j.mode == "" {
			j.mode = "animate"
		}
		if j.res == "" {
			j.res = "720p"
		}
		if j.created.IsZero() {
			j.created = app.clock.Now().Add(-time.Duration(len(jobs)-i) * time.Hour)
		}
		status, archive, path := "succeeded", any("archived"), fmt.Sprintf("results/2026-11/seed-%d.mp4", i)
		switch {
		case j.failed:
			status, archive, path = "failed", nil, ""
		case j.notArchive:
			archive, path = "pending", ""
		}
		var deleted any
		if j.deleted {
			deleted = j.created.UnixMilli()
		}
		var id int64
		err := side.QueryRow(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, charged_credits, prompt, created_at, updated_at, finished_at,
				video_duration, archive_state, archive_path, archive_sha256, archive_size, hidden, deleted_at)
			VALUES (?, ?, ?, 'https://cdn.example.com/c.png', 'https://cdn.example.com/m.mp4', ?, ?,
				12, 30, 30, ?, ?, ?, ?, 12, ?, ?, '', 0, ?, ?) RETURNING id`,
			j.owner, fmt.Sprintf("gallery-test-key-%06d-%d", i, time.Now().UnixNano()), status, j.mode, j.res,
			j.prompt, j.created.UnixMilli(), j.created.UnixMilli(), j.created.Add(time.Minute).UnixMilli(),
			archive, path, j.hidden, deleted).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// tileIDs are the job ids of the gallery tiles on a page, in order.
func tileIDs(t testing.TB, doc *goquery.Document) []int64 {
	t.Helper()
	var out []int64
	doc.Find("li.tile").Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		n, err := strconv.ParseInt(strings.TrimPrefix(id, "tile-"), 10, 64)
		if err != nil {
			t.Fatalf("tile id %q", id)
		}
		out = append(out, n)
	})
	return out
}

func rev(ids ...int64) []int64 {
	out := slices.Clone(ids)
	slices.Reverse(out)
	return out
}

// The gallery shows the team's archived results newest first, as tiles
// with poster, length, settings, who, when, credits and star; hidden ones
// only to their owner and admins; deleted, failed and unsaved ones never.
func TestGalleryTiles(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, anaU := app.member("ana@example.com", 0)
	bo, boU := app.member("bo@example.com", 0)
	admin := app.signedIn("boss@example.com", true)
	ids := seedGallery(t, app,
		galleryJob{owner: anaU.ID, mode: "replace", res: "1080p"},
		galleryJob{owner: anaU.ID, hidden: true},
		galleryJob{owner: boU.ID},
		galleryJob{owner: boU.ID, deleted: true},
		galleryJob{owner: boU.ID, failed: true},
		galleryJob{owner: boU.ID, notArchive: true},
	)
	for _, tc := range []struct {
		name string
		c    *client
		want []int64
	}{
		{"owner of the hidden one", ana, rev(ids[0], ids[1], ids[2])},
		{"another member", bo, rev(ids[0], ids[2])},
		{"an admin", admin, rev(ids[0], ids[1], ids[2])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.get("/gallery")
			wantStatus(t, res, http.StatusOK)
			if got := tileIDs(t, res.doc); !slices.Equal(got, tc.want) {
				t.Errorf("tiles %v, want %v", got, tc.want)
			}
		})
	}

	res := bo.get("/gallery")
	if cur := res.doc.Find(`.nav a[aria-current="page"]`).Text(); cur != "Gallery" {
		t.Errorf("current nav %q, want Gallery", cur)
	}
	tile := res.doc.Find("#tile-" + strconv.FormatInt(ids[0], 10))
	id := strconv.FormatInt(ids[0], 10)
	if href, _ := tile.Find("a.tile-link").Attr("href"); href != "/jobs/"+id {
		t.Errorf("tile link %q", href)
	}
	img := tile.Find("img.tile-poster")
	for attr, want := range map[string]string{"src": "/media/" + id + "/poster", "loading": "lazy", "width": "320", "height": "180", "alt": ""} {
		if got, ok := img.Attr(attr); !ok || got != want {
			t.Errorf("poster %s = %q, want %q", attr, got, want)
		}
	}
	video := tile.Find("video.tile-preview")
	if p, _ := video.Attr("preload"); p != "none" {
		t.Errorf("preview preload %q, want none", p)
	}
	if _, has := video.Attr("src"); has {
		t.Error("the preview has a src before hover: every tile would fetch its clip")
	}
	if dp, _ := video.Attr("data-preview"); dp != "/media/"+id+"/preview" {
		t.Errorf("preview data-preview %q", dp)
	}
	if _, muted := video.Attr("muted"); !muted {
		t.Error("preview not muted")
	}
	text := strings.Join(strings.Fields(tile.Text()), " ")
	for _, want := range []string{"Swap #" + id, "12 s", "1080p", "replace", "30 credits", "User ana@example.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("tile %q lacks %q", text, want)
		}
	}
	tm := tile.Find("time")
	if dt, _ := tm.Attr("datetime"); dt != app.clock.Now().Add(-6*time.Hour).UTC().Format(time.RFC3339) {
		t.Errorf("time datetime %q", dt)
	}
	if title, _ := tm.Attr("title"); !strings.Contains(title, "2026") || tm.Text() != "6 h ago" {
		t.Errorf("time %q title %q, want relative text and the date in the title", tm.Text(), title)
	}
	if p, _ := tile.Find("button.star").Attr("aria-pressed"); p != "false" {
		t.Errorf("star aria-pressed %q", p)
	}
	// The owner's own tile says "you" and their hidden one says hidden.
	res = ana.get("/gallery")
	hidden := res.doc.Find("#tile-" + strconv.FormatInt(ids[1], 10))
	if !strings.Contains(hidden.Text(), "Hidden") || !strings.Contains(hidden.Find(".tile-by").Text(), "you") {
		t.Errorf("owner's hidden tile: %q", strings.Join(strings.Fields(hidden.Text()), " "))
	}
}

func TestGalleryEmpty(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 0)
	res := c.get("/gallery")
	wantStatus(t, res, http.StatusOK)
	if e := res.doc.Find("#gallery-results .empty").Text(); !strings.Contains(e, "No results in the gallery yet") {
		t.Errorf("empty state %q", e)
	}
	res = c.get("/gallery?mode=replace")
	if e := res.doc.Find("#gallery-results .empty").Text(); !strings.Contains(e, "No results match") {
		t.Errorf("filtered empty state %q", e)
	}
}

// Every filter, alone and together, in the URL of a plain GET form.
func TestGalleryFilters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, anaU := app.member("ana@example.com", 0)
	_, boU := app.member("bo@example.com", 0)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	ids := seedGallery(t, app,
		galleryJob{owner: anaU.ID, mode: "animate", res: "480p", created: day(1), prompt: "a knight in warm light"},
		galleryJob{owner: anaU.ID, mode: "replace", res: "720p", created: day(2), prompt: "stand near the window"},
		galleryJob{owner: boU.ID, mode: "animate", res: "1080p", created: day(3), prompt: "warm sunset, light rain"},
		galleryJob{owner: boU.ID, mode: "replace", res: "480p", created: day(4), prompt: `say "hello" AND wave`},
		galleryJob{owner: boU.ID, mode: "animate", res: "720p", created: day(5), prompt: "prompt: cold, grey"},
	)
	star := c.csrf("/gallery")
	for _, id := range []int64{ids[1], ids[3]} {
		res := c.post(fmt.Sprintf("/jobs/%d/favorite", id), url.Values{"csrf": {star}, "favorite": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
	}
	ana, bo := strconv.FormatInt(anaU.ID, 10), strconv.FormatInt(boU.ID, 10)
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"", rev(ids...)},
		{"member=" + ana, rev(ids[0], ids[1])},
		{"member=" + bo, rev(ids[2], ids[3], ids[4])},
		{"mode=animate", rev(ids[0], ids[2], ids[4])},
		{"resolution=480p", rev(ids[0], ids[3])},
		{"from=2026-11-02", rev(ids[1], ids[2], ids[3], ids[4])},
		{"to=2026-11-02", rev(ids[0], ids[1])}, // the whole end day
		{"from=2026-11-02&to=2026-11-04", rev(ids[1], ids[2], ids[3])},
		{"from=2026-11-03&to=2026-11-03", []int64{ids[2]}},
		{"fav=1", rev(ids[1], ids[3])},
		{"fav=0", rev(ids...)},
		{"q=warm", []int64{ids[2], ids[0]}}, // newest first, as the gallery
		{"q=warm+light", []int64{ids[2], ids[0]}},
		{"q=NEAR", []int64{ids[1]}},            // a word, not FTS's NEAR
		{"q=%22hello%22+AND", []int64{ids[3]}}, // quotes and AND as text
		{"q=prompt:", []int64{ids[4]}},
		{"q=absent", nil},
		{"member=" + bo + "&mode=animate&resolution=1080p&from=2026-11-03&q=warm", []int64{ids[2]}},
		{"member=" + ana + "&fav=1", []int64{ids[1]}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := c.get("/gallery?" + tc.query)
			wantStatus(t, res, http.StatusOK)
			got := tileIDs(t, res.doc)
			want := tc.want
			if !slices.Equal(got, want) {
				t.Errorf("tiles %v, want %v", got, want)
			}
		})
	}
	// The form shows the filter it applied.
	res := c.get("/gallery?member=" + bo + "&mode=replace&resolution=480p&from=2026-11-02&to=2026-11-04&fav=1&q=hello")
	form := res.doc.Find("form#gallery-filters")
	if m, _ := form.Attr("method"); m != "get" {
		t.Errorf("filter form method %q, want get", m)
	}
	for sel, want := range map[string]string{
		`select[name=member] option[selected]`:     bo,
		`select[name=mode] option[selected]`:       "replace",
		`select[name=resolution] option[selected]`: "480p",
		`input[name=from]`:                         "2026-11-02",
		`input[name=to]`:                           "2026-11-04",
		`input[name=q]`:                            "hello",
	} {
		if got, _ := form.Find(sel).Attr("value"); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if _, on := form.Find(`input[name=fav]`).Attr("checked"); !on {
		t.Error("starred only is not checked")
	}
	if hx, _ := form.Attr("hx-push-url"); hx != "true" {
		t.Errorf("hx-push-url %q", hx)
	}
	// htmx asks for the results region only.
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/gallery?mode=animate", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "gallery-results")
	frag := c.do(req)
	wantStatus(t, frag, http.StatusOK)
	if strings.Contains(frag.body, "<html") || frag.doc.Find("li.tile").Length() != 3 {
		t.Errorf("htmx filter answer: %d tiles, full page %v", frag.doc.Find("li.tile").Length(), strings.Contains(frag.body, "<html"))
	}
}

// Bad filters answer a clear message (422, or 400 for a bad page link)
// and never a 500; FTS syntax is searched for as text.
func TestGalleryBadInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, anaU := app.member("ana@example.com", 0)
	seedGallery(t, app, galleryJob{owner: anaU.ID, prompt: "warm light"})
	long := strings.Repeat("warm ", 2000)
	for _, tc := range []struct {
		query  string
		status int
		msg    string
	}{
		{"member=99999", 422, "no such member"},
		{"member=abc", 422, "no such member"},
		{"member=-1", 422, "no such member"},
		{"mode=dance", 422, "animate or replace"},
		{"resolution=4k", 422, "480p, 720p or 1080p"},
		{"from=2026-13-01", 422, "YYYY-MM-DD"},
		{"from=yesterday", 422, "YYYY-MM-DD"},
		{"to=2026-11-31", 422, "YYYY-MM-DD"},
		{"from=2026-11-05&to=2026-11-01", 422, "end date is before the start date"},
		{"fav=2", 422, "fav=1"},
		{"q=warm&sort=oldest", 422, "best match (best) or newest first (newest)"},
		{"sort=" + url.QueryEscape(long), 422, "best match (best) or newest first (newest)"},
		{"q=" + url.QueryEscape(long), 422, "at most 200 characters"},
		{"cursor=garbage", 400, "page link is not valid"},
		{"cursor=" + strings.Repeat("A", 5000), 400, "page link is not valid"},
		{"cursor=YS4xLjE.AAAAAAAAAAAAAAAAAAAAAA", 400, "page link is not valid"},
		{"q=%22", 200, ""},
		{"q=%22%22", 200, ""},
		{"q=%22warm", 200, ""},
		{"q=warm*", 200, ""},
		{"q=*", 200, ""},
		{"q=NEAR(warm+light)", 200, ""},
		{"q=warm+AND", 200, ""},
		{"q=AND+OR+NOT", 200, ""},
		{"q=-warm", 200, ""},
		{"q=-", 200, ""},
		{"q=prompt:warm", 200, ""},
		{"q=%7Bprompt%7D:+warm", 200, ""},
		{"q=^warm", 200, ""},
		{"q=(", 200, ""},
		{"q=" + url.QueryEscape(strings.Repeat("warm ", 40)), 200, ""},
	} {
		t.Run(tc.query[:min(len(tc.query), 40)], func(t *testing.T) {
			res := c.get("/gallery?" + tc.query)
			wantStatus(t, res, tc.status)
			alert := strings.ToLower(res.doc.Find("#gallery-results [role=alert]").Text())
			if tc.msg != "" && !strings.Contains(alert, strings.ToLower(tc.msg)) {
				t.Errorf("message %q lacks %q", alert, tc.msg)
			}
			if tc.msg == "" && alert != "" {
				t.Errorf("unexpected message %q", alert)
			}
			if tc.status != 200 && res.doc.Find("li.tile").Length() != 0 {
				t.Error("results shown with a bad filter")
			}
		})
	}
	// "warm*" is the word warm (the star is punctuation to the index), so
	// it finds the job; quotes and operators never widen a search.
	if n := c.get("/gallery?q=" + url.QueryEscape(`"warm`)).doc.Find("li.tile").Length(); n != 1 {
		t.Errorf(`q="warm: %d tiles, want 1`, n)
	}
	if n := c.get("/gallery?q=" + url.QueryEscape(`warm OR nothing`)).doc.Find("li.tile").Length(); n != 0 {
		t.Errorf("q=warm OR nothing: %d tiles, want 0 (every word is required)", n)
	}
}

// Pages continue by an opaque signed cursor: "Next" without JavaScript,
// "load more" with htmx; a changed cursor, or one moved to another filter,
// is a 400, never a 500 or a wrong page.
func TestGalleryPagination(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, anaU := app.member("ana@example.com", 0)
	var seed []galleryJob
	for i := range 60 {
		mode := "animate"
		if i%3 == 0 {
			mode = "replace"
		}
		prompt := "cold"
		if i%2 == 0 {
			prompt = fmt.Sprintf("warm light %d", i)
		}
		// Two jobs per minute: equal times are ordered by id.
		seed = append(seed, galleryJob{owner: anaU.ID, mode: mode, prompt: prompt,
			created: app.clock.Now().Add(-time.Duration(60-i/2) * time.Minute)})
	}
	ids := seedGallery(t, app, seed...)

	walk := func(first string, htmx bool) (got []int64, pages int) {
		next := first
		for next != "" && pages < 10 {
			pages++
			var res *response
			if htmx && pages > 1 {
				res = c.htmxGet(next)
				if strings.Contains(res.body, "<html") || strings.Contains(res.body, "gallery-filters") {
					t.Fatalf("load more answered a whole page")
				}
			} else {
				res = c.get(next)
			}
			wantStatus(t, res, http.StatusOK)
			got = append(got, tileIDs(t, res.doc)...)
			more := res.doc.Find("li.gallery-more a")
			next, _ = more.Attr("href")
			if next != "" {
				if hx, _ := more.Attr("hx-get"); hx != next {
					t.Errorf("load more hx-get %q, href %q", hx, next)
				}
				if tr, _ := more.Attr("hx-trigger"); !strings.Contains(tr, "revealed") {
					t.Errorf("load more trigger %q", tr)
				}
			}
		}
		return got, pages
	}
	got, pages := walk("/gallery", false)
	if pages != 3 || !slices.Equal(got, rev(ids...)) {
		t.Errorf("plain pages: %d pages, %v; want 3 pages of every job newest first", pages, got)
	}
	got, _ = walk("/gallery", true)
	if !slices.Equal(got, rev(ids...)) {
		t.Errorf("load more: %v", got)
	}
	var replace []int64
	for i, id := range ids {
		if i%3 == 0 {
			replace = append(replace, id)
		}
	}
	if got, _ := walk("/gallery?mode=replace", true); !slices.Equal(got, rev(replace...)) {
		t.Errorf("filtered pages %v, want %v", got, rev(replace...))
	}
	// A search pages newest first; every match once.
	got, pages = walk("/gallery?q=warm", true)
	var warm []int64
	for i, id := range ids {
		if i%2 == 0 {
			warm = append(warm, id)
		}
	}
	warm = rev(warm...)
	if pages != 2 || !slices.Equal(got, warm) {
		t.Errorf("search pages: %d, %v; want 2 pages of %v", pages, got, warm)
	}
	// The same prompts' lengths: best match is newest first too.
	if got, pages = walk("/gallery?q=warm&sort=newest", true); pages != 2 || !slices.Equal(got, warm) {
		t.Errorf("newest-first search pages: %d, %v; want 2 pages of %v", pages, got, warm)
	}
	// A search's page link belongs to its order.
	searchNext, _ := c.get("/gallery?q=warm").doc.Find("li.gallery-more a").Attr("href")
	su, _ := url.Parse(searchNext)
	res := c.get("/gallery?q=warm&sort=newest&cursor=" + url.QueryEscape(su.Query().Get("cursor")))
	wantStatus(t, res, http.StatusBadRequest)

	// Tampering.
	first := c.get("/gallery?mode=animate")
	next, _ := first.doc.Find("li.gallery-more a").Attr("href")
	u, _ := url.Parse(next)
	cursor := u.Query().Get("cursor")
	if cursor == "" || strings.Contains(cursor, strconv.FormatInt(ids[0], 10)+".") {
		t.Fatalf("cursor %q: want an opaque one", cursor)
	}
	flip := []byte(cursor)
	flip[2] ^= 1
	for name, q := range map[string]string{
		"changed":            "mode=animate&cursor=" + url.QueryEscape(string(flip)),
		"moved to a filter":  "mode=replace&cursor=" + url.QueryEscape(cursor),
		"moved to no filter": "cursor=" + url.QueryEscape(cursor),
		"moved to a search":  "q=warm&mode=animate&cursor=" + url.QueryEscape(cursor),
		"cut":                "mode=animate&cursor=" + url.QueryEscape(cursor[:len(cursor)-3]),
	} {
		res := c.get("/gallery?" + q)
		wantStatus(t, res, http.StatusBadRequest)
		if msg := res.doc.Find("[role=alert]").Text(); !strings.Contains(msg, "page link is not valid") {
			t.Errorf("%s cursor: message %q", name, msg)
		}
		res = c.htmxGet("/gallery?" + q)
		wantStatus(t, res, http.StatusBadRequest)
	}
}

// A search lists the best matches first (bm25: here the prompts that are
// mostly the word searched for), ties newest first; sort=newest lists
// them newest first; the form shows the order it applied.
func TestGallerySearchOrder(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, anaU := app.member("ana@example.com", 0)
	ids := seedGallery(t, app,
		galleryJob{owner: anaU.ID, prompt: "robot"},
		galleryJob{owner: anaU.ID, prompt: "a robot dancing in the rain at night"},
		galleryJob{owner: anaU.ID, prompt: "robot robot in a garden"},
		galleryJob{owner: anaU.ID, prompt: "robot waves"},
		galleryJob{owner: anaU.ID, prompt: "a knight in warm light"},
	)
	for _, tc := range []struct {
		query string
		want  []int64
		order string
	}{
		{"q=robot", []int64{ids[0], ids[2], ids[3], ids[1]}, ""},
		{"q=robot&sort=best", []int64{ids[0], ids[2], ids[3], ids[1]}, ""},
		{"q=robot&sort=newest", []int64{ids[3], ids[2], ids[1], ids[0]}, "newest"},
		{"q=robot+rain", []int64{ids[1]}, ""},
		{"sort=newest", rev(ids...), "newest"}, // no search: newest first either way
		{"sort=best", rev(ids...), ""},
	} {
		t.Run(tc.query, func(t *testing.T) {
			res := c.get("/gallery?" + tc.query)
			wantStatus(t, res, http.StatusOK)
			if got := tileIDs(t, res.doc); !slices.Equal(got, tc.want) {
				t.Errorf("tiles %v, want %v", got, tc.want)
			}
			if v, _ := res.doc.Find("#gallery-sort option[selected]").Attr("value"); v != tc.order {
				t.Errorf("order shown %q, want %q", v, tc.order)
			}
			if n := res.doc.Find("#gallery-sort option[selected]").Length(); tc.order == "" && n != 0 {
				t.Errorf("%d options selected for the default order", n)
			}
		})
	}
}

// Stars: instant with htmx (the button swaps itself), a 303 back without;
// only on results the member may see; bad values write nothing.
func TestGalleryFavorites(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, anaU := app.member("ana@example.com", 0)
	_, boU := app.member("bo@example.com", 0)
	ids := seedGallery(t, app,
		galleryJob{owner: boU.ID},
		galleryJob{owner: boU.ID, hidden: true},
		galleryJob{owner: boU.ID, deleted: true},
		galleryJob{owner: boU.ID, failed: true},
		galleryJob{owner: anaU.ID},
	)
	tok := c.csrf("/gallery")
	path := func(id int64) string { return fmt.Sprintf("/jobs/%d/favorite", id) }
	stars := func() int {
		n := 0
		for _, id := range ids {
			if fav, _ := app.store.IsFavorite(context.Background(), anaU.ID, id); fav {
				n++
			}
		}
		return n
	}

	res := c.post(path(ids[0]), url.Values{"csrf": {tok}, "favorite": {"1"}}, "HX-Request", "true")
	wantStatus(t, res, http.StatusOK)
	btn := res.doc.Find("form.star-form button.star")
	if p, _ := btn.Attr("aria-pressed"); p != "true" || strings.Contains(res.body, "<html") {
		t.Errorf("htmx star answer: aria-pressed %q, body %s", p, snippet(res.body))
	}
	if v, _ := res.doc.Find(`input[name=favorite]`).Attr("value"); v != "0" {
		t.Errorf("the starred button's next value %q, want 0", v)
	}
	if stars() != 1 {
		t.Fatalf("%d stars, want 1", stars())
	}
	// Twice is the same star.
	wantStatus(t, c.post(path(ids[0]), url.Values{"csrf": {tok}, "favorite": {"1"}}, "HX-Request", "true"), http.StatusOK)
	gal := c.get("/gallery?fav=1")
	if got := tileIDs(t, gal.doc); !slices.Equal(got, []int64{ids[0]}) {
		t.Errorf("starred only: %v", got)
	}
	if p, _ := gal.doc.Find("button.star").Attr("aria-pressed"); p != "true" {
		t.Errorf("gallery star aria-pressed %q", p)
	}

	// Without JavaScript: 303 back to the page it came from.
	req, _ := http.NewRequest(http.MethodPost, app.srv.URL+path(ids[4]),
		strings.NewReader(url.Values{"csrf": {tok}, "favorite": {"1"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", app.srv.URL+"/gallery?mode=animate")
	res = c.do(req)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/gallery?mode=animate" {
		t.Errorf("back to %q", loc)
	}
	res = c.post(path(ids[4]), url.Values{"csrf": {tok}, "favorite": {"0"}}, "Referer", "https://evil.example/x")
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/gallery" {
		t.Errorf("back to another site: %q", loc)
	}
	if stars() != 1 {
		t.Fatalf("%d stars after unstarring, want 1", stars())
	}

	for _, tc := range []struct {
		name   string
		id     string
		form   url.Values
		status int
	}{
		{"favorite=2", strconv.FormatInt(ids[4], 10), url.Values{"favorite": {"2"}}, http.StatusUnprocessableEntity},
		{"no favorite", strconv.FormatInt(ids[4], 10), url.Values{}, http.StatusUnprocessableEntity},
		{"another's hidden", strconv.FormatInt(ids[1], 10), url.Values{"favorite": {"1"}}, http.StatusNotFound},
		{"deleted", strconv.FormatInt(ids[2], 10), url.Values{"favorite": {"1"}}, http.StatusNotFound},
		{"failed", strconv.FormatInt(ids[3], 10), url.Values{"favorite": {"1"}}, http.StatusNotFound},
		{"no such job", "999999", url.Values{"favorite": {"1"}}, http.StatusNotFound},
		{"not an id", "abc", url.Values{"favorite": {"1"}}, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.form.Set("csrf", tok)
			wantStatus(t, c.post("/jobs/"+tc.id+"/favorite", tc.form), tc.status)
			if stars() != 1 {
				t.Errorf("%d stars, want 1: something was written", stars())
			}
		})
	}
	// No CSRF token: refused.
	wantStatus(t, c.post(path(ids[4]), url.Values{"favorite": {"1"}}), http.StatusForbidden)
	if stars() != 1 {
		t.Errorf("%d stars, want 1", stars())
	}
}

// Who sees what, over the gallery, /media and the star and hide routes:
// the owner, another member, an admin and someone signed out, with the
// result shown, hidden, and deleted.
func TestGalleryAuthorization(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	owner, ownerU := app.member("ana@example.com", 100)
	other, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("boss@example.com", true)
	anon := app.client()
	job := app.archivedJob(t, owner)
	id := strconv.FormatInt(job.ID, 10)
	ctx := context.Background()

	type want struct{ tile, media, star, hide int }
	ok, nf := http.StatusOK, http.StatusNotFound
	for _, state := range []struct {
		name   string
		hidden bool
		who    map[string]want
	}{
		{"shown", false, map[string]want{
			"owner": {1, ok, ok, ok}, "other": {1, ok, ok, nf}, "admin": {1, ok, ok, ok}}},
		{"hidden", true, map[string]want{
			"owner": {1, ok, ok, ok}, "other": {0, nf, nf, nf}, "admin": {1, ok, ok, ok}}},
	} {
		for name, c := range map[string]*client{"owner": owner, "other": other, "admin": admin} {
			t.Run(state.name+"/"+name, func(t *testing.T) {
				if err := app.store.SetHidden(ctx, db.Viewer{UserID: ownerU.ID}, job.ID, state.hidden); err != nil {
					t.Fatal(err)
				}
				w := state.who[name]
				if n := c.get("/gallery").doc.Find("#tile-" + id).Length(); n != w.tile {
					t.Errorf("gallery tiles of the job: %d, want %d", n, w.tile)
				}
				wantStatus(t, c.get("/media/"+id), w.media)
				tok := c.csrf("/gallery")
				res := c.post("/jobs/"+id+"/favorite", url.Values{"csrf": {tok}, "favorite": {"1"}}, "HX-Request", "true")
				wantStatus(t, res, w.star)
				// Hide/show, then put the state back as it was.
				res = c.post("/jobs/"+id+"/hide", url.Values{"csrf": {tok}, "hidden": {boolDigit(!state.hidden)}})
				if w.hide == ok {
					wantStatus(t, res, http.StatusSeeOther)
					if got := app.job(job.ID).Hidden; got != !state.hidden {
						t.Errorf("hidden = %v after the hide post", got)
					}
				} else {
					wantStatus(t, res, w.hide)
					if got := app.job(job.ID).Hidden; got != state.hidden {
						t.Error("another member changed the job's visibility")
					}
				}
			})
		}
		t.Run(state.name+"/signed out", func(t *testing.T) {
			if err := app.store.SetHidden(ctx, db.Viewer{UserID: ownerU.ID}, job.ID, state.hidden); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"/gallery", "/media/" + id} {
				res := anon.get(p)
				if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
					t.Errorf("GET %s signed out: %d to %q, want 303 to /login", p, res.StatusCode, res.Header.Get("Location"))
				}
			}
			res := anon.post("/jobs/"+id+"/favorite", url.Values{"favorite": {"1"}})
			if res.StatusCode < 300 || res.StatusCode == http.StatusOK {
				t.Errorf("star signed out: %d", res.StatusCode)
			}
		})
	}
	if err := app.store.SetHidden(ctx, db.Viewer{UserID: ownerU.ID}, job.ID, false); err != nil {
		t.Fatal(err)
	}
	// The owner's job page has the panel: star, and hide.
	page := owner.get("/jobs/" + id)
	if page.doc.Find(".gallery-panel form[action='/jobs/"+id+"/hide']").Length() != 1 ||
		page.doc.Find(".gallery-panel button.star").Length() != 1 {
		t.Errorf("job page gallery panel: %q", page.doc.Find(".gallery-panel").Text())
	}
	// Bad hide values write nothing.
	tok := owner.csrf("/gallery")
	wantStatus(t, owner.post("/jobs/"+id+"/hide", url.Values{"csrf": {tok}, "hidden": {"2"}}), http.StatusUnprocessableEntity)
	if app.job(job.ID).Hidden {
		t.Error("hidden=2 hid the job")
	}
	// A deleted job's media are gone for everyone.
	res := owner.post("/jobs/"+id+"/delete", url.Values{"csrf": {tok}})
	wantStatus(t, res, http.StatusSeeOther)
	for name, c := range map[string]*client{"owner": owner, "other": other, "admin": admin} {
		if res := c.get("/media/" + id); res.StatusCode != nf {
			t.Errorf("%s: deleted job's media %d, want 404", name, res.StatusCode)
		}
		if n := c.get("/gallery").doc.Find("#tile-" + id).Length(); n != 0 {
			t.Errorf("%s: deleted job in the gallery", name)
		}
		tok := c.csrf("/gallery")
		wantStatus(t, c.post("/jobs/"+id+"/favorite", url.Values{"csrf": {tok}, "favorite": {"1"}}), nf)
	}
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// The jobs list and the dashboard show a finished result's poster as a
// small lazy thumbnail.
func TestJobThumbnails(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, c)
	running := app.submitted(c)
	for _, p := range []string{"/jobs", "/"} {
		res := c.get(p)
		wantStatus(t, res, http.StatusOK)
		img := res.doc.Find(fmt.Sprintf("#job-card-%d img.job-card-thumb", job.ID))
		for attr, want := range map[string]string{"src": fmt.Sprintf("/media/%d/poster", job.ID), "loading": "lazy", "width": "64", "height": "36", "alt": ""} {
			if got, _ := img.Attr(attr); got != want {
				t.Errorf("%s: thumbnail %s = %q, want %q", p, attr, got, want)
			}
		}
		if n := res.doc.Find(fmt.Sprintf("#job-card-%d img.job-card-thumb", running.ID)).Length(); n != 0 {
			t.Errorf("%s: a running job has a thumbnail", p)
		}
	}
}

// The member filter's options (built once per member list) follow a new
// member at once: they are listed, and filtering on them is no error.
func TestGalleryMemberFilterFollowsNewMembers(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 0)
	res := c.get("/gallery")
	wantStatus(t, res, http.StatusOK)
	before := res.doc.Find(`select[name=member] option`).Length()
	cy := app.addUser("cy@example.com", "Cy <the new one>", false)
	id := strconv.FormatInt(cy.ID, 10)
	res = c.get("/gallery")
	if got := res.doc.Find(`select[name=member] option`).Length(); got != before+1 {
		t.Errorf("got %d member options after adding one, want %d", got, before+1)
	}
	if got := res.doc.Find(`select[name=member] option[value="` + id + `"]`).Text(); got != "Cy <the new one>" {
		t.Errorf("new member's option %q", got)
	}
	res = c.get("/gallery?member=" + id)
	wantStatus(t, res, http.StatusOK)
}
