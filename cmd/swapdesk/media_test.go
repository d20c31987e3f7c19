package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/storage/storagetest"
)

// page GETs u and parses it.
func page(t *testing.T, c *http.Client, u string) *goquery.Document {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	doc, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// submitSample submits the sandbox's sample inputs at 720p and returns the
// new job's id.
func submitSample(t *testing.T, c *http.Client, base string) int64 {
	t.Helper()
	doc := page(t, c, base+"/jobs/new?sample=1")
	form := url.Values{}
	for _, name := range []string{"csrf", "idem", "image_url", "video_url"} {
		v, _ := doc.Find(`input[name="` + name + `"]`).Attr("value")
		form.Set(name, v)
	}
	form.Set("mode", "animate")
	form.Set("resolution", "720p")
	res, err := c.PostForm(base+"/jobs", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	if err != nil {
		t.Fatalf("submit redirected to %q", res.Header.Get("Location"))
	}
	return id
}

func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// The README's walkthrough with SWAPDESK_MEDIA_URL pointing at an
// S3-compatible server (gofakes3, in this process): submit in the sandbox,
// archive into the bucket, play with Range (a redirect to a signed URL that
// the server answers with 206), delete (the object goes too).
func TestWalkthroughWithS3Media(t *testing.T) {
	s3 := storagetest.NewS3(t, "swapdesk-media")
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir,
		"SWAPDESK_ADMIN_EMAIL": "boss@example.com", "SWAPDESK_ADMIN_PASSWORD": "a long enough password",
		"SWAPDESK_MEDIA_URL": s3.URL, "AWS_ACCESS_KEY_ID": storagetest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": storagetest.SecretAccessKey}
	s := startServe(t, vars, "--sandbox-queue-delay", "0s", "--sandbox-process-delay", "0s")
	if err := run(context.Background(), []string{"user", "grant", "--email", "boss@example.com", "--credits", "100"},
		env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, "boss@example.com", "a long enough password"); got != http.StatusSeeOther {
		t.Fatalf("sign in: %d", got)
	}
	id := submitSample(t, c, s.URL)
	job := waitJob(t, dir, id, "archived", func(j db.Job) bool { return j.ArchiveState == db.ArchiveDone })

	if keys := s3.Keys(t); !slices.Equal(keys, []string{job.ArchivePath}) || !strings.HasPrefix(job.ArchivePath, "results/") {
		t.Fatalf("bucket holds %v; the job records %q", keys, job.ArchivePath)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "media")); len(entries) != 0 {
		t.Errorf("the data dir's media folder has %d entries; everything should be in the bucket", len(entries))
	}

	mediaURL := s.URL + "/media/" + strconv.FormatInt(id, 10)
	res, _ := get(t, c, mediaURL, "Range", "bytes=4-7")
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, s3.Endpoint+"/swapdesk-media/"+job.ArchivePath+"?") {
		t.Fatalf("GET /media/%d: %d to %q, want a redirect to the bucket", id, res.StatusCode, loc)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("redirect Cache-Control %q", cc)
	}
	// What a browser does next: the same Range at the signed URL.
	res, part := get(t, http.DefaultClient, loc, "Range", "bytes=4-7")
	if res.StatusCode != http.StatusPartialContent || string(part) != "ftyp" {
		t.Errorf("ranged GET of the signed URL: %d %q, want 206 \"ftyp\"", res.StatusCode, part)
	}
	res, whole := get(t, http.DefaultClient, loc)
	sum := sha256.Sum256(whole)
	if res.StatusCode != http.StatusOK || hex.EncodeToString(sum[:]) != job.ArchiveSHA256 || int64(len(whole)) != job.ArchiveSize {
		t.Errorf("full GET: %d, %d bytes; want %d bytes with the recorded SHA-256", res.StatusCode, len(whole), job.ArchiveSize)
	}
	res, _ = get(t, c, mediaURL+"?download=1")
	if u, _ := url.Parse(res.Header.Get("Location")); u == nil || !strings.HasPrefix(u.Query().Get("response-content-disposition"), "attachment") {
		t.Errorf("download link %q should ask for an attachment", res.Header.Get("Location"))
	}

	jobPage := page(t, c, s.URL+"/jobs/"+strconv.FormatInt(id, 10))
	tok, _ := jobPage.Find(`form[action$="/delete"] input[name="csrf"]`).Attr("value")
	res2, err := c.PostForm(s.URL+"/jobs/"+strconv.FormatInt(id, 10)+"/delete", url.Values{"csrf": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	res2.Body.Close()
	if res2.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res2.StatusCode)
	}
	if keys := s3.Keys(t); len(keys) != 0 {
		t.Errorf("after the delete the bucket still holds %v", keys)
	}
	if res, _ := get(t, c, mediaURL); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /media/%d after the delete: %d, want 404", id, res.StatusCode)
	}
}

// Issue 8: a kill -9 mid-archive left its temp file in the media directory
// for good. Start-up removes what unfinished writes left, and nothing else.
func TestServeRemovesUnfinishedMediaWrites(t *testing.T) {
	dir := t.TempDir()
	media := filepath.Join(dir, "media")
	files := map[string]bool{ // name: kept
		"2026-11/.incoming-3957112.mp4":              false, // the archiver before the media store
		"results/2026-12/7.mp4.18d2f5a3b4c5d6e7.tmp": false, // the file store's own
		"2026-11/6.mp4":                              true,
		"results/2026-12/5.mp4":                      true,
		"results/2026-12/notes.tmp":                  true,
	}
	for name := range files {
		p := filepath.Join(media, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir}).stop()
	for name, kept := range files {
		_, err := os.Stat(filepath.Join(media, filepath.FromSlash(name)))
		if kept && err != nil {
			t.Errorf("%s was removed: %v", name, err)
		}
		if !kept && !os.IsNotExist(err) {
			t.Errorf("%s is still there after a start (%v)", name, err)
		}
	}
}
