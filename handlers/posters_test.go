package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/jobs"
	"swapdesk/internal/storage"
)

const (
	testJPEG = "\xff\xd8\xff\xe0 a poster"
	testClip = "\x00\x00\x00\x18ftypisom a preview"
)

// archivedResult submits a job for c, finishes and archives it, and keeps
// its character image, as the background steps do.
func (a *testApp) archivedResult(t *testing.T, c *client) db.Job {
	t.Helper()
	ctx := context.Background()
	job := a.submitted(c)
	a.pollUntil(t, job.ID, db.JobSucceeded)
	if n := a.archiver.ArchiveDue(ctx); n != 1 {
		t.Fatalf("archived %d results, want 1", n)
	}
	if err := a.inputs.KeepImage(ctx, a.job(job.ID)); err != nil {
		t.Fatalf("keep image: %v", err)
	}
	return a.job(job.ID)
}

// putFrames stores a stand-in poster and preview for job, as the poster
// maker would (ffmpeg itself is tested in internal/poster).
func (a *testApp) putFrames(t *testing.T, job db.Job) db.Job {
	t.Helper()
	ctx := context.Background()
	pk, vk := jobs.PosterKey(job.ID, job.FinishedAt), jobs.PreviewKey(job.ID, job.FinishedAt)
	for key, body := range map[string]string{pk: testJPEG, vk: testClip} {
		w, err := a.mediaStore.Create(ctx, key, storage.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.store.MarkPoster(ctx, job.ID, pk, vk); err != nil {
		t.Fatal(err)
	}
	return a.job(job.ID)
}

// Poster, preview and character image follow the gallery's rule: the team
// sees a result unless its owner hid it; owner and admins always; nobody
// without signing in; nobody once it is deleted.
func TestFrameRoutesAuthorization(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	owner, ou := app.member("ana@example.com", 100)
	other, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("root@example.com", true)
	anon := app.client()
	job := app.putFrames(t, app.archivedResult(t, owner))
	id := strconv.FormatInt(job.ID, 10)
	routes := map[string]string{"poster": testJPEG, "preview": testClip, "image": string(mustRead(t, "../static/samples/character.png"))}
	clients := []struct {
		name string
		c    *client
		// sees: shown, hidden
		shown, hidden bool
	}{
		{"owner", owner, true, true},
		{"other member", other, true, false},
		{"admin", admin, true, true},
		{"anonymous", anon, false, false},
	}
	for _, hidden := range []bool{false, true} {
		if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: ou.ID}, job.ID, hidden); err != nil {
			t.Fatal(err)
		}
		for _, cl := range clients {
			for route, body := range routes {
				t.Run(cl.name+"/"+route+"/hidden="+strconv.FormatBool(hidden), func(t *testing.T) {
					res := cl.c.get("/media/" + id + "/" + route)
					want := cl.shown
					if hidden {
						want = cl.hidden
					}
					switch {
					case want:
						wantStatus(t, res, http.StatusOK)
						if res.body != body {
							t.Errorf("body %q, want the stored file", snippet(res.body))
						}
						if cc := res.Header.Get("Cache-Control"); cc != "private, no-cache" {
							t.Errorf("Cache-Control %q", cc)
						}
					case cl.c == anon:
						wantStatus(t, res, http.StatusSeeOther)
						if !strings.HasPrefix(res.Header.Get("Location"), "/login") {
							t.Errorf("Location %q, want the login page", res.Header.Get("Location"))
						}
					default:
						wantStatus(t, res, http.StatusNotFound)
					}
				})
			}
		}
	}
	// A deleted job's files are gone for everyone.
	wantStatus(t, owner.submit("/jobs/"+id, "/jobs/"+id+"/delete", url.Values{}), http.StatusSeeOther)
	for route := range routes {
		wantStatus(t, admin.get("/media/"+id+"/"+route), http.StatusNotFound)
	}
	for _, key := range []string{job.PosterKey, job.PreviewKey, job.ImageKey} {
		if _, err := app.mediaStore.Stat(context.Background(), key); err == nil {
			t.Errorf("%s is still in the media store after the job was deleted", key)
		}
	}
}

