package handlers_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"swapdesk/db"
)

var shareURL = regexp.MustCompile(`(http://[^ ]+)/s/([A-Za-z0-9_-]{43})\b`)

// makeShare posts the share form of job's page as c and returns the link's
// path (/s/TOKEN) from the flash that shows it once.
func (c *client) makeShare(job db.Job, days string) string {
	c.t.Helper()
	page := "/jobs/" + strconv.FormatInt(job.ID, 10)
	res := c.submit(page, page+"/shares", url.Values{"days": {days}})
	wantStatus(c.t, res, http.StatusSeeOther)
	shown := c.get(page)
	m := shareURL.FindStringSubmatch(shown.doc.Find("#flashes").Text())
	if m == nil {
		c.t.Fatalf("no share URL in the flash: %q", shown.doc.Find("#flashes").Text())
	}
	if m[1] != c.app.srv.URL {
		c.t.Errorf("share URL on %s, want the request's host %s", m[1], c.app.srv.URL)
	}
	// Shown once: the next page load does not show it again.
	if again := c.get(page); shareURL.MatchString(again.body) {
		c.t.Error("the link's URL is shown a second time")
	}
	return "/s/" + m[2]
}

func (a *testApp) shares(jobID int64) []db.Share {
	a.t.Helper()
	list, err := a.store.SharesForJob(context.Background(), jobID)
	if err != nil {
		a.t.Fatal(err)
	}
	return list
}

