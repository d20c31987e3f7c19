package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"swapdesk/db"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/browsertest"
	"swapdesk/internal/fields"
)

// pagesSite is a running app with an admin (no credits, no jobs of their
// own) and a member with one finished and archived job and one failed job.
type pagesSite struct {
	*server
	adminPassword  string
	done, failed   int64
	memberEmail    string
	memberPassword string
}

func startPagesSite(t *testing.T) *pagesSite {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	s := startServe(t, vars, "--sandbox-queue-delay", "0s", "--sandbox-process-delay", "0s")
	site := &pagesSite{server: s, adminPassword: s.Password,
		memberEmail: "mia@example.com", memberPassword: "mia's long password"}
	if err := run(context.Background(), []string{"user", "add", "--email", site.memberEmail, "--name", "Mia Member", "--password-stdin"},
		env(vars), strings.NewReader(site.memberPassword+"\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"user", "grant", "--email", site.memberEmail, "--credits", "100"},
		env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, site.memberEmail, site.memberPassword); got != http.StatusSeeOther {
		t.Fatalf("member sign in: %d", got)
	}
	site.done = submitSample(t, c, s.URL, "")
	site.failed = submitSample(t, c, s.URL, akoolsim.MagicFailPrompt)
	waitJob(t, dir, site.done, "archived", func(j db.Job) bool { return j.ArchiveState == db.ArchiveDone })
	// Its character image kept, and its poster made (or found impossible
	// without ffmpeg), by the background steps.
	waitJob(t, dir, site.done, "postered", func(j db.Job) bool { return j.ImageKey != "" && j.PosterState != db.PosterNone })
	waitJob(t, dir, site.failed, "failed", func(j db.Job) bool { return j.Status == db.JobFailed })
	return site
}

// submitSample submits the sandbox's sample inputs at 720p with prompt and
// returns the new job's id.
func submitSample(t *testing.T, c *http.Client, base, prompt string) int64 {
	t.Helper()
	res, err := c.Get(base + "/jobs/new?sample=1")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	form := url.Values{fields.Mode: {"animate"}, fields.Resolution: {"720p"}, fields.Prompt: {prompt}}
	for _, name := range []string{fields.CSRF, fields.Idem, fields.ImageURL, fields.VideoURL} {
		v, _ := doc.Find(`input[name="` + name + `"]`).Attr("value")
		form.Set(name, v)
	}
	res, err = c.PostForm(base+"/jobs", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", res.StatusCode)
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	if err != nil {
		t.Fatalf("submit went to %q", res.Header.Get("Location"))
	}
	return id
}

// signInBrowser signs the tab in through the login form.
func signInBrowser(base, email, password string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		return chromedp.Do(ctx,
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".account .name")),
		)
	})
}

// clearCookies signs the tab out.
func clearCookies() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, network.ClearBrowserCookies, cdp.Empty{})
		return err
	})
}

// pageWidth is what a page measures once loaded: how wide its content is,
// and whether any scroll box (a table wrapper, say) hides content sideways.
type pageWidth struct {
	ScrollWidth int      `json:"scrollWidth"`
	Clipped     []string `json:"clipped"`
	Widest      string   `json:"widest"`
}

const measureWidth = `(() => {
	const vw = %d;
	const clipped = [];
	let widest = "", widestRight = 0;
	for (const el of document.querySelectorAll("body *")) {
		const r = el.getBoundingClientRect();
		if (r.right > widestRight) { widestRight = r.right; widest = el.tagName.toLowerCase() + (el.className ? "." + String(el.className).trim().replace(/\s+/g, ".") : "") + " (" + Math.round(r.right) + " px)"; }
		const ox = getComputedStyle(el).overflowX;
		if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1) {
			clipped.push(el.tagName.toLowerCase() + "." + String(el.className) + " " + el.scrollWidth + ">" + el.clientWidth);
		}
	}
	return {scrollWidth: document.documentElement.scrollWidth, clipped, widest: widestRight > vw ? widest : ""};
})()`