// The poster falls back to the kept character image, then 404; the
// preview has no fallback; a recorded file missing from the store is 404.
func TestPosterFallbacks(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	png := string(mustRead(t, "../static/samples/character.png"))
	job := app.archivedResult(t, c)
	id := strconv.FormatInt(job.ID, 10)

	res := c.get("/media/" + id + "/poster")
	wantStatus(t, res, http.StatusOK)
	if res.body != png || res.Header.Get("Content-Type") != "image/png" {
		t.Errorf("poster without one: %q as %q, want the character image", snippet(res.body), res.Header.Get("Content-Type"))
	}
	wantStatus(t, c.get("/media/"+id+"/preview"), http.StatusNotFound)

	job = app.putFrames(t, job)
	res = c.get("/media/" + id + "/poster")
	if res.body != testJPEG || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("poster: %q as %q, want the poster", snippet(res.body), res.Header.Get("Content-Type"))
	}
	if res.Header.Get("ETag") == "" {
		t.Error("poster has no ETag")
	}
	res = c.get("/media/" + id + "/preview")
	if res.body != testClip || res.Header.Get("Content-Type") != "video/mp4" {
		t.Errorf("preview: %q as %q", snippet(res.body), res.Header.Get("Content-Type"))
	}

	// Files gone from the store: 404, never a 500.
	for _, key := range []string{job.PosterKey, job.PreviewKey, job.ImageKey} {
		if err := os.Remove(filepath.Join(app.mediaDir, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
	}
	for _, route := range []string{"poster", "preview", "image"} {
		wantStatus(t, c.get("/media/"+id+"/"+route), http.StatusNotFound)
	}

	// Nothing kept at all: 404.
	bare := app.submitted(c)
	app.pollUntil(t, bare.ID, db.JobSucceeded)
	app.archiver.ArchiveDue(context.Background())
	for _, route := range []string{"poster", "preview", "image"} {
		wantStatus(t, c.get("/media/"+strconv.FormatInt(bare.ID, 10)+"/"+route), http.StatusNotFound)
	}
	for _, path := range []string{"/media/abc/poster", "/media/0/image", "/media/99999/preview"} {
		wantStatus(t, c.get(path), http.StatusNotFound)
	}
}

// The character image of a job still running is its owner's (and admins')
// to see: the team sees it once the result is in the gallery.
func TestCharacterImageOfARunningJob(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	owner, _ := app.member("ana@example.com", 100)
	other, _ := app.member("bo@example.com", 0)
	admin := app.signedIn("root@example.com", true)
	job := app.submitted(owner)
	if err := app.inputs.KeepImage(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	path := "/media/" + strconv.FormatInt(job.ID, 10) + "/image"
	wantStatus(t, owner.get(path), http.StatusOK)
	wantStatus(t, admin.get(path), http.StatusOK)
	wantStatus(t, other.get(path), http.StatusNotFound)
	wantStatus(t, owner.get("/media/"+strconv.FormatInt(job.ID, 10)+"/poster"), http.StatusNotFound)
}

// A result's page shows the real poster on the player, the kept character
// image beside it, who made it, a named download, the two ways to start
// again, and the results before and after it with the gallery's query.
func TestResultPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	owner, ou := app.member("ana@example.com", 100)
	other, _ := app.member("bo@example.com", 0)
	older := app.putFrames(t, app.archivedResult(t, owner))
	mid := app.archivedResult(t, owner)
	newer := app.archivedResult(t, owner)
	id := strconv.FormatInt(mid.ID, 10)
	oid, nid := strconv.FormatInt(older.ID, 10), strconv.FormatInt(newer.ID, 10)

	page := owner.get("/jobs/" + id + "?from=gallery&q=cat")
	wantStatus(t, page, http.StatusOK)
	if got, _ := page.doc.Find("video.player").Attr("poster"); got != "/media/"+id+"/poster" {
		t.Errorf("player poster %q, want /media/%s/poster", got, id)
	}
	if got, _ := page.doc.Find("figure.character img").Attr("src"); got != "/media/"+id+"/image" {
		t.Errorf("character image %q", got)
	}
	use, _ := page.doc.Find(`a:contains("Use this character")`).Attr("href")
	if u, err := url.Parse(use); err != nil || u.Path != "/jobs/new" || len(u.Query()) != 1 || u.Query().Get("image_url") != mid.ImageURL {
		t.Errorf("Use this character: %q, want New swap with only the image", use)
	}
	rerun, _ := page.doc.Find(`a:contains("Run again with changes")`).Attr("href")
	if u, err := url.Parse(rerun); err != nil || u.Query().Get("video_url") != mid.VideoURL || u.Query().Get("resolution") != "720p" {
		t.Errorf("Run again with changes: %q, want every setting", rerun)
	}
	if got, _ := page.doc.Find(`a[rel="prev"]`).Attr("href"); got != "/jobs/"+nid+"?from=gallery&q=cat" {
		t.Errorf("newer: %q", got)
	}
	if got, _ := page.doc.Find(`a[rel="next"]`).Attr("href"); got != "/jobs/"+oid+"?from=gallery&q=cat" {
		t.Errorf("older: %q", got)
	}
	if got := page.doc.Find(".facts dd").First().Text(); got != "you" {
		t.Errorf("made by %q, want you", got)
	}
	dl, _ := page.doc.Find(`a:contains("Download")`).Attr("href")
	res := owner.get(dl)
	wantStatus(t, res, http.StatusOK)
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="swap-`+id+`-720p.mp4"` {
		t.Errorf("download: Content-Disposition %q", cd)
	}

	// A teammate opens it from the gallery: read-only, no ledger lines.
	page = other.get("/jobs/" + id)
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find(`form[action$="/delete"]`).Length() != 0 {
		t.Error("a teammate is offered Delete")
	}
	if page.doc.Find("table.ledger").Length() != 0 {
		t.Error("a teammate sees the owner's ledger lines")
	}
	if page.doc.Find("#job-shares").Length() != 0 {
		t.Error("a teammate is shown the owner's share links")
	}
	if got := page.doc.Find(".facts dd").First().Text(); got != "User ana@example.com" {
		t.Errorf("made by %q, want the owner's name", got)
	}
	// The newer one hidden: the teammate steps over it, and cannot open it.
	if err := app.store.SetHidden(context.Background(), db.Viewer{UserID: ou.ID}, newer.ID, true); err != nil {
		t.Fatal(err)
	}
	page = other.get("/jobs/" + id)
	if page.doc.Find(`a[rel="prev"]`).Length() != 0 {
		t.Error("a hidden result is offered as the newer one")
	}
	wantStatus(t, other.get("/jobs/"+nid), http.StatusNotFound)
	// Its owner still steps to it.
	if got, _ := owner.get("/jobs/" + id).doc.Find(`a[rel="prev"]`).Attr("href"); got != "/jobs/"+nid {
		t.Errorf("owner's newer: %q", got)
	}
}

// Without a kept image the page links the member's image and the player
// has no poster from the store.
func TestResultPageWithoutKeptImage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	app.pollUntil(t, job.ID, db.JobSucceeded)
	app.archiver.ArchiveDue(context.Background())
	page := c.get("/jobs/" + strconv.FormatInt(job.ID, 10))
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find("figure.character").Length() != 0 {
		t.Error("a character figure without a kept image")
	}
	if got, _ := page.doc.Find("video.player").Attr("poster"); got != job.ImageURL {
		t.Errorf("poster %q, want the member's image link", got)
	}
	if page.doc.Find(`.facts a:contains("Use this character")`).Length() != 1 {
		t.Error("no Use this character link by the image link")
	}
}
