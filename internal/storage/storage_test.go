package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/storage"
	"swapdesk/internal/storage/storagetest"
)

// backend is one store under test, with what the suite needs to look
// behind it: every name the backend holds (committed or not) and how many
// bytes have reached it.
type backend struct {
	store storage.Store
	// raw lists every file or object the service holds, temp files included.
	raw func() []string
	// landed is how many bytes have reached the service so far.
	landed func() int64
}

// backends runs fn against a fresh file store and a fresh S3 store.
func backends(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("file", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "media")
		st, err := storage.Open(t.Context(), storage.Location{Scheme: "file", Dir: dir}, storage.Credentials{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, backend{store: st,
			raw: func() []string { return walk(t, dir) },
			landed: func() int64 {
				var n int64
				filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						if fi, err := d.Info(); err == nil {
							n += fi.Size()
						}
					}
					return nil
				})
				return n
			}})
	})
	t.Run("s3", func(t *testing.T) {
		srv := storagetest.NewS3(t, "media")
		fn(t, backend{store: srv.Open(t), raw: func() []string { return srv.Keys(t) }, landed: srv.Received})
	})
}

func walk(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func put(t *testing.T, st storage.Store, key string, body []byte) {
	t.Helper()
	w, err := st.Create(t.Context(), key, storage.WriteOptions{ContentType: "video/mp4", SHA256: sum(body)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, st storage.Store, key string) []byte {
	t.Helper()
	r, err := st.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func listKeys(t *testing.T, st storage.Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := st.List(t.Context(), prefix, func(i storage.Info) error {
		keys = append(keys, i.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

func wantMissing(t *testing.T, st storage.Store, key string) {
	t.Helper()
	if _, err := st.Stat(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%s) = %v, want ErrNotFound", key, err)
	}
	if _, err := st.Open(t.Context(), key); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open(%s) = %v, want ErrNotFound", key, err)
	}
}

// Nothing is visible before Commit; after it, the object reads back with
// its size, checksum and an ETag.
func TestWriteThenCommit(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		const key = "results/2026-12/42.mp4"
		body := bytes.Repeat([]byte("swapdesk"), 100_000)
		w, err := b.store.Create(t.Context(), key, storage.WriteOptions{ContentType: "video/mp4", SHA256: sum(body)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(body[:len(body)/2]); err != nil {
			t.Fatal(err)
		}
		wantMissing(t, b.store, key)
		if keys := listKeys(t, b.store, ""); len(keys) != 0 {
			t.Errorf("before Commit, List = %v", keys)
		}
		if _, err := w.Write(body[len(body)/2:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Errorf("Abort after Commit = %v", err)
		}
		info, err := b.store.Stat(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(body)) || info.SHA256 != sum(body) || info.ETag == "" || info.ModTime.IsZero() {
			t.Errorf("Stat = %+v; want size %d, sha256 %s, an ETag and a time", info, len(body), sum(body))
		}
		if got := read(t, b.store, key); !bytes.Equal(got, body) {
			t.Errorf("read back %d bytes, want the %d written", len(got), len(body))
		}
		if keys := listKeys(t, b.store, ""); !slices.Equal(keys, []string{key}) {
			t.Errorf("List = %v", keys)
		}
	})
}

// An aborted write, a cancelled one and one whose checksum is wrong leave
// nothing behind, not even a temp file; an object already under the key
// stays as it was.
func TestAbortLeavesNothing(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		body := bytes.Repeat([]byte{7}, 6<<20) // over one S3 part: a multipart upload
		t.Run("abort", func(t *testing.T) {
			w, err := b.store.Create(t.Context(), "results/a.mp4", storage.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			if err := w.Abort(); err != nil {
				t.Fatal(err)
			}
			wantMissing(t, b.store, "results/a.mp4")
		})
		t.Run("cancel", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			w, err := b.store.Create(ctx, "results/c.mp4", storage.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			cancel()
			if err := w.Commit(); err == nil {
				t.Error("Commit after cancel succeeded")
			}
			wantMissing(t, b.store, "results/c.mp4")
		})
		t.Run("checksum", func(t *testing.T) {
			put(t, b.store, "results/k.mp4", []byte("the first version"))
			w, err := b.store.Create(t.Context(), "results/k.mp4", storage.WriteOptions{SHA256: sum([]byte("other"))})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(body)
			if err := w.Commit(); !errors.Is(err, storage.ErrChecksum) {
				t.Errorf("Commit with a wrong checksum = %v, want ErrChecksum", err)
			}
			if got := read(t, b.store, "results/k.mp4"); string(got) != "the first version" {
				t.Errorf("the earlier object became %d bytes", len(got))
			}
		})
		want := []string{"results/k.mp4"}
		if got := listKeys(t, b.store, ""); !slices.Equal(got, want) {
			t.Errorf("List = %v, want %v", got, want)
		}
		raw := slices.DeleteFunc(b.raw(), func(n string) bool { return strings.HasSuffix(n, ".attrs") })
		if !slices.Equal(raw, want) {
			t.Errorf("the service holds %v, want only %v", raw, want)
		}
	})
}

// Seeking reads only from the offset, and http.ServeContent answers Range
// requests from a Reader.
func TestRangeReads(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		body := make([]byte, 1<<20)
		for i := range body {
			body[i] = byte(i * 7)
		}
		put(t, b.store, "results/r.mp4", body)
		r, err := b.store.Open(t.Context(), "results/r.mp4")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Info().Size != int64(len(body)) {
			t.Errorf("Info().Size = %d", r.Info().Size)
		}
		if _, err := r.Seek(1000, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 500)
		if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, body[1000:1500]) {
			t.Errorf("after Seek(1000): %v, bytes equal %v", err, bytes.Equal(got, body[1000:1500]))
		}
		if end, err := r.Seek(-10, io.SeekEnd); err != nil || end != int64(len(body))-10 {
			t.Errorf("Seek(-10, end) = %d, %v", end, err)
		}
		tail, _ := io.ReadAll(r)
		if !bytes.Equal(tail, body[len(body)-10:]) {
			t.Errorf("tail = %v", tail)
		}

		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			r, err := b.store.Open(req.Context(), "results/r.mp4")
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer r.Close()
			http.ServeContent(w, req, "r.mp4", r.Info().ModTime, r)
		}))
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("Range", "bytes=524288-524387")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[524288:524388]) {
			t.Errorf("Range: status %d, %d bytes, equal %v", res.StatusCode, len(part), bytes.Equal(part, body[524288:524388]))
		}
	})
}

