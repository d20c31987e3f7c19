package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
)

// An empty submit marks both links: their messages come from the submit,
// are marked so the page keeps them through the estimates htmx sends (see
// static/app.js), and the fields are aria-invalid. The estimates' own
// out-of-band messages are never marked, so a changed field's message
// follows the estimate.
func TestEmptySubmitMarksBothLinks(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	res := c.submitJob(url.Values{fields.Mode: {"animate"}, fields.Resolution: {"720p"}, fields.Duration: {""}, fields.Prompt: {""}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	for _, name := range []string{fields.ImageURL, fields.VideoURL} {
		msg := res.doc.Find("#" + name + "-error")
		if got := msg.Text(); !strings.HasPrefix(got, "Enter the link") {
			t.Errorf("%s message %q, want Enter the link…", name, got)
		}
		if _, ok := msg.Attr("data-from-submit"); !ok {
			t.Errorf("%s message not marked data-from-submit: an estimate would blank it", name)
		}
		if got, _ := res.doc.Find("#" + name).Attr("aria-invalid"); got != "true" {
			t.Errorf("%s aria-invalid = %q, want true", name, got)
		}
	}
	for _, name := range []string{fields.Mode, fields.Resolution, fields.Duration, fields.Prompt} {
		if _, ok := res.doc.Find("#" + name + "-error").Attr("data-from-submit"); ok {
			t.Errorf("%s has no message but is marked data-from-submit", name)
		}
	}
	v := app.jobValues()
	v.Set(fields.ImageURL, app.media.url("/page.html"))
	est := c.estimate(v)
	wantStatus(t, est, http.StatusOK)
	if n := est.doc.Find("[data-from-submit]").Length(); n != 0 {
		t.Errorf("estimate marks %d messages as from a submit", n)
	}
}

// -5, 0 and 0.5 used to get three different messages for one rule. Every
// bad duration gets the same one, on submit and in the estimate, and the
// hint states the same rule.
func TestDurationMessagesAgree(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, unlimitedChecks) // many forms, one member, a frozen clock
	c, _ := app.member("ana@example.com", 100)
	const want = "The duration must be whole or decimal seconds from 1 to 120, like 12 or 12.5."
	for _, d := range []string{"-5", "0", "0.5", "121", "abc", "1e2"} {
		t.Run(d, func(t *testing.T) {
			v := app.jobValues()
			v.Set(fields.Duration, d)
			res := c.submitJob(v)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if got := res.doc.Find("#duration-error").Text(); got != want {
				t.Errorf("submit: %q, want %q", got, want)
			}
			est := c.estimate(v)
			if got := est.doc.Find("#duration-error[hx-swap-oob]").Text(); got != want {
				t.Errorf("estimate: %q, want %q", got, want)
			}
		})
	}
	hint := c.get("/jobs/new").doc.Find("#duration-hint").Text()
	if !strings.Contains(hint, "Whole or decimal seconds from 1 to 120") {
		t.Errorf("duration hint %q does not state the rule", hint)
	}
}

// The price sits next to Start swap (before it), on the page and in every
// estimate, so a phone, whose estimate panel comes after the form, shows it
// before the button is pressed.
func TestPriceNextToStartSwap(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	page := c.get("/jobs/new")
	wantStatus(t, page, http.StatusOK)
	actions := page.doc.Find("#job-form .form-actions")
	if actions.Children().First().Is("#estimate-summary") == false || actions.Find("button[type=submit]").Length() != 1 {
		t.Fatalf("form actions do not start with the price summary: %q", actions.Text())
	}
	if got := strings.Join(strings.Fields(page.doc.Find("#estimate-summary").Text()), " "); got != "Enter both links to see the cost. Your balance: 100 credits." {
		t.Errorf("summary on a blank form %q", got)
	}
	est := c.estimate(app.jobValues())
	sum := est.doc.Find(`#estimate-summary[hx-swap-oob="true"]`)
	if got := strings.Join(strings.Fields(sum.Text()), " "); got != "Costs 30 credits. Your balance after: 70." {
		t.Errorf("summary in the estimate %q, want the price and the balance after", got)
	}
	poor, _ := app.member("poor@example.com", 20)
	sum = poor.estimate(app.jobValues()).doc.Find("#estimate-summary")
	if got := strings.Join(strings.Fields(sum.Text()), " "); got != "Costs 30 credits, more than your balance of 20." || !sum.HasClass("price-short") {
		t.Errorf("short summary %q (class %q)", got, sum.AttrOr("class", ""))
	}
}

// 15.4 s at 720p bills four blocks; the estimate offers 15 s for three. The
// offer is a link to the form with that duration (without JavaScript it
// works as it is), and taking it prices 15 s with no further offer.
func TestMoneySaverOffersTheShorterLength(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, withProbeSpy(&probeSpy{}))
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.VideoURL, overVideo)
	v.Set(fields.Prompt, "wave & smile")
	est := c.estimate(v)
	wantStatus(t, est, http.StatusOK)
	if got := est.doc.Find("#estimate .stat").Text(); got != "40" {
		t.Fatalf("15.4 s at 720p costs %q, want 40", got)
	}
	saver := est.doc.Find(`#estimate a[data-set-duration]`)
	if got := saver.Text(); got != "Use 15 s and save 10 credits" {
		t.Errorf("saver %q, want Use 15 s and save 10 credits", got)
	}
	if got, _ := saver.Attr("data-set-duration"); got != "15" {
		t.Errorf("data-set-duration %q, want 15", got)
	}
	href, _ := saver.Attr("href")
	u, err := url.Parse(href)
	if err != nil || u.Path != "/jobs/new" || u.Query().Get(fields.Duration) != "15" || u.Query().Get(fields.VideoURL) != overVideo ||
		u.Query().Get(fields.Prompt) != "wave & smile" || u.Query().Get(fields.Resolution) != "720p" {
		t.Fatalf("saver link %q, want the form with duration 15 and the member's values", href)
	}
	form := c.get(href)
	wantStatus(t, form, http.StatusOK)
	if got, _ := form.doc.Find("#duration").Attr("value"); got != "15" {
		t.Errorf("the link's form has duration %q, want 15", got)
	}
	v.Set(fields.Duration, "15")
	est = c.estimate(v)
	if got := est.doc.Find("#estimate .stat").Text(); got != "30" {
		t.Errorf("15 s costs %q, want 30", got)
	}
	if n := est.doc.Find(`[data-set-duration]`).Length(); n != 0 {
		t.Errorf("still %d offers at 15 s", n)
	}
	// The sample's 12 s is 2 s into its last block: no offer.
	if n := c.estimate(app.jobValues()).doc.Find(`[data-set-duration]`).Length(); n != 0 {
		t.Errorf("offer for 12 s")
	}
	// A typed 10.5 s is offered 10 s too.
	v = app.jobValues()
	v.Set(fields.Duration, "10.5")
	if got := c.estimate(v).doc.Find(`[data-set-duration]`).AttrOr("data-set-duration", ""); got != "10" {
		t.Errorf("offer for a typed 10.5 s: %q, want 10", got)
	}
	// Submitting the shorter length sends it to Akool, which bills it.
	v = app.jobValues()
	v.Set(fields.VideoURL, overVideo)
	v.Set(fields.Duration, "15")
	wantStatus(t, c.submitJob(v), http.StatusSeeOther)
	if sims := app.sim.Jobs(); len(sims) != 1 || sims[0].Duration != 15 {
		t.Errorf("Akool got %+v, want one job with duration 15", sims)
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 1 {
		t.Errorf("%d jobs", n)
	}
}

// A refused estimate (too many) replaces the price by the button with the
// notice: an old price must not stand next to Start swap for new values.
func TestRefusedEstimateClearsThePriceByTheButton(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) {
		o.jobs = func(c *jobs.Config) { c.EstimateRate, c.EstimateBurst = 1, 1 }
	})
	c, _ := app.member("ana@example.com", 100)
	wantStatus(t, c.estimate(app.jobValues()), http.StatusOK)
	res := c.estimate(app.jobValues())
	wantStatus(t, res, http.StatusTooManyRequests)
	sum := res.doc.Find(`#estimate-summary[hx-swap-oob="true"]`)
	if got := sum.Text(); !strings.Contains(got, "Too many estimates") || strings.Contains(got, "Costs") {
		t.Errorf("price by the button after a refused estimate: %q, want the notice", got)
	}
}
