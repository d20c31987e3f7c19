package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"swapdesk/db"
	"swapdesk/internal/browsertest"
)

// gallerySite is a running app whose member has one result made through
// the sandbox and archived, and 29 more written into the database beside
// it (sharing its archived file), every third in replace mode, every
// fifth with the prompt "paper lantern".
type gallerySite struct {
	*server
	memberEmail, memberPassword string
	done                        int64
	total                       int
}

func startGallerySite(t *testing.T) *gallerySite {
	t.Helper()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	s := startServe(t, vars, "--sandbox-queue-delay", "0s", "--sandbox-process-delay", "0s")
	site := &gallerySite{server: s, memberEmail: "mia@example.com", memberPassword: "mia's long password", total: 30}
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
	job := waitJob(t, dir, site.done, "archived", func(j db.Job) bool { return j.ArchiveState == db.ArchiveDone })

	side, err := sql.Open("sqlite", db.DSN(dbPath(dir)))
	if err != nil {
		t.Fatal(err)
	}
	defer side.Close()
	for i := 1; i < site.total; i++ {
		mode, prompt := "animate", "a calm walk"
		if i%3 == 0 {
			mode = "replace"
		}
		if i%5 == 0 {
			prompt = "paper lantern at night"
		}
		at := job.CreatedAt.Add(-time.Duration(i) * 37 * time.Minute).UnixMilli()
		_, err := side.Exec(`INSERT INTO jobs (user_id, idempotency_key, status, image_url, video_url, mode, resolution,
				billed_seconds, estimate_credits, charged_credits, prompt, created_at, updated_at, finished_at,
				video_duration, archive_state, archive_path, archive_sha256, archive_size)
			VALUES (?, ?, 'succeeded', ?, ?, ?, '720p', 4, 10, 10, ?, ?, ?, ?, 4, 'archived', ?, ?, ?)`,
			job.UserID, fmt.Sprintf("gallery-browser-seed-%04d", i), job.ImageURL, job.VideoURL, mode, prompt,
			at, at, at+60_000, job.ArchivePath, job.ArchiveSHA256, job.ArchiveSize)
		if err != nil {
			t.Fatal(err)
		}
	}
	return site
}

