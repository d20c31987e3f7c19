// Package browsertest starts headless Chromium for tests that only a browser
// can prove (htmx swaps, polling, live estimates). Tests skip with a clear
// line when Chromium is absent locally; under CI (CI=true) its absence fails.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// New returns a chromedp context for one browser tab, cancelled at the end
// of the test. The browser has a fresh profile and no network but loopback.
func New(t *testing.T) context.Context {
	t.Helper()
	path := ChromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lerr := exec.LookPath("chromium"); lerr == nil {
			path = p
		} else if os.Getenv("CI") != "" {
			t.Fatalf("browser test: Chromium not found at %s under CI; .ci/run installs it", ChromiumPath)
		} else {
			t.Skipf("browser test skipped: Chromium not found at %s (apt-get install -y chromium)", ChromiumPath)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Start the browser now, without a deadline (a deadline on the first
	// Run would bound the whole browser's life).
	if err := chromedp.Do(ctx); err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// Step bounds one browser step to d, so a stuck page fails the test instead
// of hanging it.
func Step(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// SaveScreenshot writes png to SWAPDESK_SCREENSHOT_DIR (when set) or the
// test's temp dir, and logs where.
func SaveScreenshot(t *testing.T, name string, png []byte) string {
	t.Helper()
	dir := os.Getenv("SWAPDESK_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", p, len(png))
	return p
}
