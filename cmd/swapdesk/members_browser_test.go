package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"swapdesk/internal/browsertest"
)

// TestBrowserAdminAddsAMemberAndBudgetsThem: in a real browser an admin
// adds a member (the password is shown once), grants them credits and sets
// a monthly allowance, all through the forms; the member signs in with the
// password shown and sees their balance on /account. Screenshots of
// /admin/users, /admin/users/:id and /account at 1366 and 390 px, light
// and dark (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserAdminAddsAMemberAndBudgetsThem(t *testing.T) {
	ctx := browsertest.New(t)
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": t.TempDir()})
	step, cancel := browsertest.Step(ctx, 150*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		signInBrowser(s.URL, "admin@localhost", s.Password),
		chromedp.Navigate(s.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS("form.add-member")),
		chromedp.SendKeys(chromedp.CSS("form.add-member #email"), "rosa@example.com"),
		chromedp.SendKeys(chromedp.CSS("form.add-member #name"), "Rosa Budget"),
		chromedp.Click(chromedp.CSS(`form.add-member button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash-success")),
	)
	if err != nil {
		t.Fatal(err)
	}
	flash, err := chromedp.Run(step, chromedp.Text(chromedp.CSS(".flash-success")))
	if err != nil {
		t.Fatal(err)
	}
	memberURL, err := chromedp.Run(step, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step,
		chromedp.SendKeys(chromedp.CSS("#amount"), "250"),
		chromedp.SendKeys(chromedp.CSS("#note"), "Welcome budget"),
		chromedp.Click(chromedp.CSS(`form[action$="/credits"] button[type="submit"]`)),
		waitJS(`document.querySelector(".flash-success") && document.querySelector(".flash-success").textContent.includes("Granted 250")`),
		waitJS(`(document.querySelector("#monthly").value = "") === ""`),
		chromedp.SendKeys(chromedp.CSS("#monthly"), "300"),
		chromedp.Click(chromedp.CSS(`form[action$="/allowance"] button[type="submit"]`)),
		waitJS(`document.querySelector(".flash-success") && document.querySelector(".flash-success").textContent.includes("300 credits")`),
	)
	if err != nil {
		t.Fatal(err)
	}
	available, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("#member-available")))
	if err != nil {
		t.Fatal(err)
	}
	pw := regexp.MustCompile(`\(shown only now\): (\S+)`).FindStringSubmatch(flash)
	if pw == nil {
		t.Fatalf("no password shown: %q", flash)
	}
	if !strings.Contains(memberURL, "/admin/users/") || available != "250" {
		t.Fatalf("after granting: at %s, available %q; want a member page with 250", memberURL, available)
	}
	shots := func(who string, pages []struct{ name, path string }) {
		t.Helper()
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
					if err := chromedp.Do(step, chromedp.Navigate(p.path), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
						t.Fatalf("%s: %v", p.name, err)
					}
					png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
					if err != nil {
						t.Fatal(err)
					}
					browsertest.SaveScreenshot(t, fmt.Sprintf("%s-%s-%d-%s.png", who, p.name, size.w, scheme), png)
				}
			}
		}
	}
	shots("admin", []struct{ name, path string }{
		{"members", s.URL + "/admin/users"}, {"member", memberURL}, {"account", s.URL + "/account"},
	})

	err = chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		clearCookies(),
		signInBrowser(s.URL, "rosa@example.com", pw[1]),
		chromedp.Navigate(s.URL+"/account"),
	)
	if err != nil {
		t.Fatal(err)
	}
	balance, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("#account-available")))
	if err != nil {
		t.Fatal(err)
	}
	if balance != "250" {
		t.Errorf("the member's /account shows %q available, want 250", balance)
	}
	shots("member", []struct{ name, path string }{{"account", s.URL + "/account"}})
}
