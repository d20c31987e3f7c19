package handlers_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"swapdesk/db"
)

// Issue 10, "Performance": zipping 1 GB of results grows RSS by less than
// 16 MB.
const (
	benchZipFiles    = 10
	benchZipFileSize = 100 << 20
)

// BenchmarkGalleryZip1GB downloads a zip of ten 100 MB results (sparse files
// in the file store: reading them costs no disk) through the real router
// and an HTTP client that discards what it reads, and reports the growth of
// the process's peak RSS during the download (VmHWM after it, reset just
// before, minus VmRSS before; client and server share the process, so this
// is an upper bound). Linux only (/proc).
func BenchmarkGalleryZip1GB(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Skipf("cannot reset the peak RSS (needs Linux /proc/self/clear_refs): %v", err)
	}
	app := newTestApp(b, pollingOnly)
	c, _ := app.member("ana@example.com", 1000)
	ctx := context.Background()
	var ids []string
	var jobIDs []int64
	for range benchZipFiles {
		res := c.submitJob(app.jobValues())
		if res.StatusCode != http.StatusSeeOther {
			b.Fatalf("submit: %d", res.StatusCode)
		}
		id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
		jobIDs = append(jobIDs, id)
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		done := 0
		for _, id := range jobIDs {
			if app.job(id).Status == db.JobSucceeded {
				done++
			}
		}
		if done == len(jobIDs) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d jobs succeeded", done, len(jobIDs))
		}
		app.clock.Advance(5 * time.Second)
		app.sim.Step()
		app.tracker.PollDue(ctx)
		time.Sleep(2 * time.Millisecond)
	}
	for _, id := range jobIDs {
		key := "results/bench/" + strconv.FormatInt(id, 10) + ".mp4"
		path := filepath.Join(app.mediaDir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := f.WriteString(mp4Head); err != nil {
			b.Fatal(err)
		}
		if err := f.Truncate(benchZipFileSize); err != nil {
			b.Fatal(err)
		}
		f.Close()
		if err := app.store.MarkArchived(ctx, id, key, "0123", benchZipFileSize); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	form := url.Values{"id": ids, "csrf": {c.csrf("/")}}

	b.SetBytes(benchZipFiles * benchZipFileSize)
	var worstGrowth, worstBefore int64
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		before := statusKB(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		req, _ := http.NewRequest(http.MethodPost, app.srv.URL+"/gallery/zip", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.http.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, res.Body)
		res.Body.Close()

		b.StopTimer()
		if err != nil || res.StatusCode != http.StatusOK || n < benchZipFiles*benchZipFileSize {
			b.Fatalf("status %d, %d bytes: %v", res.StatusCode, n, err)
		}
		if g := statusKB(b, "VmHWM") - before; g > worstGrowth {
			worstGrowth, worstBefore = g, before
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(worstGrowth)/1024, "peak-rss-growth-MB")
	b.ReportMetric(float64(worstBefore)/1024, "rss-before-MB")
}

// statusKB reads a "Name: N kB" line of /proc/self/status.
func statusKB(b *testing.B, name string) int64 {
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
