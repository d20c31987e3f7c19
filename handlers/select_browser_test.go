package handlers_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"swapdesk/db"
	"swapdesk/internal/browsertest"
	"swapdesk/views"
)

// The selection form in a real browser: click one tile, shift-click
// another to take the range, untick one, and the zip of the two ticked
// downloads. The gallery page is another branch's; until it lands the
// components are put on a signed-in page of the real app (so the session
// and its CSRF token are real) exactly as templ renders them.
func TestBrowserSelectTwoAndDownloadZip(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t)
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 200)
	jobs := []db.Job{app.archivedJob(t, ana), app.archivedJob(t, ana), app.archivedJob(t, ana)}

	var html bytes.Buffer
	if err := views.SelectionForm("").Render(context.Background(), &html); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		html.WriteString(`<div class="tile" data-select-tile>`)
		if err := views.SelectBox(j.ID).Render(context.Background(), &html); err != nil {
			t.Fatal(err)
		}
		html.WriteString(`</div>`)
	}
	inject, _ := json.Marshal(html.String())
	dir := t.TempDir()

	step, cancel := browsertest.Step(ctx, 60*time.Second)
	defer cancel()
	box := func(i int) string { return `input[data-select][value="` + itoa(jobs[i].ID) + `"]` }
	err := chromedp.Do(step,
		chromedp.Navigate(app.srv.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "ana@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .name")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](`(() => {
				document.querySelector("main").innerHTML = `+string(inject)+`;
				document.querySelector("#`+views.SelectionFormID+` input[name=csrf]").value =
					document.querySelector(".account input[name=csrf]").value;
			})()`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS(box(0))),
		waitFor(`document.querySelector("[data-selection-submit]").textContent === "Download 1 as zip"`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS(box(2))))
			if err != nil {
				return err
			}
			_, err = chromedp.MouseClickNode(nodes[0], chromedp.ButtonModifiers(chromedp.ModifierShift))(ctx, tg)
			return err
		}),
		waitFor(`document.querySelectorAll("input[data-select]:checked").length === 3`),
		waitFor(`document.querySelector("[data-selection-submit]").textContent === "Download 3 as zip"`),
		chromedp.Click(chromedp.CSS(box(1))),
		waitFor(`document.querySelector("[data-selection-count]").textContent === "2 selected"`),
	)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	png, _ := chromedp.Run(step, chromedp.FullScreenshot(100))
	browsertest.SaveScreenshot(t, "selection.png", png)
	if err := chromedp.Do(step, chromedp.Click(chromedp.CSS("[data-selection-submit]"))); err != nil {
		t.Fatal(err)
	}

	// The download arrives under its own name.
	var got string
	for deadline := time.Now().Add(30 * time.Second); got == ""; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no zip was downloaded")
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "swapdesk-*.zip"))
		if len(matches) == 1 {
			got = matches[0]
		}
	}
	if base := filepath.Base(got); base != "swapdesk-2026-11-25-2-results.zip" {
		t.Errorf("downloaded %s", base)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("the download is not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if want := entryName(jobs[2]) + " " + entryName(jobs[0]) + " manifest.csv"; strings.Join(names, " ") != want {
		t.Errorf("entries %v, want %s", names, want)
	}
}

// waitFor polls a JavaScript condition until it holds (or the step's
// deadline passes).
func waitFor(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond))(ctx, tg)
		return err
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
