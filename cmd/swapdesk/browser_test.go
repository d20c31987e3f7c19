package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"swapdesk/internal/browsertest"
)

func TestBrowserSignInAndDashboard(t *testing.T) {
	ctx := browsertest.New(t)
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": t.TempDir()})

	step, cancel := browsertest.Step(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(s.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@localhost"),
		chromedp.SendKeys(chromedp.CSS("#password"), s.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .name")),
	)
	if err != nil {
		t.Fatalf("sign in through the browser: %v", err)
	}
	loc, err := chromedp.Run(step, chromedp.Location())
	if err != nil || !strings.HasSuffix(loc, "/") {
		t.Errorf("landed on %q (%v), want the dashboard", loc, err)
	}
	heading, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || !strings.Contains(heading, "Welcome, Admin") {
		t.Errorf("dashboard heading = %q (%v)", heading, err)
	}
	// htmx loaded from our own static files (no CDN, CSP allows it).
	hasHTMX, err := chromedp.Run(step, chromedp.Evaluate[bool](`typeof window.htmx === "object"`))
	if err != nil || !hasHTMX {
		t.Errorf("htmx not loaded in the page (%v)", err)
	}
	png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "dashboard.png", png)

	// The same page on a phone-sized screen.
	if err := chromedp.Do(step, chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	png, err = chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "dashboard-phone.png", png)
}
