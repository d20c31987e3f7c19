package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"swapdesk/internal/browsertest"
	"swapdesk/internal/fields"
)

// countEstimates makes every page count the htmx swaps it has settled
// (window.swapdeskSettled), so a test can wait for the estimate that runs
// as the page loads instead of guessing how long it takes. It is injected
// by DevTools, so the page's CSP does not apply to it.
func countEstimates() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
			Source: `window.swapdeskSettled = 0;
document.addEventListener("htmx:afterSettle", function () { window.swapdeskSettled++; });`,
		})
		return err
	})
}

// colorScheme emulates prefers-color-scheme: "light" or "dark".
func colorScheme(scheme string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
}

// waitJS waits until the expression is true, on whichever page is loaded by
// then (a form post replaces the page's JS context mid-poll).
func waitJS(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for {
			_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t)
			if err == nil || ctx.Err() != nil ||
				!(strings.Contains(err.Error(), "Cannot find context") || strings.Contains(err.Error(), "navigated")) {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// settled is true once the page has settled at least one htmx swap (the
// load-time estimate) and has no request in flight.
const settled = `(window.swapdeskSettled || 0) >= 1 && !document.querySelector(".htmx-request")`

// signedInWithCredits starts the app, grants the admin credits and signs in.
func signedInWithCredits(t *testing.T, ctx context.Context, credits int) *server {
	t.Helper()
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	if err := run(context.Background(), []string{"user", "grant", "--email", "admin@localhost", "--credits", fmt.Sprint(credits)},
		env(map[string]string{"SWAPDESK_DATA_DIR": dir}), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	step, cancel := browsertest.Step(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		countEstimates(),
		chromedp.Navigate(s.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@localhost"),
		chromedp.SendKeys(chromedp.CSS("#password"), s.Password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .name")),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	return s
}

// Press Start swap on the empty form: once the page has settled (the
// estimate htmx sends as it loads has been swapped in), both links are still
// marked invalid, with their messages and a border unlike a valid field's,
// at desktop and phone widths, light and dark.
func TestBrowserEmptySubmitMarksBothLinks(t *testing.T) {
	ctx := browsertest.New(t)
	s := signedInWithCredits(t, ctx, 100)
	type field struct {
		Invalid string `json:"invalid"`
		Message string `json:"message"`
		Border  string `json:"border"`
	}
	type marks struct {
		Image, Video field
		Valid        string `json:"valid"`
		Summary      string `json:"summary"`
	}
	const read = `(() => {
		const f = id => ({invalid: document.getElementById(id).getAttribute("aria-invalid"),
			message: document.getElementById(id + "-error").textContent.trim(),
			border: getComputedStyle(document.getElementById(id)).borderTopColor});
		return {Image: f("image_url"), Video: f("video_url"),
			valid: getComputedStyle(document.getElementById("duration")).borderTopColor,
			summary: document.getElementById("estimate-summary").textContent.trim()};
	})()`
	for _, size := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		for _, scheme := range []string{"light", "dark"} {
			t.Run(fmt.Sprintf("%d/%s", size.w, scheme), func(t *testing.T) {
				step, cancel := browsertest.Step(ctx, 45*time.Second)
				defer cancel()
				err := chromedp.Do(step,
					chromedp.EmulateViewport(size.w, size.h),
					colorScheme(scheme),
					chromedp.Navigate(s.URL+"/jobs/new"),
					waitJS(settled),
				)
				if err != nil {
					t.Fatalf("open New swap: %v", err)
				}
				png, _ := chromedp.Run(step, chromedp.FullScreenshot(100))
				browsertest.SaveScreenshot(t, fmt.Sprintf("new-swap-%d-%s.png", size.w, scheme), png)

				err = chromedp.Do(step,
					chromedp.Click(chromedp.CSS(`#job-form button[type="submit"]`)),
					// The 422 page; then its load-time estimate, which
					// answers "Enter both links" where the page said "Fix".
					waitJS(`location.pathname === "/jobs" && `+settled+
						` && document.getElementById("estimate-summary").textContent.includes("Enter both links")`),
				)
				if err != nil {
					t.Fatalf("empty submit: %v", err)
				}
				got, err := chromedp.Run(step, chromedp.Evaluate[marks](read))
				if err != nil {
					t.Fatal(err)
				}
				for name, f := range map[string]field{fields.ImageURL: got.Image, fields.VideoURL: got.Video} {
					if f.Invalid != "true" {
						t.Errorf("%s aria-invalid = %q after the page settled, want true", name, f.Invalid)
					}
					if !strings.HasPrefix(f.Message, "Enter the link") {
						t.Errorf("%s message %q after the page settled, want Enter the link…", name, f.Message)
					}
					if f.Border == got.Valid {
						t.Errorf("%s border %s, the same as a valid field's", name, f.Border)
					}
				}
				png, _ = chromedp.Run(step, chromedp.FullScreenshot(100))
				browsertest.SaveScreenshot(t, fmt.Sprintf("new-swap-empty-submit-%d-%s.png", size.w, scheme), png)

				// Typing a link takes that field's submit message away (the
				// estimate does not complain about a good link), and only
				// that one.
				err = chromedp.Do(step,
					chromedp.SendKeys(chromedp.CSS("#image_url"), s.URL+"/static/nothing-here.png"),
					waitJS(`document.getElementById("image_url-error").textContent.trim() !== "Enter the link to the character image."`),
				)
				if err != nil {
					t.Fatalf("typing a link: %v", err)
				}
				got, err = chromedp.Run(step, chromedp.Evaluate[marks](read))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(got.Video.Message, "Enter the link") || got.Video.Invalid != "true" {
					t.Errorf("video_url lost its submit message when the image changed: %+v", got.Video)
				}
			})
		}
	}
}

// The price is on screen next to Start swap (above it) when the button is,
// on a phone and on a desktop; the money saver sets the duration and the
// estimate follows.
func TestBrowserPriceByTheButtonAndMoneySaver(t *testing.T) {
	ctx := browsertest.New(t)
	s := signedInWithCredits(t, ctx, 100)
	type rect struct {
		Top    float64 `json:"top"`
		Bottom float64 `json:"bottom"`
	}
	type view struct {
		Summary  rect    `json:"summary"`
		Button   rect    `json:"button"`
		Height   float64 `json:"height"`
		Text     string  `json:"text"`
		ScrollY  float64 `json:"scrollY"`
		PageSize float64 `json:"pageSize"`
	}
	for _, size := range []struct{ w, h int64 }{{390, 844}, {1366, 900}} {
		t.Run(fmt.Sprint(size.w), func(t *testing.T) {
			step, cancel := browsertest.Step(ctx, 45*time.Second)
			defer cancel()
			err := chromedp.Do(step,
				chromedp.EmulateViewport(size.w, size.h),
				chromedp.Navigate(s.URL+"/jobs/new?sample=1"),
				waitText("#estimate .stat", "30"),
			)
			if err != nil {
				t.Fatal(err)
			}
			// Scroll only as far as needed to bring the button on screen,
			// as a member does to press it.
			got, err := chromedp.Run(step, chromedp.Evaluate[view](`(() => {
				const b = document.querySelector('#job-form button[type="submit"]');
				b.scrollIntoView({block: "end"});
				const r = el => { const x = el.getBoundingClientRect(); return {top: x.top, bottom: x.bottom}; };
				const sum = document.getElementById("estimate-summary");
				return {summary: r(sum), button: r(b), height: window.innerHeight, text: sum.textContent.trim().replace(/\s+/g, " "),
					scrollY: window.scrollY, pageSize: document.documentElement.scrollHeight};
			})()`))
			if err != nil {
				t.Fatal(err)
			}
			if got.Button.Bottom > got.Height+1 || got.Button.Top < 0 {
				t.Fatalf("button not on screen: %+v", got)
			}
			if got.Summary.Top < 0 || got.Summary.Bottom > got.Height {
				t.Errorf("price at %.0f–%.0f px, off a %.0f px screen that shows the button (%.0f–%.0f)",
					got.Summary.Top, got.Summary.Bottom, got.Height, got.Button.Top, got.Button.Bottom)
			}
			if got.Summary.Bottom > got.Button.Top+1 {
				t.Errorf("price (%.0f–%.0f) is not above the button (%.0f–%.0f)", got.Summary.Top, got.Summary.Bottom, got.Button.Top, got.Button.Bottom)
			}
			if got.Text != "Costs 30 credits. Your balance after: 70." {
				t.Errorf("price by the button says %q", got.Text)
			}
			png, _ := chromedp.Run(step, chromedp.CaptureScreenshot())
			browsertest.SaveScreenshot(t, fmt.Sprintf("new-swap-price-at-button-%d.png", size.w), png)
		})
	}

	// 10.5 s is 0.5 s into a third block: the saver offers 10 s.
	step, cancel := browsertest.Step(ctx, 45*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS("#duration"), "10.5"),
		waitJS(`!!document.querySelector("#estimate [data-set-duration]")`),
	)
	if err != nil {
		t.Fatalf("no saver for 10.5 s: %v", err)
	}
	png, _ := chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "new-swap-saver-offer.png", png)
	label, _ := chromedp.Run(step, chromedp.Text(chromedp.CSS("#estimate [data-set-duration]")))
	if label != "Use 10 s and save 10 credits" {
		t.Errorf("saver says %q", label)
	}
	if _, err := chromedp.Run(step, chromedp.Evaluate[any](`window.swapdeskMark = 7`)); err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS("#estimate [data-set-duration]")),
		waitText("#estimate .stat", "20"),
		waitText("#estimate-summary strong", "20 credits"),
	)
	if err != nil {
		t.Fatalf("the saver did not update the estimate: %v", err)
	}
	dur, _ := chromedp.Run(step, chromedp.Value(chromedp.CSS("#duration")))
	if dur != "10" {
		t.Errorf("duration field %q after the saver, want 10", dur)
	}
	mark, _ := chromedp.Run(step, chromedp.Evaluate[int](`window.swapdeskMark || 0`))
	if mark != 7 {
		t.Error("the saver navigated instead of setting the field")
	}
	if n, _ := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("[data-set-duration]").length`)); n != 0 {
		t.Errorf("%d savers left at 10 s", n)
	}
	png, _ = chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "new-swap-saver-taken.png", png)
}
