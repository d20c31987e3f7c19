package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"swapdesk/internal/browsertest"
)

// TestBrowserAdminCreditOverview: an admin opens the credit overview (the
// member's finished job is charged, so the chart has a bar), downloads the
// ledger as CSV through the page's link into a temp dir, and the file is
// the ledger with a header row. It saves screenshots of the overview and
// the audit log at 1366 and 390 px, light and dark
// (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserAdminCreditOverview(t *testing.T) {
	ctx := browsertest.New(t)
	site := startPagesSite(t)
	step, cancel := browsertest.Step(ctx, 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	progress := chromedp.Events(step, cdpbrowser.DownloadProgress)
	events := true
	err := chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		signInBrowser(site.URL, "admin@localhost", site.adminPassword),
		chromedp.Navigate(site.URL+"/admin/credits"),
		chromedp.WaitVisible(chromedp.CSS("#spend-chart")),
	)
	if err != nil {
		t.Fatal(err)
	}
	bars, err := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("#spend-chart rect.bar").length`))
	if err != nil || bars != 1 {
		t.Errorf("chart bars: %d (%v), want 1 (the member's one charged job)", bars, err)
	}
	if _, err := chromedp.Call(step, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events,
	}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("#ledger-csv"))); err != nil {
		t.Fatal(err)
	}
	var file string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the download was cancelled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			file = filepath.Join(dir, ev.GUID)
			break
		}
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("downloaded CSV: %v", err)
	}
	if len(recs) < 2 || recs[0][0] != "id" || recs[0][1] != "created_at" {
		t.Fatalf("downloaded CSV: %q", recs)
	}
	kinds := map[string]int{}
	for _, r := range recs[1:] {
		kinds[r[4]]++
		if _, err := time.Parse(time.RFC3339, r[1]); err != nil {
			t.Errorf("created_at %q: %v", r[1], err)
		}
	}
	// The member's grant; two holds, two releases and one charge.
	if kinds["grant"] != 1 || kinds["hold"] != 2 || kinds["charge"] != 1 {
		t.Errorf("downloaded ledger kinds %v", kinds)
	}

	for _, size := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		var opts []chromedp.EmulateViewportOption
		if size.w < 640 {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		for _, scheme := range []string{"light", "dark"} {
			if err := chromedp.Do(step, chromedp.EmulateViewport(size.w, size.h, opts...), colorScheme(scheme)); err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct{ name, path string }{{"admin-credits", "/admin/credits"}, {"admin-audit", "/admin/audit"}} {
				if err := chromedp.Do(step, chromedp.Navigate(site.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
					t.Fatalf("%s: %v", p.name, err)
				}
				png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
				if err != nil {
					t.Fatal(err)
				}
				browsertest.SaveScreenshot(t, fmt.Sprintf("%s-%d-%s.png", p.name, size.w, scheme), png)
			}
		}
	}
}