// A link lives from creation to revocation, expiry or the job's deletion;
// the public page needs no session, shows no navigation, and serves the
// video with Range.
func TestShareLinkLifecycle(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 200)
	job := app.archivedJob(t, ana)
	link := ana.makeShare(job, "")
	list := app.shares(job.ID)
	if len(list) != 1 || list[0].ExpiresAt.Sub(list[0].CreatedAt) != 7*24*time.Hour {
		t.Fatalf("shares %+v, want one of 7 days", list)
	}
	page := ana.get("/jobs/" + strconv.FormatInt(job.ID, 10))
	row := page.doc.Find(`#job-shares tr[data-share-id="` + strconv.FormatInt(list[0].ID, 10) + `"]`)
	if row.Length() != 1 || !strings.Contains(row.Text(), "Active") || row.Find(`form[action$="/revoke"]`).Length() != 1 {
		t.Errorf("the job page's link row: %q", row.Text())
	}
	if strings.Contains(page.body, strings.TrimPrefix(link, "/s/")) {
		t.Error("the job page shows the token again")
	}

	visitor := app.client()
	pub := visitor.get(link)
	wantStatus(t, pub, http.StatusOK)
	publicHeaders := func(res *response) {
		t.Helper()
		if res.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(res.Header.Get("X-Robots-Tag"), "noindex") {
			t.Errorf("%s: Referrer-Policy %q, X-Robots-Tag %q", res.Request.URL.Path, res.Header.Get("Referrer-Policy"), res.Header.Get("X-Robots-Tag"))
		}
	}
	publicHeaders(pub)
	if pub.doc.Find("nav, .topbar").Length() != 0 {
		t.Error("the public page shows navigation")
	}
	if src, _ := pub.doc.Find("video").Attr("src"); src != link+"/video" {
		t.Errorf("video src %q", src)
	}
	dl := pub.doc.Find("a[download]")
	if href, _ := dl.Attr("href"); href != link+"/video?download=1" {
		t.Errorf("download href %q", href)
	}
	if len(pub.Cookies()) != 0 {
		t.Errorf("the public page set cookies: %v", pub.Cookies())
	}
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+link+"/video", nil)
	req.Header.Set("Range", "bytes=4-7")
	if res := visitor.do(req); res.StatusCode != http.StatusPartialContent || res.body != "ftyp" {
		t.Errorf("Range 4-7: %d %q, want 206 \"ftyp\"", res.StatusCode, res.body)
	}
	res := visitor.get(link + "/video?download=1")
	wantStatus(t, res, http.StatusOK)
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="`+entryName(job)+`"` || int64(len(res.body)) != job.ArchiveSize {
		t.Errorf("download: %q, %d bytes", cd, len(res.body))
	}
	publicHeaders(res)
	// No poster and no kept image on this job: no poster.
	wantStatus(t, visitor.get(link+"/poster"), http.StatusNotFound)
	// Hiding the job does not stop its link: the owner chose to share it.
	if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: job.UserID}, job.ID, true); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, visitor.get(link), http.StatusOK)

	// Revoked: another member cannot, the owner can, and it stops at once.
	bo, _ := app.member("bo@example.com", 0)
	revoke := "/shares/" + strconv.FormatInt(list[0].ID, 10) + "/revoke"
	wantStatus(t, bo.submit("/", revoke, nil), http.StatusNotFound)
	wantStatus(t, visitor.get(link), http.StatusOK)
	wantStatus(t, ana.submit("/", revoke, nil), http.StatusSeeOther)
	for _, p := range []string{link, link + "/video", link + "/poster"} {
		res := visitor.get(p)
		wantStatus(t, res, http.StatusNotFound)
		publicHeaders(res)
	}
	if row := ana.get("/jobs/" + strconv.FormatInt(job.ID, 10)).doc.Find("#job-shares tbody tr"); !strings.Contains(row.Text(), "Revoked") ||
		row.Find("form").Length() != 0 {
		t.Errorf("revoked row %q", row.Text())
	}

	// Expired: a day later and a moment, by the fake clock.
	day := ana.makeShare(job, "1")
	wantStatus(t, visitor.get(day), http.StatusOK)
	app.clock.Advance(24*time.Hour + time.Second)
	wantStatus(t, visitor.get(day), http.StatusNotFound)
	wantStatus(t, visitor.get(day+"/video"), http.StatusNotFound)

	// The job deleted: its links stop.
	last := ana.makeShare(job, "30")
	wantStatus(t, visitor.get(last), http.StatusOK)
	id := strconv.FormatInt(job.ID, 10)
	wantStatus(t, ana.submit("/jobs/"+id, "/jobs/"+id+"/delete", nil), http.StatusSeeOther)
	wantStatus(t, visitor.get(last), http.StatusNotFound)
	wantStatus(t, visitor.get(last+"/video"), http.StatusNotFound)

	// Tokens that are not ours: the same 404.
	for _, p := range []string{"/s/x", "/s/" + strings.Repeat("A", 43), "/s/" + strings.Repeat("~", 43), "/s/" + strings.Repeat("A", 43) + "/video"} {
		wantStatus(t, visitor.get(p), http.StatusNotFound)
	}
	wantStatus(t, visitor.post(link, nil), http.StatusMethodNotAllowed)
}

// Bad lifetimes are refused with the message beside the field and nothing
// written.
func TestShareLinkBadDays(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, ana)
	page := "/jobs/" + strconv.FormatInt(job.ID, 10)
	for _, days := range []string{"0", "31", "-1", "1.5", "seven", "<script>alert(1)</script>", "99999999999999999999"} {
		res := ana.submit(page, page+"/shares", url.Values{"days": {days}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if msg := res.doc.Find("#share-days-error").Text(); !strings.Contains(msg, "from 1 to 30") {
			t.Errorf("days %q: message %q", days, msg)
		}
		if v, _ := res.doc.Find("#share-days").Attr("value"); v != days {
			t.Errorf("days %q: the field shows %q", days, v)
		}
		if strings.Contains(res.body, "<script>alert") {
			t.Error("the page echoes markup")
		}
	}
	if n := len(app.shares(job.ID)); n != 0 {
		t.Errorf("%d shares written", n)
	}
}

// Who may make a link: the owner and admins, of an archived result only.
func TestShareLinkAuthorization(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 200)
	job := app.archivedJob(t, ana)
	running := app.submitted(ana)
	bo, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("boss@example.com", true)
	post := func(c *client, j db.Job) *response {
		page := "/"
		if c == nil {
			c, page = app.client(), "/login"
		}
		return c.submit(page, "/jobs/"+strconv.FormatInt(j.ID, 10)+"/shares", url.Values{"days": {"3"}})
	}
	wantStatus(t, post(bo, job), http.StatusNotFound)
	wantStatus(t, post(ana, running), http.StatusNotFound)
	if res := post(nil, job); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if n := len(app.shares(job.ID)) + len(app.shares(running.ID)); n != 0 {
		t.Fatalf("%d shares written by people who may not", n)
	}
	link := admin.makeShare(job, "3")
	wantStatus(t, app.client().get(link), http.StatusOK)
	// The admin's link shows on the owner's page, and the owner may revoke it.
	list := app.shares(job.ID)
	wantStatus(t, ana.submit("/", "/shares/"+strconv.FormatInt(list[0].ID, 10)+"/revoke", nil), http.StatusSeeOther)
	wantStatus(t, app.client().get(link), http.StatusNotFound)
	// The running job's page offers no share form.
	if ana.get("/jobs/"+strconv.FormatInt(running.ID, 10)).doc.Find("#job-shares").Length() != 0 {
		t.Error("a running job offers share links")
	}
}

// The public poster is the result's poster, else its kept character image
// (set here in SQL and on disk as the poster maker and the submit path
// would: they are other branches' work).
func TestSharePosterFallsBackToTheCharacterImage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, ana)
	link := ana.makeShare(job, "")
	visitor := app.client()
	wantStatus(t, visitor.get(link+"/poster"), http.StatusNotFound)

	png := mustRead(t, "../static/samples/character.png")
	writeMedia(t, app, "images/character.png", png)
	setJobColumns(t, app, job.ID, "image_key = 'images/character.png', image_type = 'image/png'")
	page := visitor.get(link)
	if poster, _ := page.doc.Find("video").Attr("poster"); poster != link+"/poster" {
		t.Errorf("video poster %q", poster)
	}
	res := visitor.get(link + "/poster")
	wantStatus(t, res, http.StatusOK)
	if res.Header.Get("Content-Type") != "image/png" || res.body != string(png) {
		t.Errorf("poster: %q, %d bytes", res.Header.Get("Content-Type"), len(res.body))
	}

	writeMedia(t, app, "posters/1.jpg", []byte("\xff\xd8\xff a jpeg"))
	setJobColumns(t, app, job.ID, "poster_key = 'posters/1.jpg', poster_state = 'done'")
	res = visitor.get(link + "/poster")
	wantStatus(t, res, http.StatusOK)
	if res.Header.Get("Content-Type") != "image/jpeg" || res.body != "\xff\xd8\xff a jpeg" {
		t.Errorf("poster: %q, %q", res.Header.Get("Content-Type"), res.body)
	}
}

func writeMedia(t *testing.T, app *testApp, key string, b []byte) {
	t.Helper()
	p := filepath.Join(app.mediaDir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// setJobColumns updates job id's row on a connection of its own (the store
// has no setter for these columns yet).
func setJobColumns(t *testing.T, app *testApp, id int64, set string) {
	t.Helper()
	conn, err := sql.Open("sqlite", db.DSN(filepath.Join(filepath.Dir(app.mediaDir), "swapdesk.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec(`UPDATE jobs SET `+set+` WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
}
