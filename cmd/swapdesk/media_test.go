package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
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
	"swapdesk/internal/fields"
	"swapdesk/internal/storage"
	"swapdesk/internal/storage/storagetest"
)

// getDoc GETs u and parses it.
func getDoc(t *testing.T, c *http.Client, u string) *goquery.Document {
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
	t.Parallel()
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
	id := submitSample(t, c, s.URL, "")
	waitJob(t, dir, id, "archived", func(j db.Job) bool { return j.ArchiveState == db.ArchiveDone })
	// The character image kept, and the poster and preview made (with
	// ffmpeg) or found impossible (without), into the bucket too.
	job := waitJob(t, dir, id, "postered", func(j db.Job) bool { return j.ImageKey != "" && j.PosterState != db.PosterNone })
	want := []string{job.ArchivePath, job.ImageKey}
	if job.PosterState == db.PosterDone {
		want = append(want, job.PosterKey, job.PreviewKey)
	}
	slices.Sort(want)
	if keys := s3.Keys(t); !slices.Equal(keys, want) || !strings.HasPrefix(job.ArchivePath, "results/") {
		t.Fatalf("bucket holds %v; the job records %v", keys, want)
	}
	// The poster (or the character image standing in) is a redirect to
	// the bucket too.
	res, _ := get(t, c, s.URL+"/media/"+strconv.FormatInt(id, 10)+"/poster")
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, s3.Endpoint+"/swapdesk-media/") {
		t.Errorf("GET /media/%d/poster: %d to %q, want a redirect to the bucket", id, res.StatusCode, loc)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "media")); len(entries) != 0 {
		t.Errorf("the data dir's media folder has %d entries; everything should be in the bucket", len(entries))
	}

	mediaURL := s.URL + "/media/" + strconv.FormatInt(id, 10)
	res, _ = get(t, c, mediaURL, "Range", "bytes=4-7")
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

	jobPage := getDoc(t, c, s.URL+"/jobs/"+strconv.FormatInt(id, 10))
	tok, _ := jobPage.Find(`form[action$="/delete"] input[name="csrf"]`).Attr("value")
	res2, err := c.PostForm(s.URL+"/jobs/"+strconv.FormatInt(id, 10)+"/delete", url.Values{fields.CSRF: {tok}})
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
	t.Parallel()
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