// TestBrowserNoPageWiderThanAPhone visits every page on a phone (mobile
// emulation) 390 and 360 CSS px wide and fails when one is wider than the
// screen. It compares scrollWidth with the width set: under mobile
// emulation innerWidth grows to fit a too-wide page, which would hide it.
func TestBrowserNoPageWiderThanAPhone(t *testing.T) {
	ctx := browsertest.New(t)
	site := startPagesSite(t)
	done, failed := "/jobs/"+strconv.FormatInt(site.done, 10), "/jobs/"+strconv.FormatInt(site.failed, 10)
	makeToken(t, site.URL, site.memberEmail, site.memberPassword, "a rather long token name for the nightly batch of character swaps")
	type visit struct{ who, name, path string }
	visits := []visit{
		{"", "login", "/login"},
		{"admin", "dashboard", "/"},
		{"admin", "new swap", "/jobs/new"},
		{"admin", "jobs list", "/jobs"},
		{"admin", "finished job", done},
		{"admin", "failed job", failed},
		{"admin", "admin users", "/admin/users"},
		{"admin", "a member's admin page", "/admin/users/2"},
		{"admin", "account", "/account"},
		{"admin", "credit overview", "/admin/credits"},
		{"admin", "credit overview by member, 90 days", "/admin/credits?days=90&by=member"},
		{"admin", "audit log", "/admin/audit"},
		{"admin", "API tokens, every member's", "/admin/tokens"},
		{"admin", "API tokens, own", "/account/tokens"},
		{"admin", "API docs", "/docs/api"},
		{"admin", "error page 404", "/no-such-page"},
		{"member", "dashboard", "/"},
		{"member", "jobs list", "/jobs"},
		{"member", "finished job", done},
		{"member", "failed job", failed},
		{"member", "account", "/account"},
		{"member", "API tokens", "/account/tokens"},
		{"member", "API docs", "/docs/api"},
		{"member", "gallery", "/gallery"},
		{"member", "gallery, filtered", "/gallery?mode=animate&from=2026-01-01&to=2030-12-31&fav=1&q=walk"},
		{"member", "gallery, bad filter", "/gallery?from=2026-13-01"},
		{"admin", "gallery", "/gallery"},
	}
	for _, width := range []int64{390, 360} {
		t.Run(strconv.FormatInt(width, 10), func(t *testing.T) {
			tab, cancelTab := chromedp.NewContext(ctx)
			defer cancelTab()
			step, cancel := browsertest.Step(tab, 90*time.Second)
			defer cancel()
			if err := chromedp.Do(step, clearCookies(), chromedp.EmulateViewport(width, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)); err != nil {
				t.Fatal(err)
			}
			signedIn := ""
			for _, v := range visits {
				if v.who != signedIn {
					var err error
					switch v.who {
					case "admin":
						err = chromedp.Do(step, clearCookies(), signInBrowser(site.URL, "admin@localhost", site.adminPassword))
					case "member":
						err = chromedp.Do(step, clearCookies(), signInBrowser(site.URL, site.memberEmail, site.memberPassword))
					}
					if err != nil {
						t.Fatalf("sign in as %s: %v", v.who, err)
					}
					signedIn = v.who
				}
				if err := chromedp.Do(step, chromedp.Navigate(site.URL+v.path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
					t.Fatalf("%s %s: %v", v.who, v.name, err)
				}
				got, err := chromedp.Run(step, chromedp.Evaluate[pageWidth](fmt.Sprintf(measureWidth, width)))
				if err != nil {
					t.Fatal(err)
				}
				if got.ScrollWidth > int(width) {
					t.Errorf("%s %s (%s) is %d px wide on a %d px phone; widest: %s", v.who, v.name, v.path, got.ScrollWidth, width, got.Widest)
				}
				if len(got.Clipped) > 0 {
					t.Errorf("%s %s (%s) hides content in sideways scroll boxes on a %d px phone: %v", v.who, v.name, v.path, width, got.Clipped)
				}
			}
		})
	}
}

// TestBrowserResultPlayerFitsTheScreen opens a finished job (a 320×240
// result) on a 1366×900 screen: the player is bounded to 60% of the
// screen's height, shows its poster from our store (the CSP lets it load),
// the kept character image loads beside it, and Download stays on the
// first screen. It also saves screenshots of the job pages,
// the jobs list, the admin's empty dashboard and the members page, at 1366
// and 390 px, light and dark (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserResultPlayerFitsTheScreen(t *testing.T) {
	ctx := browsertest.New(t)
	site := startPagesSite(t)
	done, failed := "/jobs/"+strconv.FormatInt(site.done, 10), "/jobs/"+strconv.FormatInt(site.failed, 10)
	step, cancel := browsertest.Step(ctx, 120*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		signInBrowser(site.URL, "admin@localhost", site.adminPassword),
		chromedp.Navigate(site.URL+done),
		chromedp.WaitVisible(chromedp.CSS("video.player")),
	)
	if err != nil {
		t.Fatal(err)
	}
	type player struct {
		Height         float64 `json:"height"`
		Poster         string  `json:"poster"`
		ImageWidth     int     `json:"imageWidth"`
		DownloadBottom float64 `json:"downloadBottom"`
		Screen         float64 `json:"screen"`
	}
	got, err := chromedp.Run(step, chromedp.Evaluate[player](`(() => {
		const v = document.querySelector("video.player");
		const dl = document.querySelector(".job-card a[download]");
		const img = document.querySelector("figure.character img");
		return {height: v.getBoundingClientRect().height, poster: v.getAttribute("poster") || "",
			imageWidth: img && img.complete ? img.naturalWidth : -1,
			downloadBottom: dl ? dl.getBoundingClientRect().bottom : -1, screen: window.innerHeight};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Height > 0.6*got.Screen+1 {
		t.Errorf("player is %.0f px high on a %.0f px screen, want at most 60%%", got.Height, got.Screen)
	}
	if want := done + "/poster"; got.Poster != strings.Replace(want, "/jobs/", "/media/", 1) {
		t.Errorf("player poster %q, want /media/%d/poster", got.Poster, site.done)
	}
	if got.ImageWidth <= 0 {
		t.Errorf("the kept character image did not load (natural width %d)", got.ImageWidth)
	}
	if got.DownloadBottom < 0 || got.DownloadBottom > got.Screen {
		t.Errorf("Download ends at %.0f px, below the %.0f px screen", got.DownloadBottom, got.Screen)
	}

	pages := []struct{ name, path string }{
		{"job-done", done}, {"job-failed", failed}, {"jobs", "/jobs"}, {"dashboard-admin-empty", "/"}, {"admin-users", "/admin/users"},
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
			for _, p := range pages {
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
