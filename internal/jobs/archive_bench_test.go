package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
	"swapdesk/internal/storage/storagetest"
)

// Issue 5, "Performance": archiving a 200 MB result grows peak RSS by less
// than 16 MB.
const benchResultBytes = 200 << 20

// BenchmarkArchive200MB archives a synthetic 200 MB MP4, generated on the
// fly by a local server, through the real Archiver and a Fetcher into each
// media store (file, and S3: gofakes3 on disk in a child process, as a real
// S3 service is not in our process), and reports the growth of the
// process's peak RSS during the archive (peak-rss-growth-MB: VmHWM after it,
// reset just before, minus VmRSS before; the serving side runs in this
// process too, so this is an upper bound). It checks the archived object's
// size and SHA-256 against what was served and what the store recorded.
// Linux only (/proc).
func BenchmarkArchive200MB(b *testing.B) {
	if err := resetPeakRSS(); err != nil {
		b.Skipf("cannot reset the peak RSS (needs Linux /proc/self/clear_refs): %v", err)
	}
	b.Run("file", func(b *testing.B) {
		st, err := storage.Open(context.Background(), storage.Location{Scheme: "file", Dir: b.TempDir()}, storage.Credentials{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchArchive(b, st)
	})
	b.Run("s3", func(b *testing.B) {
		st := fakeS3Process(b)
		defer st.Close()
		benchArchive(b, st)
	})
}

func benchArchive(b *testing.B, st storage.Store) {
	// The handler hands over what it sent once it has sent it all.
	served := make(chan servedFile, 1)
	var seeds atomic.Uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(benchResultBytes))
		n, _ := io.Copy(w, io.TeeReader(newSyntheticMP4(benchResultBytes, seeds.Add(1)), h))
		served <- servedFile{size: n, sha256: hex.EncodeToString(h.Sum(nil))}
	}))
	defer srv.Close()

	store := &recordingStore{}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	arch := jobs.NewArchiver(jobs.ArchiverConfig{Store: store, Media: st, Now: func() time.Time { return now },
		Open: media.NewFetcher(media.Options{AllowPrivate: true, Timeout: 5 * time.Minute})})
	job := db.Job{ID: 42, Status: db.JobSucceeded, ResultURL: srv.URL + "/result.mp4", FinishedAt: now.Add(-time.Minute),
		ResultExpiresAt: now.Add(7 * 24 * time.Hour), ArchiveState: db.ArchivePending}

	ctx := context.Background()
	b.SetBytes(benchResultBytes)
	var worstGrowth, worstBefore int64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		before := procStatusKB(b, "VmRSS")
		if err := resetPeakRSS(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		arch.Archive(ctx, job)

		b.StopTimer()
		if g := procStatusKB(b, "VmHWM") - before; g > worstGrowth {
			worstGrowth, worstBefore = g, before
		}
		store.check(b, st, served)
		b.StartTimer()
	}
	b.ReportMetric(float64(worstGrowth)/1024, "peak-rss-growth-MB")
	b.ReportMetric(float64(worstBefore)/1024, "rss-before-MB")
}

// fakeS3Env, set in a child process, makes TestFakeS3Process serve S3 there.
const fakeS3Env = "SWAPDESK_TEST_FAKES3_DIR"

// fakeS3Process starts this test binary again as an S3-compatible server
// (TestFakeS3Process) keeping objects on disk, and opens it as a store.
func fakeS3Process(b *testing.B) storage.Store {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFakeS3Process$")
	cmd.Env = append(os.Environ(), fakeS3Env+"="+b.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("fake S3 process: %v", err)
	}
	l, err := storage.ParseURL("s3://media?endpoint=http://" + strings.TrimSpace(line))
	if err != nil {
		b.Fatal(err)
	}
	st, err := storage.Open(context.Background(), l, storage.Credentials{AccessKeyID: storagetest.AccessKeyID, SecretAccessKey: storagetest.SecretAccessKey})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// TestFakeS3Process is the child process of fakeS3Process; it skips in a
// normal test run.
func TestFakeS3Process(t *testing.T) {
	dir := os.Getenv(fakeS3Env)
	if dir == "" {
		t.Skip("only runs as the benchmark's S3 server process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	t.Fatal(storagetest.ServeOnDisk(ln, dir, "media"))
}

type servedFile struct {
	size   int64
	sha256 string
}

// newSyntheticMP4 returns an n-byte MP4, made as it is read: an ftyp box,
// then one mdat box of pseudo-random bytes (seeded, so incompressible and
// different from run to run of the server).
func newSyntheticMP4(n int64, seed uint64) io.Reader {
	var head bytes.Buffer
	head.Write([]byte{0, 0, 0, 24})
	head.WriteString("ftypisom")
	head.Write([]byte{0, 0, 2, 0})
	head.WriteString("isomiso2")
	_ = binary.Write(&head, binary.BigEndian, uint32(n-24))
	head.WriteString("mdat")
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	return io.MultiReader(&head, io.LimitReader(rand.NewChaCha8(s), n-int64(head.Len())))
}

// recordingStore is an ArchiveStore that keeps what the archiver recorded.
type recordingStore struct {
	mu       sync.Mutex
	path     string
	sha256   string
	size     int64
	problems []string
}

func (s *recordingStore) DueForArchive(context.Context, time.Time, int) ([]db.Job, error) {
	return nil, nil
}

func (s *recordingStore) ScheduleArchive(_ context.Context, id int64, at time.Time, attempts int, detail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf("job %d: retry %d at %s: %s", id, attempts, at, detail))
	return nil
}

func (s *recordingStore) MarkArchived(_ context.Context, _ int64, path, sum string, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.path, s.sha256, s.size = path, sum, size
	return nil
}

func (s *recordingStore) EndArchive(_ context.Context, id int64, state, detail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf("job %d: %s: %s", id, state, detail))
	return nil
}

// check compares the archive just recorded with what was served and with
// the object in the store, then deletes it and forgets the record.
func (s *recordingStore) check(b *testing.B, st storage.Store, served <-chan servedFile) {
	b.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) > 0 {
		b.Fatalf("the archive did not succeed: %s", strings.Join(s.problems, "; "))
	}
	if s.path == "" {
		b.Fatal("nothing was archived")
	}
	var want servedFile
	select {
	case want = <-served:
	case <-time.After(time.Minute):
		b.Fatal("the server never finished sending the result")
	}
	if s.size != want.size || s.sha256 != want.sha256 {
		b.Fatalf("recorded %d bytes sha256 %s; served %d bytes sha256 %s", s.size, s.sha256, want.size, want.sha256)
	}
	if want.size != benchResultBytes {
		b.Fatalf("served %d bytes, want %d", want.size, benchResultBytes)
	}
	ctx := context.Background()
	r, err := st.Open(ctx, s.path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, r)
	r.Close()
	if err != nil {
		b.Fatal(err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); n != want.size || got != want.sha256 {
		b.Fatalf("stored object: %d bytes sha256 %s; served %d bytes sha256 %s", n, got, want.size, want.sha256)
	}
	if err := st.Delete(ctx, s.path); err != nil {
		b.Fatal(err)
	}
	s.path, s.sha256, s.size = "", "", 0
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux).
func resetPeakRSS() error {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// procStatusKB reads a "Name: N kB" line of /proc/self/status.
func procStatusKB(b *testing.B, name string) int64 {
	b.Helper()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			return kb
		}
	}
	b.Fatalf("no %s in /proc/self/status", name)
	return 0
}
