package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"swapdesk/db"
	"swapdesk/internal/browsertest"
	"swapdesk/internal/fields"
	"swapdesk/internal/tokens"
)

// grantClipboard lets the pages of origin read and write the clipboard
// without asking, so the test can read what Copy put there.
func grantClipboard(origin string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, name := range []string{"clipboard-read", "clipboard-write"} {
			if _, err := cdp.Call(ctx, t, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
				Permission: &cdpbrowser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
				Setting:    cdpbrowser.PermissionSettingGranted, Origin: origin,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// makeToken signs email in over HTTP and makes a token named name with
// every scope, so the token lists have a row.
func makeToken(t *testing.T, base, email, password, name string) {
	t.Helper()
	c := browser(nil)
	if got := signIn(t, c, base, email, password); got != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d", email, got)
	}
	doc := getDoc(t, c, base+"/account/tokens")
	tok, _ := doc.Find(`input[name="csrf"]`).Attr("value")
	key, _ := doc.Find(`#token-form input[name="` + fields.Idem + `"]`).Attr("value")
	res, err := c.PostForm(base+"/account/tokens", url.Values{fields.CSRF: {tok}, fields.Idem: {key}, fields.Name: {name},
		fields.Scopes: {"jobs:read", "jobs:write", "gallery:read"}, fields.TokenDays: {"90"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("make a token: %d", res.StatusCode)
	}
}

// TestBrowserTokenShownOnceCopiedAndRevoked: in a real browser an admin
// makes an API token through the form, sees it once with a working Copy
// button (the clipboard then holds it), finds it gone from the page on the
// next visit but listed on /admin/tokens, and revokes it (the confirm
// accepted). Screenshots of /account/tokens with the token just made,
// /admin/tokens and /docs/api at 1366 and 390 px, light and dark
// (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserTokenShownOnceCopiedAndRevoked(t *testing.T) {
	ctx := browsertest.New(t)
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	step, cancel := browsertest.Step(ctx, 150*time.Second)
	defer cancel()
	err = chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		grantClipboard(u.Scheme+"://"+u.Host),
		signInBrowser(s.URL, "admin@localhost", s.Password),
		chromedp.Navigate(s.URL+"/account/tokens"),
		chromedp.WaitVisible(chromedp.CSS("#tokens-empty")),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "nightly batch"),
		chromedp.Click(chromedp.CSS(`input[name="scopes"][value="jobs:read"]`)),
		chromedp.Click(chromedp.CSS(`input[name="scopes"][value="jobs:write"]`)),
		waitJS(`(document.querySelector("#token-days").value = "") === ""`),
		chromedp.SendKeys(chromedp.CSS("#token-days"), "30"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-new")),
		// The Copy button shows with the script, and copies.
		chromedp.WaitVisible(chromedp.CSS(`button[data-copy="token-secret"]`)),
		chromedp.Click(chromedp.CSS(`button[data-copy="token-secret"]`)),
		waitJS(`document.querySelector("#token-secret-status").textContent.startsWith("Copied")`),
	)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("#token-secret").value`))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sd_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("token shown: %q", secret)
	}
	copied, err := chromedp.Run(step, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("read the clipboard: %v", err)
	}
	if copied != secret {
		t.Errorf("the clipboard holds %q, want the token %q", copied, secret)
	}
	curl, err := chromedp.Run(step, chromedp.Text(chromedp.CSS("#token-curl")))
	if err != nil {
		t.Fatal(err)
	}
	if want := `curl -H "Authorization: Bearer ` + secret + `" ` + s.URL + "/api/v1/me"; curl != want {
		t.Errorf("curl line %q, want %q", curl, want)
	}
	// The database knows the token by its hash.
	store, err := db.Open(context.Background(), dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte(secret))
	tok, _, err := store.TokenByHash(context.Background(), hash[:], time.Now())
	store.Close()
	if err != nil || tok.Name != "nightly batch" || tok.Scopes != "jobs:read jobs:write" {
		t.Fatalf("stored token %+v, %v", tok, err)
	}

	// Screenshots of the answer as it stands (not reloaded: a reload would
	// post the form again), then of the admin's list and the docs.
	shoot := func(name, navigate string) { t.Helper(); shootTokenPage(t, step, s.URL, name, navigate) }
	// The answer fits the narrowest phone too.
	err = chromedp.Do(step, chromedp.EmulateViewport(360, 780, chromedp.EmulateMobile, chromedp.EmulateTouch))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := chromedp.Run(step, chromedp.Evaluate[pageWidth](fmt.Sprintf(measureWidth, 360))); err != nil {
		t.Fatal(err)
	} else if got.ScrollWidth > 360 || len(got.Clipped) > 0 {
		t.Errorf("the new token's page is %d px wide on a 360 px phone (widest %s), clipped %v", got.ScrollWidth, got.Widest, got.Clipped)
	}
	shoot("account-tokens-created", "")
	shoot("admin-tokens", "/admin/tokens")
	shoot("docs-api", "/docs/api")

	err = chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		colorScheme("light"),
		chromedp.Navigate(s.URL+"/admin/tokens"),
		waitJS(`document.querySelectorAll("tbody tr").length === 1 && document.querySelector("tbody tr").textContent.includes("nightly batch")`),
		// Shown once: the list shows its prefix, never the token again.
		chromedp.Navigate(s.URL+"/account/tokens"),
		chromedp.WaitVisible(chromedp.CSS("tbody tr")),
	)
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(step, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(regexp.QuoteMeta(secret[3:])).MatchString(html) {
		t.Error("the token is shown a second time")
	}
	err = chromedp.Do(step,
		waitJS(`document.querySelector('td[data-label="Token"]').textContent === `+fmt.Sprintf("%q", secret[:9]+"…")),
		// Accept the "Revoke this token?" confirm.
		waitJS(`(window.confirm = () => true) && true`),
		chromedp.Click(chromedp.CSS(`tbody tr form[action$="/revoke"] button`)),
		waitJS(`!!document.querySelector(".flash-success") && document.querySelector(".flash-success").textContent.includes("Revoked")`),
		waitJS(`document.querySelector('td[data-label="State"]').textContent.includes("Revoked") && !document.querySelector("tbody tr form")`),
		chromedp.Navigate(s.URL+"/admin/tokens"),
		chromedp.WaitVisible(chromedp.CSS("#tokens-empty")),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// shootTokenPage saves screenshots of the page at base+navigate (the page
// as it stands when navigate is "") at 1366 and 390 px, light and dark,
// and fails when it is wider than the window.
func shootTokenPage(t *testing.T, step context.Context, base, name, navigate string) {
	t.Helper()
	sizes := []struct{ w, h int64 }{{1366, 900}, {390, 844}}
	for _, size := range sizes {
		var opts []chromedp.EmulateViewportOption
		if size.w < 640 {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
		}
		for _, scheme := range []string{"light", "dark"} {
			if err := chromedp.Do(step, chromedp.EmulateViewport(size.w, size.h, opts...), colorScheme(scheme)); err != nil {
				t.Fatal(err)
			}
			// Buttons fade their colours (.15 s) when the scheme changes.
			time.Sleep(300 * time.Millisecond)
			if navigate != "" {
				if err := chromedp.Do(step, chromedp.Navigate(base+navigate), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
			width, err := chromedp.Run(step, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			if err != nil {
				t.Fatal(err)
			}
			if width > int(size.w) {
				t.Errorf("%s is %d px wide at %d px", name, width, size.w)
			}
			png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			browsertest.SaveScreenshot(t, fmt.Sprintf("%s-%d-%s.png", name, size.w, scheme), png)
		}
	}
}

// TestBrowserTokenFormPostedAgainAndDisabledMember: in a real browser the
// token form posted a second time (as a reload of the answer does) makes
// no second token and lands on the list saying so, without the secret; a
// disabled member's token reads "Member disabled" on the admin's lists.
// Screenshots of both at 1366 and 390 px, light and dark
// (SWAPDESK_SCREENSHOT_DIR to keep them).
func TestBrowserTokenFormPostedAgainAndDisabledMember(t *testing.T) {
	ctx := browsertest.New(t)
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	step, cancel := browsertest.Step(ctx, 150*time.Second)
	defer cancel()
	err := chromedp.Do(step,
		chromedp.EmulateViewport(1366, 900),
		signInBrowser(s.URL, "admin@localhost", s.Password),
		chromedp.Navigate(s.URL+"/account/tokens"),
		chromedp.WaitVisible(chromedp.CSS("#tokens-empty")),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "nightly batch"),
		chromedp.Click(chromedp.CSS(`input[name="scopes"][value="jobs:read"]`)),
		// Keep the form as posted, to post it once more.
		waitJS(`(sessionStorage.tokenForm = new URLSearchParams(new FormData(document.querySelector("#token-form"))).toString()) !== ""`),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#token-new")),
	)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := chromedp.Run(step, chromedp.Evaluate[string](`document.querySelector("#token-secret").value`))
	if err != nil || !regexp.MustCompile(`^sd_[A-Za-z0-9_-]{43}$`).MatchString(secret) {
		t.Fatalf("token shown: %q, %v", secret, err)
	}
	err = chromedp.Do(step,
		waitJS(`(() => {
			const f = document.createElement("form");
			f.method = "post"; f.action = "/account/tokens";
			for (const [k, v] of new URLSearchParams(sessionStorage.tokenForm)) {
				const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
			}
			document.body.appendChild(f); f.submit(); return true;
		})()`),
		waitJS(`location.pathname === "/account/tokens" && !document.querySelector("#token-new") && document.querySelector("#flashes") !== null && document.querySelector("#flashes").textContent.includes("already used")`),
	)
	if err != nil {
		t.Fatal(err)
	}
	html, err := chromedp.Run(step, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(regexp.QuoteMeta(secret[3:])).MatchString(html) {
		t.Error("the token is shown a second time")
	}
	if n, err := chromedp.Run(step, chromedp.Evaluate[int](`document.querySelectorAll("tbody tr").length`)); err != nil || n != 1 {
		t.Errorf("%d tokens listed, want 1 (%v)", n, err)
	}
	shootTokenPage(t, step, s.URL, "account-tokens-again", "")

	// A member with a token, then disabled.
	store, err := db.Open(context.Background(), dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(context.Background(), "bo@example.com", "Bo Disabled", db.RoleMember, "x")
	if err == nil {
		_, err = tokens.New(store, nil).Create(context.Background(), u.ID, u.ID,
			tokens.Request{Name: "bo's bot", Scopes: tokens.AllScopes, FormKey: tokens.NewFormKey()}, "")
	}
	if err == nil {
		err = store.SetDisabled(context.Background(), u.ID, true)
	}
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step,
		chromedp.Navigate(s.URL+"/admin/tokens"),
		waitJS(`[...document.querySelectorAll("tbody tr")].some(r => r.textContent.includes("bo's bot") && r.querySelector(".badge").textContent === "Member disabled")`),
	)
	if err != nil {
		t.Fatal(err)
	}
	shootTokenPage(t, step, s.URL, "admin-tokens-disabled", "/admin/tokens")
	shootTokenPage(t, step, s.URL, "member-tokens-disabled", "/admin/users/"+strconv.FormatInt(u.ID, 10)+"#member-tokens")
}
