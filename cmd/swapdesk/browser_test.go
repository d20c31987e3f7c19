package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
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

// waitText waits until the text of sel is want (htmx swaps are async).
func waitText(sel, want string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.textContent.trim() === %q; })()`, sel, want)
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
			// A navigation replaces the page's JS context mid-poll ("Cannot
			// find context", or "Inspected target navigated or closed" when it
			// lands between the poll's calls): poll the new page.
			if err == nil || ctx.Err() != nil ||
				!(strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "navigated")) {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestBrowserNewSwapEstimateAndSubmit(t *testing.T) {
	ctx := browsertest.New(t)
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	if err := run(context.Background(), []string{"user", "grant", "--email", "admin@localhost", "--credits", "100"},
		env(map[string]string{"SWAPDESK_DATA_DIR": dir}), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	step, cancel := browsertest.Step(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@localhost"),
		chromedp.SendKeys(chromedp.CSS("#password"), s.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .name")),
		chromedp.Navigate(s.URL+"/jobs/new"),
		chromedp.Click(chromedp.CSS(`a[href="/jobs/new?sample=1"]`)),
		// The sample video is 12 s: 3 blocks at 720p = 30 credits.
		waitText("#estimate .stat", "30"),
		waitText("#estimate dd strong", "70"),
	)
	if err != nil {
		t.Fatalf("sample inputs and first estimate: %v", err)
	}
	// Switch resolution: the estimate follows without a reload.
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS("#resolution")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](`(() => { const s = document.getElementById("resolution"); s.value = "1080p"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)(ctx, t)
			return err
		}),
		waitText("#estimate .stat", "45"),
		// Type a duration: 5 s is one block of 15 at 1080p.
		chromedp.SendKeys(chromedp.CSS("#duration"), "5"),
		waitText("#estimate .stat", "15"),
		waitText("#estimate dd strong", "85"),
		// A bad duration shows inline, next to the field.
		chromedp.SendKeys(chromedp.CSS("#duration"), "00"),
		waitText("#duration-error", "The duration must be whole or decimal seconds from 1 to 120, like 12 or 12.5."),
	)
	if err != nil {
		t.Fatalf("estimate did not follow the form: %v", err)
	}
	png, _ := chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "new-swap.png", png)

	// Fix the duration and submit: the job page shows it queued with the hold.
	err = chromedp.Do(step,
		// Select the field's text and type over it, as a person would.
		chromedp.Focus(chromedp.CSS("#duration")),
		chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](`document.getElementById("duration").select()`)(ctx, t)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS("#duration"), "5"),
		waitText("#estimate .stat", "15"),
		chromedp.Click(chromedp.CSS(`#job-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".ledger")),
	)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	loc, _ := chromedp.Run(step, chromedp.Location())
	if !strings.Contains(loc, "/jobs/") {
		t.Errorf("after submit at %q, want a job page", loc)
	}
	badge, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(".job-card .badge")))
	if badge != "Queued" && badge != "Processing" {
		t.Errorf("job badge %q, want Queued", badge)
	}
	hold, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(".ledger td.num")))
	if hold != "−15" {
		t.Errorf("ledger hold %q, want −15", hold)
	}
	png, _ = chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "job-queued.png", png)
}

// cardPolls reads how many card polls the server has answered, from
// /metrics.
func cardPolls(t *testing.T, base string) int {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, `swapdesk_http_requests_total{method="GET",route="/jobs/:id/card"`) {
			f := strings.Fields(line)
			v, _ := strconv.Atoi(f[len(f)-1])
			n += v
		}
	}
	return n
}

func TestBrowserCardFinishesWithoutReload(t *testing.T) {
	ctx := browsertest.New(t)
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir}, "--sandbox-queue-delay", "1s", "--sandbox-process-delay", "2s")
	if err := run(context.Background(), []string{"user", "grant", "--email", "admin@localhost", "--credits", "100"},
		env(map[string]string{"SWAPDESK_DATA_DIR": dir}), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	step, cancel := browsertest.Step(ctx, 60*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@localhost"),
		chromedp.SendKeys(chromedp.CSS("#password"), s.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .name")),
		chromedp.Navigate(s.URL+"/jobs/new?sample=1"),
		waitText("#estimate .stat", "30"),
		chromedp.Click(chromedp.CSS(`#job-form button[type="submit"]`)),
	)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	// The card's first badge, as the job page arrives (before its first
	// poll, 2 s later): the job is queued at Akool.
	var firstBadge string
	for {
		firstBadge, err = chromedp.Run(step, chromedp.Poll[string](
			`(() => { const b = document.querySelector("article.job-card .badge"); return b ? b.textContent.trim() : ""; })()`,
			chromedp.WithPollingMutation()))
		// The submit navigates: poll the new page.
		navigated := err != nil && (strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "navigated"))
		if !navigated || step.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("waiting for the job card: %v", err)
	}
	if firstBadge != "Queued" {
		t.Errorf("the new job's card first says %q, want Queued", firstBadge)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS("article.job-card"))); err != nil {
		t.Fatal(err)
	}
	// Mark this page: a reload would lose the mark.
	if _, err := chromedp.Run(step, chromedp.Evaluate[any](`window.swapdeskMark = 42`)); err != nil {
		t.Fatal(err)
	}
	title, _ := chromedp.Run(step, chromedp.Title())
	if !strings.HasPrefix(title, "(1) ") {
		t.Errorf("title while running %q, want the running count", title)
	}
	flash, _ := chromedp.Run(step, chromedp.Evaluate[string](`(document.querySelector("#flashes .flash-success") || {}).textContent || ""`))
	if !strings.Contains(flash, "credits are held") {
		t.Errorf("the running job's page shows flash %q, want the hold", flash)
	}
	if err := chromedp.Do(step, waitText("article.job-card .job-card-head .badge", "Done")); err != nil {
		t.Fatalf("the card never reached Done: %v", err)
	}
	// The flash spoke of the running job ("credits are held until it
	// finishes"): it goes with the final card's swap.
	if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("main .flash").length`)); n != 0 {
		t.Errorf("%d flashes still above the finished card", n)
	}
	mark, err := chromedp.Run(step, chromedp.Evaluate[int](`window.swapdeskMark || 0`))
	if err != nil || mark != 42 {
		t.Errorf("the page reloaded (mark %d, %v)", mark, err)
	}
	note, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS(".job-card-note")))
	if !strings.Contains(note, "Finished") {
		t.Errorf("finished card says %q", note)
	}
	title, _ = chromedp.Run(step, chromedp.Title())
	if strings.HasPrefix(title, "(") {
		t.Errorf("title after finishing %q still counts running jobs", title)
	}
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS("video.player"))); err != nil {
		t.Errorf("no player on the finished card: %v", err)
	}
	// Once our copy is saved the player plays it (the card polls slowly
	// until then), and polling ends.
	if err := chromedp.Do(step, chromedp.WaitVisible(chromedp.CSS(`video.player[src^="/media/"]`))); err != nil {
		t.Errorf("the player never moved to the archived copy: %v", err)
	}
	// The credits section settled in place too: hold, release, charge.
	ledger, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS("#job-credits .ledger tbody")))
	if !strings.Contains(ledger, "release") || !strings.Contains(ledger, "charge") {
		t.Errorf("credits section not settled on the page: %q", ledger)
	}
	// Polling has stopped: no card requests over the next 5 s (2.5 intervals).
	before := cardPolls(t, s.URL)
	time.Sleep(5 * time.Second)
	if after := cardPolls(t, s.URL); after != before {
		t.Errorf("card polled %d more times after the job finished", after-before)
	}
	if before < 2 {
		t.Errorf("only %d card polls while running; did the card poll at all?", before)
	}
	png, _ := chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "job-done.png", png)
}