// TestBrowserGallery browses the gallery as a member would: the grid
// (2 columns on a phone), load more on scroll, a filter and a search that
// update the URL (and Back), a star, the hover preview, arrow keys and
// Enter to open a result. It saves screenshots at 1366 and 390 px, light
// and dark (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserGallery(t *testing.T) {
	ctx := browsertest.New(t)
	site := startGallerySite(t)
	step, cancel := browsertest.Step(ctx, 120*time.Second)
	defer cancel()
	tiles := `document.querySelectorAll("li.tile").length`
	err := chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		colorScheme("light"),
		signInBrowser(site.URL, site.memberEmail, site.memberPassword),
		chromedp.Navigate(site.URL+"/gallery"),
		chromedp.WaitVisible(chromedp.CSS("li.tile")),
	)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		n, err := chromedp.Run(step, chromedp.Evaluate[int](tiles))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 24 && n != site.total {
		t.Fatalf("first page: %d tiles", n)
	}
	png, err := chromedp.Run(step, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "gallery-1366-light.png", png)

	// Scrolling to the end loads the rest.
	err = chromedp.Do(step,
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`),
		waitJS(fmt.Sprintf(`%s === %d && !document.querySelector("li.gallery-more")`, tiles, site.total)),
	)
	if err != nil {
		t.Fatalf("load more: %v (%d tiles)", err, count())
	}

	// No tile fetched its preview yet; focusing one plays it, leaving stops it.
	srcs, err := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("video.tile-preview[src]").length`))
	if err != nil || srcs != 0 {
		t.Fatalf("%d previews have a src before any hover (err %v)", srcs, err)
	}
	err = chromedp.Do(step,
		chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`),
		chromedp.Focus(chromedp.CSS("li.tile a.tile-link")),
		waitJS(`(() => { const v = document.querySelector("li.tile video.tile-preview"); return v.getAttribute("src") === v.dataset.preview; })()`),
		// Arrow right moves to the next tile, and leaving stops the first.
		chromedp.KeyEvent(kb.ArrowRight),
		waitJS(`document.activeElement === document.querySelectorAll("li.tile a.tile-link")[1]`),
		waitJS(`!document.querySelector("li.tile video.tile-preview").hasAttribute("src")`),
		chromedp.KeyEvent(kb.ArrowDown),
		waitJS(`(() => { const links = document.querySelectorAll("li.tile a.tile-link"); const a = document.activeElement;
			return a !== links[1] && a.matches("a.tile-link") && Math.abs(a.getBoundingClientRect().left - links[1].getBoundingClientRect().left) < 2; })()`),
	)
	if err != nil {
		t.Fatalf("preview and arrow keys: %v", err)
	}

	// A filter: the results change in place and the URL follows.
	err = chromedp.Do(step,
		chromedp.SetValue(chromedp.CSS("#gallery-mode"), "replace"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector("#gallery-mode").dispatchEvent(new Event("change", {bubbles: true}))`),
		waitJS(`location.search === "?mode=replace" && !document.querySelector(".htmx-request") && `+tiles+` === 9`),
	)
	if err != nil {
		t.Fatalf("filter: %v (%d tiles)", err, count())
	}
	// A search, typed.
	err = chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS("#gallery-q"), "lantern"),
		waitJS(`location.search.includes("q=lantern") && !document.querySelector(".htmx-request") && `+tiles+` === 1`),
	)
	if err != nil {
		t.Fatalf("search: %v (%d tiles)", err, count())
	}
	// The search's order: newest first, in place; the URL follows, once
	// (SetValue fires input and change, as a person's choice does).
	err = chromedp.Do(step,
		chromedp.SetValue(chromedp.CSS("#gallery-sort"), "newest"),
		waitJS(`location.search.includes("sort=newest") && location.search.includes("q=lantern") && !document.querySelector(".htmx-request") && `+tiles+` === 1`),
	)
	if err != nil {
		t.Fatalf("search order: %v (%d tiles)", err, count())
	}
	// Back twice: the best-match search, then the filter without it.
	err = chromedp.Do(step,
		chromedp.NavigateBack(),
		waitJS(`location.search.includes("q=lantern") && !location.search.includes("sort=") && `+tiles+` === 1`),
		chromedp.NavigateBack(),
		waitJS(`location.search === "?mode=replace" && `+tiles+` === 9`),
	)
	if err != nil {
		loc, _ := chromedp.Run(step, chromedp.Evaluate[string](`location.search`))
		t.Fatalf("back: %v (%d tiles, at %s)", err, count(), loc)
	}
	// A star, instantly.
	err = chromedp.Do(step,
		chromedp.Click(chromedp.CSS("li.tile button.star")),
		waitJS(`document.querySelector("li.tile button.star").getAttribute("aria-pressed") === "true"`),
		chromedp.Navigate(site.URL+"/gallery?fav=1"),
		waitJS(tiles+` === 1`),
	)
	if err != nil {
		t.Fatalf("star: %v", err)
	}
	// Enter opens a result.
	err = chromedp.Do(step,
		chromedp.Navigate(site.URL+"/gallery"),
		chromedp.WaitVisible(chromedp.CSS("li.tile")),
		chromedp.Focus(chromedp.CSS("li.tile a.tile-link")),
		chromedp.KeyEvent(kb.Enter),
		waitJS(`location.pathname === "/jobs/`+strconv.FormatInt(site.done, 10)+`"`),
		chromedp.WaitVisible(chromedp.CSS(".gallery-panel")),
	)
	if err != nil {
		t.Fatalf("open a result: %v", err)
	}

	// Screenshots, and two columns on a phone.
	for _, size := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		var opts []chromedp.EmulateViewportOption
		if size.w < 640 {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		for _, scheme := range []string{"light", "dark"} {
			for _, p := range []struct{ name, path string }{{"gallery", "/gallery"}, {"gallery-search", "/gallery?q=lantern&mode=animate"}, {"gallery-bad", "/gallery?from=2026-13-01&q=x"}} {
				err := chromedp.Do(step, chromedp.EmulateViewport(size.w, size.h, opts...), colorScheme(scheme),
					chromedp.Navigate(site.URL+p.path), chromedp.WaitVisible(chromedp.CSS("main")))
				if err != nil {
					t.Fatal(err)
				}
				if p.name == "gallery" {
					cols, err := chromedp.Run(step, chromedp.Evaluate[int](`new Set(Array.from(document.querySelectorAll("li.tile")).map(li => Math.round(li.getBoundingClientRect().left))).size`))
					if err != nil {
						t.Fatal(err)
					}
					if size.w == 390 && cols != 2 {
						t.Errorf("%d columns at 390 px, want 2", cols)
					}
					if size.w == 1366 && cols < 4 {
						t.Errorf("%d columns at 1366 px, want 4 or more", cols)
					}
				}
				png, err := chromedp.Run(step, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatal(err)
				}
				browsertest.SaveScreenshot(t, fmt.Sprintf("%s-%d-%s.png", p.name, size.w, scheme), png)
			}
		}
	}
}