func TestStatDeleteList(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		wantMissing(t, b.store, "results/none.mp4")
		for _, k := range []string{"results/2026-12/2.mp4", "posters/1.jpg", "results/2026-11/1.mp4", "2026-10/9.mp4"} {
			put(t, b.store, k, []byte(k))
		}
		if got, want := listKeys(t, b.store, "results/"), []string{"results/2026-11/1.mp4", "results/2026-12/2.mp4"}; !slices.Equal(got, want) {
			t.Errorf("List(results/) = %v, want %v", got, want)
		}
		if got := listKeys(t, b.store, ""); len(got) != 4 {
			t.Errorf("List() = %v", got)
		}
		stop := errors.New("stop")
		n := 0
		if err := b.store.List(t.Context(), "", func(storage.Info) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("List stopped by fn: err %v after %d calls", err, n)
		}
		info, err := b.store.Stat(t.Context(), "posters/1.jpg")
		if err != nil || info.Size != int64(len("posters/1.jpg")) || info.Key != "posters/1.jpg" {
			t.Errorf("Stat = %+v, %v", info, err)
		}
		if err := b.store.Delete(t.Context(), "posters/1.jpg"); err != nil {
			t.Fatal(err)
		}
		wantMissing(t, b.store, "posters/1.jpg")
		if err := b.store.Delete(t.Context(), "posters/1.jpg"); err != nil {
			t.Errorf("deleting a missing key = %v, want nil", err)
		}
		for _, k := range []string{"", "/abs", "a/../../b", "a//b", "dir/"} {
			if _, err := b.store.Stat(t.Context(), k); !errors.Is(err, storage.ErrInvalidKey) {
				t.Errorf("Stat(%q) = %v, want ErrInvalidKey", k, err)
			}
		}
	})
}

// A large write streams: the store never holds more than a few MiB of it
// before they reach the service (the check counts bytes, not time).
func TestLargeWriteStreamsWithFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	const size = 64 << 20
	const maxAhead = 16 << 20
	backends(t, func(t *testing.T, b backend) {
		src := &watched{r: noise(size), landed: b.landed, every: 1 << 20}
		h := sha256.New()
		w, err := b.store.Create(t.Context(), "results/big.mp4", storage.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Abort()
		if _, err := io.Copy(w, io.TeeReader(src, h)); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if src.worst > maxAhead {
			t.Errorf("the store read %d MiB ahead of what reached the service, want < %d MiB", src.worst>>20, maxAhead>>20)
		}
		r, err := b.store.Open(t.Context(), "results/big.mp4")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		h2 := sha256.New()
		if n, err := io.Copy(h2, r); err != nil || n != size || !bytes.Equal(h.Sum(nil), h2.Sum(nil)) {
			t.Errorf("read back %d bytes (%v), checksums equal %v", n, err, bytes.Equal(h.Sum(nil), h2.Sum(nil)))
		}
		t.Logf("read ahead at most %.1f MiB", float64(src.worst)/(1<<20))
	})
}

// noise is n incompressible bytes, made as they are read.
func noise(n int64) io.Reader {
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(time.Now().UnixNano()))
	return io.LimitReader(rand.NewChaCha8(seed), n)
}

// watched measures, every `every` bytes, how far reading has got ahead of
// what has landed.
type watched struct {
	r          io.Reader
	landed     func() int64
	read, next int64
	every      int64
	worst      int64
}

func (w *watched) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	w.read += int64(n)
	if w.read >= w.next {
		w.next = w.read + w.every
		if ahead := w.read - w.landed(); ahead > w.worst {
			w.worst = ahead
		}
	}
	return n, err
}