// seedArchive makes a data dir whose database records archived results and
// whose DATA_DIR/media holds them (two in the layout from before the media
// store, one under results/), plus a deleted job's row; it returns the
// recorded checksum of each key.
func seedArchive(t *testing.T, dir string) map[string]string {
	t.Helper()
	newDatabase(t, dir)
	side, err := sql.Open("sqlite", db.DSN(dbPath(dir)))
	if err != nil {
		t.Fatal(err)
	}
	defer side.Close()
	ctx := context.Background()
	if _, err := side.ExecContext(ctx, `INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at)
		VALUES (1, 'ana@example.com', 'Ana', 'member', 'x', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	keys := []string{"2026-10/1.mp4", "2026-11/2.mp4", "results/2026-12/3.mp4", ""}
	for i, key := range keys {
		body := []byte(mp4Header(i))
		body = append(body, bytes.Repeat([]byte{byte(i)}, (i+1)*(3<<20))...) // 3 to 9 MiB: some multipart on S3
		sum := sha256.Sum256(body)
		state, deleted := "archived", any(nil)
		if key == "" { // deleted: nothing to carry over
			state, deleted = "", int64(1)
		} else {
			p := filepath.Join(dir, "media", filepath.FromSlash(key))
			os.MkdirAll(filepath.Dir(p), 0o750)
			if err := os.WriteFile(p, body, 0o640); err != nil {
				t.Fatal(err)
			}
			want[key] = hex.EncodeToString(sum[:])
		}
		if _, err := side.ExecContext(ctx, `INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode,
				resolution, billed_seconds, estimate_credits, created_at, updated_at, archive_state, archive_path,
				archive_sha256, archive_size, deleted_at)
			VALUES (1, ?, 'succeeded', 'https://x/a.png', 'https://x/b.mp4', 'animate', '720p', 12, 30, 0, 0, NULLIF(?, ''), ?, ?, ?, ?)`,
			fmt.Sprintf("idem-key-%016d", i), state, key, want[key], len(body), deleted); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func mp4Header(i int) string {
	return "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso" + strconv.Itoa(i)
}

// sums reads every object of the store at u and returns its checksum.
func sums(t *testing.T, u string, creds storage.Credentials) map[string]string {
	t.Helper()
	l, err := storage.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(context.Background(), l, creds)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]string{}
	err = st.List(context.Background(), "", func(i storage.Info) error {
		sum, err := checksum(context.Background(), st, i.Key)
		got[i.Key] = sum
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// cancelOnOpen cancels the migration's context when the source opens its
// nth file: a run interrupted mid-copy.
type cancelOnOpen struct {
	storage.Store
	n, opened int
	cancel    context.CancelFunc
}

func (c *cancelOnOpen) Open(ctx context.Context, key string) (storage.Reader, error) {
	c.opened++
	if c.opened == c.n {
		c.cancel()
	}
	return c.Store.Open(ctx, key)
}

// `swapdesk media migrate` moves a data dir's archive to S3 (gofakes3) and
// back with every checksum equal; a dry run copies nothing; a run
// interrupted mid-copy leaves no partial object and the next run finishes
// the job, skipping what is there.
func TestMediaMigrateToS3AndBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	want := seedArchive(t, dir)
	s3 := storagetest.NewS3(t, "moved")
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir,
		"AWS_ACCESS_KEY_ID": storagetest.AccessKeyID, "AWS_SECRET_ACCESS_KEY": storagetest.SecretAccessKey}
	migrate := func(vars map[string]string, args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(context.Background(), append([]string{"media", "migrate"}, args...), env(vars), nil, &out, io.Discard); err != nil {
			t.Fatalf("media migrate %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}

	out := migrate(vars, "--to", s3.URL, "--dry-run")
	if !strings.Contains(out, "would copy 3 files") || len(s3.Keys(t)) != 0 {
		t.Fatalf("dry run printed %q and left %v in the bucket; want 3 to copy and nothing copied", out, s3.Keys(t))
	}

	// Interrupted while opening the second file.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := storage.Open(ctx, storage.Location{Scheme: "file", Dir: filepath.Join(dir, "media")}, storage.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	store, err := db.Open(ctx, dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	files, err := store.ArchivedFiles(ctx)
	store.Close()
	if err != nil || len(files) != 3 {
		t.Fatalf("ArchivedFiles: %v, %v", files, err)
	}
	m := migration{src: &cancelOnOpen{Store: src, n: 2, cancel: cancel}, dst: s3.Open(t), known: map[string]db.ArchivedFile{}, out: io.Discard}
	for _, f := range files {
		m.known[f.Key] = f
	}
	if err := m.run(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if keys := s3.Keys(t); !slices.Equal(keys, []string{"2026-10/1.mp4"}) {
		t.Fatalf("after the interruption the bucket holds %v, want only the first file, whole", keys)
	}

	out = migrate(vars, "--to", s3.URL)
	if !strings.Contains(out, "copied 2 files") || !strings.Contains(out, "1 already there") || !strings.Contains(out, "SWAPDESK_MEDIA_URL="+s3.URL) {
		t.Errorf("resumed run printed:\n%s", out)
	}
	creds := storage.Credentials{AccessKeyID: storagetest.AccessKeyID, SecretAccessKey: storagetest.SecretAccessKey}
	if got := sums(t, s3.URL, creds); !maps.Equal(got, want) {
		t.Fatalf("in the bucket: %v\nwant %v", got, want)
	}
	if out := migrate(vars, "--to", s3.URL); !strings.Contains(out, "copied 0 files (0 bytes), 3 already there, 0 failed") {
		t.Errorf("a second run printed %q, want everything skipped", out)
	}

	// And back, to a new directory, from the bucket.
	back := filepath.Join(t.TempDir(), "media")
	vars["SWAPDESK_MEDIA_URL"] = s3.URL
	out = migrate(vars, "--to", "file://"+back)
	if !strings.Contains(out, "copied 3 files") {
		t.Errorf("migrating back printed:\n%s", out)
	}
	if got := sums(t, "file://"+back, creds); !maps.Equal(got, want) {
		t.Fatalf("back on disk: %v\nwant %v", got, want)
	}
}

func TestMediaMigrateBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	newDatabase(t, dir)
	for _, tt := range []struct {
		args    []string
		setting string
	}{
		{[]string{"media", "migrate"}, "media migrate: --to URL is required"},
		{[]string{"media", "migrate", "--to", "/tmp/x"}, "--to:"},
		{[]string{"media", "migrate", "--to", "file://" + filepath.Join(dir, "media")}, "--to:"}, // where they already are
		{[]string{"media", "shuffle"}, "media: unknown subcommand"},
	} {
		err := run(context.Background(), tt.args, env(map[string]string{"SWAPDESK_DATA_DIR": dir}), nil, io.Discard, io.Discard)
		var ue *usageError
		if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), tt.setting) {
			t.Errorf("%v: %v, want a usage error starting %q", tt.args, err, tt.setting)
		}
	}
}
