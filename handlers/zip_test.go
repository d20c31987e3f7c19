package handlers_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"swapdesk/db"
)

// archivedWithPrompt is a member's archived job with prompt.
func (a *testApp) archivedWithPrompt(t *testing.T, c *client, prompt string) db.Job {
	t.Helper()
	v := a.jobValues()
	v.Set("prompt", prompt)
	res := c.submitJob(v)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", res.StatusCode, snippet(res.body))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	a.pollUntil(t, id, db.JobSucceeded)
	if n := a.archiver.ArchiveDue(context.Background()); n != 1 {
		t.Fatalf("archived %d jobs, want 1", n)
	}
	return a.job(id)
}

// zipIDs posts ids to /gallery/zip with the client's CSRF token.
func (c *client) zipIDs(ids ...string) *response {
	c.t.Helper()
	return c.submit("/", "/gallery/zip", url.Values{"id": ids})
}

func idStrings(jobs ...db.Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, strconv.FormatInt(j.ID, 10))
	}
	return out
}

// openZip reads a 200 response as a zip: its entries by name.
func openZip(t *testing.T, res *response) (map[string][]byte, []string) {
	t.Helper()
	wantStatus(t, res, http.StatusOK)
	zr, err := zip.NewReader(strings.NewReader(res.body), int64(len(res.body)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	files := map[string][]byte{}
	var names []string
	for _, f := range zr.File {
		if f.Method != zip.Store {
			t.Errorf("%s is compressed (method %d), want stored", f.Name, f.Method)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		files[f.Name] = b
		names = append(names, f.Name)
	}
	return files, names
}

func entryName(j db.Job) string {
	return "swap-" + strconv.FormatInt(j.ID, 10) + "-" + j.Resolution + ".mp4"
}

// The zip holds what the member may see of the selection, each video as
// stored, and a manifest whose formula-like cells are neutralised.
func TestGalleryZipContents(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 200)
	bo, boUser := app.member("bo@example.com", 200)
	a1 := app.archivedWithPrompt(t, ana, `=HYPERLINK("http://evil.test","click")`)
	a2 := app.archivedWithPrompt(t, ana, "a cat, dancing \"in the rain\"")
	bShown := app.archivedWithPrompt(t, bo, "@SUM(1+1)")
	bHidden := app.archivedWithPrompt(t, bo, "private")
	if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: boUser.ID}, bHidden.ID, true); err != nil {
		t.Fatal(err)
	}
	running := app.submitted(ana)

	ids := append(idStrings(a1, a2, bShown, bHidden, running, a1), "999999")
	res := ana.zipIDs(ids...)
	files, names := openZip(t, res)
	if ct := res.Header.Get("Content-Type"); ct != "application/zip" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd, want := res.Header.Get("Content-Disposition"), `attachment; filename="swapdesk-2026-11-25-3-results.zip"`; cd != want {
		t.Errorf("Content-Disposition %q, want %q", cd, want)
	}
	want := []string{entryName(bShown), entryName(a2), entryName(a1), "manifest.csv"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("entries %v, want %v", names, want)
	}
	for _, j := range []db.Job{a1, a2, bShown} {
		stored := mustRead(t, filepath.Join(app.mediaDir, filepath.FromSlash(j.ArchivePath)))
		if !bytes.Equal(files[entryName(j)], stored) || int64(len(stored)) != j.ArchiveSize {
			t.Errorf("%s: %d bytes, want the stored %d", entryName(j), len(files[entryName(j)]), len(stored))
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(files["manifest.csv"])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || strings.Join(rows[0], ",") != "id,created,member,mode,resolution,seconds,credits,prompt,filename" {
		t.Fatalf("manifest %q", rows)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	check := func(j db.Job, member, prompt string) {
		t.Helper()
		r := byID[strconv.FormatInt(j.ID, 10)]
		if r == nil {
			t.Fatalf("no manifest row for job %d", j.ID)
		}
		if r[2] != member || r[3] != j.Mode || r[4] != j.Resolution || r[7] != prompt || r[8] != entryName(j) ||
			r[6] != strconv.FormatInt(*j.ChargedCredits, 10) || r[1] != j.CreatedAt.UTC().Format("2006-01-02T15:04:05Z") {
			t.Errorf("manifest row %q", r)
		}
		if s, err := strconv.ParseFloat(r[5], 64); err != nil || s <= 0 {
			t.Errorf("seconds %q", r[5])
		}
	}
	check(a1, "User ana@example.com", `'=HYPERLINK("http://evil.test","click")`)
	check(a2, "User ana@example.com", "a cat, dancing \"in the rain\"")
	check(bShown, "User bo@example.com", "'@SUM(1+1)")
}

// Who gets what of a hidden job and a deleted one: the owner and admins the
// hidden one, another member nothing (422, as for a deleted or unknown
// id: no hint which), a visitor the sign-in page.
func TestGalleryZipAuthorization(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, anaUser := app.member("ana@example.com", 200)
	hidden := app.archivedJob(t, ana)
	if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: anaUser.ID}, hidden.ID, true); err != nil {
		t.Fatal(err)
	}
	deleted := app.archivedJob(t, ana)
	bo, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("boss@example.com", true)
	del := strconv.FormatInt(deleted.ID, 10)
	wantStatus(t, ana.submit("/jobs/"+del, "/jobs/"+del+"/delete", nil), http.StatusSeeOther)

	for _, tc := range []struct {
		name string
		c    *client
		want int
	}{{"owner", ana, http.StatusOK}, {"admin", admin, http.StatusOK}, {"other member", bo, http.StatusUnprocessableEntity}} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.c.zipIDs(idStrings(hidden, deleted)...)
			wantStatus(t, res, tc.want)
			if tc.want == http.StatusOK {
				if _, names := openZip(t, res); strings.Join(names, " ") != entryName(hidden)+" manifest.csv" {
					t.Errorf("entries %v", names)
				}
				return
			}
			if res.Header.Get("Content-Disposition") != "" || !strings.Contains(res.doc.Find("main").Text(), "None of the selected results") {
				t.Errorf("422 page: disposition %q, text %q", res.Header.Get("Content-Disposition"), res.doc.Find("main").Text())
			}
		})
	}
	t.Run("deleted alone, even for its owner", func(t *testing.T) {
		wantStatus(t, ana.zipIDs(del), http.StatusUnprocessableEntity)
	})
	t.Run("anonymous", func(t *testing.T) {
		anon := app.client()
		res := anon.submit("/login", "/gallery/zip", url.Values{"id": idStrings(hidden)})
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
			t.Errorf("Location %q", loc)
		}
	})
	t.Run("no CSRF token", func(t *testing.T) {
		wantStatus(t, ana.post("/gallery/zip", url.Values{"id": idStrings(hidden)}), http.StatusForbidden)
	})
}