// What a kill -9 leaves in a file store is removed; nothing else is.
func TestRemoveTemp(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(t.Context(), storage.Location{Scheme: "file", Dir: dir}, storage.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put(t, st, "results/2026-12/1.mp4", []byte("kept"))
	for _, name := range []string{"2026-11/.incoming-123456.mp4", "results/2026-12/2.mp4.18d2f5a3b4c5d6e7.tmp", "results/2026-12/kept.txt"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o750)
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if keys := listKeys(t, st, ""); !slices.Equal(keys, []string{"results/2026-12/1.mp4", "results/2026-12/kept.txt"}) {
		t.Errorf("List shows %v; temp files must not be listed", keys)
	}
	n, err := st.RemoveTemp(t.Context())
	if err != nil || n != 2 {
		t.Errorf("RemoveTemp = %d, %v; want 2", n, err)
	}
	got := slices.DeleteFunc(walk(t, dir), func(n string) bool { return strings.HasSuffix(n, ".attrs") })
	if want := []string{"results/2026-12/1.mp4", "results/2026-12/kept.txt"}; !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}

// Files the archiver wrote before this package existed read under the key
// the database holds (the path relative to DATA_DIR/media).
func TestFileStoreReadsTheOldLayout(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "2026-11", "42.mp4")
	os.MkdirAll(filepath.Dir(old), 0o750)
	if err := os.WriteFile(old, []byte("an old result"), 0o640); err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(t.Context(), storage.Location{Scheme: "file", Dir: dir}, storage.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := read(t, st, "2026-11/42.mp4"); string(got) != "an old result" {
		t.Errorf("read %q", got)
	}
	if _, err := st.SignedURL(t.Context(), "2026-11/42.mp4", storage.SignOptions{}); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("file SignedURL = %v, want ErrUnsupported", err)
	}
}

func TestS3SignedURL(t *testing.T) {
	srv := storagetest.NewS3(t, "media")
	st := srv.Open(t)
	put(t, st, "results/s.mp4", []byte("signed bytes"))
	u, err := st.SignedURL(t.Context(), "results/s.mp4", storage.SignOptions{Expiry: time.Minute,
		ContentType: "video/mp4", ContentDisposition: `attachment; filename="s.mp4"`})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, srv.Endpoint+"/media/results/s.mp4?") || !strings.Contains(u, "X-Amz-Signature=") {
		t.Errorf("signed URL %s: want path-style on the endpoint, signed", u)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Range", "bytes=0-5")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || string(b) != "signed" {
		t.Errorf("GET signed URL with Range: %d %q", res.StatusCode, b)
	}
}

func TestParseURL(t *testing.T) {
	good := map[string]storage.Location{
		"file:///var/lib/swapdesk/media":                 {Scheme: "file", Dir: "/var/lib/swapdesk/media"},
		"file:///data/media/":                            {Scheme: "file", Dir: "/data/media"},
		"s3://bucket":                                    {Scheme: "s3", Bucket: "bucket"},
		"s3://b?region=eu-west-1":                        {Scheme: "s3", Bucket: "b", Region: "eu-west-1"},
		"s3://b?endpoint=http://127.0.0.1:9000&region=x": {Scheme: "s3", Bucket: "b", Endpoint: "http://127.0.0.1:9000", Region: "x"},
	}
	for raw, want := range good {
		got, err := storage.ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
		if again, err := storage.ParseURL(got.String()); err != nil || again != got {
			t.Errorf("ParseURL(%q.String() = %q) = %+v, %v", raw, got.String(), again, err)
		}
	}
	for _, raw := range []string{"", "media", "/var/media", "file://host/x", "file://relative", "file:///", "file:///x?y=1",
		"s3://", "s3://b/prefix", "s3://b?endpoint=ftp://x", "s3://b?endpoint=127.0.0.1:9000", "s3://b?bogus=1",
		"s3://key:secret@b", "http://example.com/media"} {
		if _, err := storage.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) accepted", raw)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseURL(%q) error spans lines: %q", raw, err)
		}
	}
}

// What a kill -9 mid-upload leaves in S3 (an incomplete multipart upload,
// whose parts S3 keeps) is aborted by RemoveTemp.
func TestS3RemoveTempAbortsUnfinishedUploads(t *testing.T) {
	srv := storagetest.NewS3(t, "media")
	killed := srv.Open(t)
	w, err := killed.Create(t.Context(), "results/2026-12/9.mp4", storage.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(make([]byte, 6<<20)); err != nil { // one part uploaded
		t.Fatal(err)
	}
	// The process dies here: no Commit, no Abort.
	if n := srv.Uploads(t); n != 1 {
		t.Fatalf("%d multipart uploads in progress, want 1", n)
	}
	restarted := srv.Open(t)
	n, err := restarted.RemoveTemp(t.Context())
	if err != nil || n != 1 {
		t.Errorf("RemoveTemp = %d, %v; want 1", n, err)
	}
	if n := srv.Uploads(t); n != 0 {
		t.Errorf("%d multipart uploads left", n)
	}
	wantMissing(t, restarted, "results/2026-12/9.mp4")
}
