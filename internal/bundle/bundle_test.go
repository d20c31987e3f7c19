package bundle_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/bundle"
	"swapdesk/internal/storage"
)

// memStore is an Opener over in-memory objects; failAfter makes a key's
// reader fail after that many bytes.
type memStore struct {
	objects   map[string][]byte
	failAfter map[string]int
	sizes     map[string]int64 // objects of zeros, made as they are read
}

func (m *memStore) Open(_ context.Context, key string) (storage.Reader, error) {
	if n, ok := m.sizes[key]; ok {
		return &reader{r: io.LimitReader(zeros{}, n)}, nil
	}
	b, ok := m.objects[key]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", key, storage.ErrNotFound)
	}
	var r io.Reader = bytes.NewReader(b)
	if n, ok := m.failAfter[key]; ok {
		r = io.MultiReader(io.LimitReader(r, int64(n)), failing{})
	}
	return &reader{r: r}, nil
}

type reader struct{ r io.Reader }

func (r *reader) Read(p []byte) (int, error)     { return r.r.Read(p) }
func (r *reader) Seek(int64, int) (int64, error) { return 0, errors.ErrUnsupported }
func (r *reader) Close() error                   { return nil }
func (r *reader) Info() storage.Info             { return storage.Info{} }
func (failing) Read([]byte) (int, error)         { return 0, errors.New("connection reset") }
func (zeros) Read(p []byte) (int, error)         { clear(p); return len(p), nil }

type (
	failing struct{}
	zeros   struct{}
)

var at = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func item(id int64, prompt string, body []byte) bundle.Item {
	return bundle.Item{ID: id, Created: at.Add(-time.Hour), Finished: at.Add(-30 * time.Minute), Member: "Ana",
		Mode: "animate", Resolution: "720p", Seconds: 12.5, Credits: 30, Prompt: prompt,
		Key: fmt.Sprintf("results/2026-12/%d.mp4", id), Size: int64(len(body))}
}

func TestWriteEntriesAndManifest(t *testing.T) {
	a, b := bytes.Repeat([]byte("A"), 100_000), []byte("second video")
	st := &memStore{objects: map[string][]byte{"results/2026-12/42.mp4": a, "results/2026-12/7.mp4": b}}
	items := []bundle.Item{item(42, "=HYPERLINK(\"http://evil\")", a), item(9, "gone", nil), item(7, "a cat, dancing", b)}
	items[2].Member = "@admin"
	var out bytes.Buffer
	res, err := bundle.Write(context.Background(), &out, st, items, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 1 || res.Missing[0] != 9 {
		t.Errorf("missing %v, want [9]", res.Missing)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Store {
			t.Errorf("%s: method %d, want store", f.Name, f.Method)
		}
	}
	if got, want := strings.Join(names, ","), "swap-42-720p.mp4,swap-7-720p.mp4,manifest.csv"; got != want {
		t.Fatalf("entries %s, want %s", got, want)
	}
	for i, want := range [][]byte{a, b} {
		if got := readEntry(t, zr.File[i]); !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes differ from the stored %d", zr.File[i].Name, len(got), len(want))
		}
	}
	if !zr.File[0].Modified.Equal(at.Add(-30 * time.Minute)) {
		t.Errorf("modified %v", zr.File[0].Modified)
	}
	rows, err := csv.NewReader(bytes.NewReader(readEntry(t, zr.File[2]))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		bundle.ManifestHeader,
		{"42", "2026-12-01T09:00:00Z", "Ana", "animate", "720p", "12.5", "30", `'=HYPERLINK("http://evil")`, "swap-42-720p.mp4"},
		{"7", "2026-12-01T09:00:00Z", "'@admin", "animate", "720p", "12.5", "30", "a cat, dancing", "swap-7-720p.mp4"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Errorf("manifest\n got %q\nwant %q", rows, want)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\t=1": "'\t=1", "\r=1": "'\r=1",
		"a=1": "a=1", "": "", " =1": " =1", "42": "42",
	} {
		if got := bundle.SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// A store that fails mid-copy, or a file of another size than recorded,
// fails the zip with an error (the caller aborts the download).
func TestWriteFailsMidStream(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 10_000)
	for name, st := range map[string]*memStore{
		"read error": {objects: map[string][]byte{"results/2026-12/1.mp4": body}, failAfter: map[string]int{"results/2026-12/1.mp4": 5000}},
		"short file": {objects: map[string][]byte{"results/2026-12/1.mp4": body[:9000]}},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := bundle.Write(context.Background(), &out, st, []bundle.Item{item(1, "", body)}, at)
			if err == nil {
				t.Fatal("no error")
			}
			if _, zerr := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len())); zerr == nil {
				t.Error("what was written reads as a complete zip")
			}
		})
	}
}

// More than 65,535 entries need zip64's end records: the zip still lists
// them all.
func TestWriteZip64ManyEntries(t *testing.T) {
	const n = 70_000
	st := &memStore{objects: map[string][]byte{}}
	items := make([]bundle.Item, n)
	for i := range items {
		body := []byte{byte(i)}
		items[i] = item(int64(i+1), "", body)
		st.objects[items[i].Key] = body
	}
	var out bytes.Buffer
	if _, err := bundle.Write(context.Background(), &out, st, items, at); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), zip64EndRecord) {
		t.Error("no zip64 end of central directory record")
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != n+1 {
		t.Fatalf("%d entries, want %d", len(zr.File), n+1)
	}
	if got := readEntry(t, zr.File[n-1]); len(got) != 1 || got[0] != byte((n-1)%256) {
		t.Errorf("last video %v", got)
	}
}

var zip64EndRecord = binary.LittleEndian.AppendUint32(nil, 0x06064b50)

// An entry over 4 GiB gets zip64 sizes. The zip goes to a sparse file (runs
// of zeros are skipped, not written), so this costs CPU, not disk.
func TestWriteZip64LargeEntry(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 4 GiB of zeros")
	}
	const size = 4<<30 + 1000
	st := &memStore{sizes: map[string]int64{"results/2026-12/1.mp4": size}}
	f, err := os.Create(filepath.Join(t.TempDir(), "big.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	it := item(1, "", nil)
	it.Size = size
	if _, err := bundle.Write(context.Background(), sparseWriter{f}, st, []bundle.Item{it}, at); err != nil {
		t.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 2 || zr.File[0].UncompressedSize64 != size || zr.File[0].CompressedSize64 != size {
		t.Fatalf("entries %d, first %d bytes, want %d", len(zr.File), zr.File[0].UncompressedSize64, int64(size))
	}
	// The CRC-32 the data descriptor carries, checked against our own
	// (reading the entry back would read 4 GiB of holes).
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.LimitReader(zeros{}, size)); err != nil {
		t.Fatal(err)
	}
	if got, want := zr.File[0].CRC32, h.Sum32(); got != want {
		t.Errorf("CRC-32 %08x, want %08x", got, want)
	}
}

// sparseWriter seeks over all-zero writes instead of writing them (a zip
// always ends with records that are not zeros, which fill the file up to
// its end).
type sparseWriter struct{ f *os.File }

func (w sparseWriter) Write(p []byte) (int, error) {
	if len(p) >= 4096 && allZero(p) {
		_, err := w.f.Seek(int64(len(p)), io.SeekCurrent)
		return len(p), err
	}
	return w.f.Write(p)
}

var zeroBlock = make([]byte, 1<<16)

func allZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), len(zeroBlock))
		if !bytes.Equal(p[:n], zeroBlock[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}

func readEntry(t *testing.T, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b
}