// A request is bounded: at most 500 ids (10,000 is refused with a clear
// message), every id a number, at least one.
func TestGalleryZipBounds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, ana)
	many := func(n int) []string {
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.Itoa(1_000_000 + i)
		}
		return ids
	}
	// 9,999 ids and the token: as many fields as Go parses.
	res := ana.zipIDs(many(9_999)...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := res.doc.Find("main").Text(); !strings.Contains(msg, "at most 500 results; 9999 were selected") {
		t.Errorf("message %q", msg)
	}
	// 10,000 and the token: more than Go parses (not a CSRF failure).
	res = ana.zipIDs(many(10_000)...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := res.doc.Find("main").Text(); !strings.Contains(msg, "too many fields") {
		t.Errorf("message %q", msg)
	}
	// 500 is fine: the one that exists is zipped, the rest left out.
	ids := append(many(499), strconv.FormatInt(job.ID, 10))
	if _, names := openZip(t, ana.zipIDs(ids...)); len(names) != 2 || names[0] != entryName(job) {
		t.Errorf("entries %v", names)
	}
	// Repeats count once in the zip.
	if _, names := openZip(t, ana.zipIDs(idStrings(job, job, job)...)); len(names) != 2 {
		t.Errorf("entries %v", names)
	}
	for _, bad := range [][]string{nil, {"abc"}, {"-1"}, {"0"}, {"1e3"}, {strconv.FormatInt(job.ID, 10), "<script>"}} {
		res := ana.zipIDs(bad...)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if strings.Contains(res.body, "<script>") {
			t.Errorf("%q: the page echoes the input", bad)
		}
	}
}

// When the store fails after the zip has started, the download is cut off:
// the client sees a broken transfer, not a zip that looks complete.
func TestGalleryZipStoreFailsMidStream(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 100)
	older := app.archivedJob(t, ana)
	newer := app.archivedJob(t, ana)
	// The newer job comes first; the older one's file is cut short.
	if err := os.Truncate(filepath.Join(app.mediaDir, filepath.FromSlash(older.ArchivePath)), 100); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"id": idStrings(older, newer), "csrf": {ana.csrf("/")}}
	req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/gallery/zip", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := ana.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	b, err := io.ReadAll(res.Body)
	if err == nil {
		t.Fatalf("read %d bytes and a clean end, want the transfer cut off", len(b))
	}
	if len(b) <= int(newer.ArchiveSize) {
		t.Errorf("got %d bytes before the cut, want at least the first video (%d)", len(b), newer.ArchiveSize)
	}
	// The server is fine afterwards.
	wantStatus(t, ana.get("/"), http.StatusOK)
}
