package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"swapdesk/internal/browsertest"
)

// The header shows the signed-in person's name and role on a phone too: a
// long name is cut with an ellipsis, and nothing runs off the screen.
func TestBrowserNavShowsNameAndRoleOnAPhone(t *testing.T) {
	ctx := browsertest.New(t)
	dir := t.TempDir()
	const name = "Maximiliana Konstantinopoulou-Weatherington"
	err := run(context.Background(), []string{"user", "add", "--email", "max@example.com", "--name", name, "--admin", "--password-stdin"},
		env(map[string]string{"SWAPDESK_DATA_DIR": dir}), strings.NewReader("max's long password\n"), io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})

	step, cancel := browsertest.Step(ctx, 30*time.Second)
	defer cancel()
	err = chromedp.Do(step,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "max@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "max's long password"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".account .role")),
	)
	if err != nil {
		t.Fatalf("sign in on a phone-sized screen: %v", err)
	}
	type box struct {
		Width    float64 `json:"width"`
		Right    float64 `json:"right"`
		Overflow bool    `json:"overflow"`
	}
	type layout struct {
		Viewport    float64 `json:"viewport"`
		PageWidth   float64 `json:"pageWidth"`
		Name        box     `json:"name"`
		Role        box     `json:"role"`
		SignOut     box     `json:"signOut"`
		Ellipsis    string  `json:"ellipsis"`
		Title       string  `json:"title"`
		NameText    string  `json:"nameText"`
		RoleText    string  `json:"roleText"`
		BrandBottom float64 `json:"brandBottom"`
		NameTop     float64 `json:"nameTop"`
	}
	got, err := chromedp.Run(step, chromedp.Evaluate[layout](`(() => {
		const q = s => document.querySelector(s);
		const box = el => { const r = el.getBoundingClientRect();
			return {width: r.width, right: r.right, overflow: el.scrollWidth > el.clientWidth}; };
		const name = q('.account .name');
		return {
			viewport: document.documentElement.clientWidth,
			pageWidth: document.documentElement.scrollWidth,
			name: box(name), role: box(q('.account .role')), signOut: box(q('.account button')),
			ellipsis: getComputedStyle(name).textOverflow, title: name.title,
			nameText: name.textContent, roleText: q('.account .role').textContent,
			brandBottom: q('.topbar .brand').getBoundingClientRect().bottom,
			nameTop: name.getBoundingClientRect().top,
		};
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name.Width < 48 || got.NameText != name || got.Title != name {
		t.Errorf("name shown %.0f px wide (text %q, title %q); want it visible, with the full name in text and title", got.Name.Width, got.NameText, got.Title)
	}
	if !got.Name.Overflow || got.Ellipsis != "ellipsis" {
		t.Errorf("a name too long for the screen: overflow %v, text-overflow %q; want it cut with an ellipsis", got.Name.Overflow, got.Ellipsis)
	}
	if got.RoleText != "Admin" || got.Role.Overflow {
		t.Errorf("role badge %q (cut: %v), want Admin in full", got.RoleText, got.Role.Overflow)
	}
	for what, b := range map[string]box{"name": got.Name, "role": got.Role, "sign out": got.SignOut} {
		if b.Right > got.Viewport {
			t.Errorf("%s ends at %.0f px, past the %.0f px screen", what, b.Right, got.Viewport)
		}
	}
	if got.PageWidth > got.Viewport {
		t.Errorf("page is %.0f px wide on a %.0f px screen: it scrolls sideways", got.PageWidth, got.Viewport)
	}
	if got.NameTop >= got.BrandBottom {
		t.Errorf("the account wrapped below the brand (name top %.0f, brand bottom %.0f)", got.NameTop, got.BrandBottom)
	}
	png, err := chromedp.Run(step, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.SaveScreenshot(t, "nav-phone.png", png)
}
