package handlers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
)

// jobValues is a valid job form for the test media server.
func (a *testApp) jobValues() url.Values {
	return url.Values{
		fields.ImageURL:   {a.media.url("/character.png")},
		fields.VideoURL:   {a.media.url("/motion.mp4")},
		fields.Mode:       {"animate"},
		fields.Resolution: {"720p"},
		fields.Duration:   {""},
		fields.Prompt:     {""},
	}
}

// member returns a signed-in member with credits.
func (a *testApp) member(email string, credits int64) (*client, db.User) {
	a.t.Helper()
	c := a.signedIn(email, false)
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		a.t.Fatal(err)
	}
	if credits > 0 {
		if _, err := a.store.Grant(context.Background(), u.ID, 0, db.LedgerGrant, credits, "test"); err != nil {
			a.t.Fatal(err)
		}
	}
	return c, u
}

// jobForm loads the form and returns a copy of v with its csrf token and,
// unless v has one, its one-time token, ready to post to /jobs.
func (c *client) jobForm(v url.Values) url.Values {
	c.t.Helper()
	page := c.get("/jobs/new")
	wantStatus(c.t, page, http.StatusOK)
	tok, _ := page.doc.Find(`input[name="csrf"]`).Attr("value")
	idem, _ := page.doc.Find(`input[name="idem"]`).Attr("value")
	form := url.Values{}
	for k, vs := range v {
		form[k] = vs
	}
	form.Set(fields.CSRF, tok)
	if _, ok := v["idem"]; !ok {
		form.Set(fields.Idem, idem)
	}
	return form
}

// submitJob loads the form (for csrf and the one-time token) and posts v.
func (c *client) submitJob(v url.Values) *response {
	c.t.Helper()
	return c.post("/jobs", c.jobForm(v))
}

func (c *client) estimate(v url.Values) *response {
	c.t.Helper()
	tok := c.csrf("/jobs/new")
	return c.post("/jobs/estimate", v, fields.CSRFHeader, tok, "HX-Request", "true")
}

func (a *testApp) balance(userID int64) db.Balance {
	a.t.Helper()
	b, err := a.store.Balance(context.Background(), userID)
	if err != nil {
		a.t.Fatal(err)
	}
	return b
}

func TestNewJobFormHasEveryField(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 50)
	res := c.get("/jobs/new")
	wantStatus(t, res, http.StatusOK)
	for _, name := range []string{fields.ImageURL, fields.VideoURL, fields.Resolution, fields.Duration, fields.Prompt} {
		el := res.doc.Find(fmt.Sprintf(`[name=%q]`, name))
		if el.Length() != 1 {
			t.Errorf("field %s: %d elements", name, el.Length())
			continue
		}
		id, _ := el.Attr("id")
		if res.doc.Find(fmt.Sprintf(`label[for=%q]`, id)).Length() != 1 {
			t.Errorf("field %s has no label", name)
		}
	}
	if got := res.doc.Find(`input[name="mode"]`).Length(); got != 2 {
		t.Errorf("%d mode choices, want 2", got)
	}
	if got := res.doc.Find(`input[name="mode"][value="animate"][checked]`).Length(); got != 1 {
		t.Error("animate is not the default mode")
	}
	if got, _ := res.doc.Find(`select[name="resolution"] option[selected]`).Attr("value"); got != "720p" {
		t.Errorf("default resolution %q, want 720p", got)
	}
	if idem, _ := res.doc.Find(`input[name="idem"]`).Attr("value"); len(idem) < 32 {
		t.Errorf("one-time token %q too short", idem)
	}
	if !strings.Contains(res.doc.Find("#estimate").Text(), "50") {
		t.Errorf("estimate panel does not show the balance: %q", res.doc.Find("#estimate").Text())
	}
	if res.doc.Find(`a[href="/jobs/new?sample=1"]`).Length() != 1 {
		t.Error("sandbox form lacks 'Use sample inputs'")
	}
}

func TestEstimateFollowsResolutionAndDuration(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	tests := []struct {
		resolution, duration string
		credits              string
		after                string
	}{
		// The sample video is 12 s: three blocks (Akool's own example).
		{"480p", "", "15", "85"},
		{"720p", "", "30", "70"},
		{"1080p", "", "45", "55"},
		// A shorter duration than the video bills the duration...
		{"720p", "2", "10", "90"},
		{"720p", "5", "10", "90"},
		{"720p", "5.01", "20", "80"},
		// ...and a longer one bills the video's length.
		{"720p", "60", "30", "70"},
	}
	for _, tt := range tests {
		t.Run(tt.resolution+"/"+tt.duration, func(t *testing.T) {
			v := app.jobValues()
			v.Set(fields.Resolution, tt.resolution)
			v.Set(fields.Duration, tt.duration)
			res := c.estimate(v)
			wantStatus(t, res, http.StatusOK)
			if got := res.doc.Find("#estimate .stat").Text(); got != tt.credits {
				t.Errorf("credits %q, want %q", got, tt.credits)
			}
			if got := res.doc.Find("#estimate dd strong").Text(); got != tt.after {
				t.Errorf("balance after %q, want %q", got, tt.after)
			}
			if res.doc.Find("#estimate img").Length() != 1 || res.doc.Find("#estimate video").Length() != 1 {
				t.Error("previews missing")
			}
		})
	}
	t.Run("empty form complains about nothing yet", func(t *testing.T) {
		res := c.estimate(url.Values{fields.Mode: {"animate"}, fields.Resolution: {"720p"}})
		wantStatus(t, res, http.StatusOK)
		if got := strings.TrimSpace(res.doc.Find(".problems").Text()); got != "" {
			t.Errorf("problems on an empty form: %q", got)
		}
	})
	t.Run("balance too low is shown", func(t *testing.T) {
		poor, _ := app.member("poor@example.com", 5)
		v := app.jobValues()
		v.Set(fields.Resolution, "1080p")
		res := poor.estimate(v)
		if !strings.Contains(res.doc.Find("#estimate [role=alert]").Text(), "does not cover") {
			t.Errorf("no low-balance warning: %q", res.doc.Find("#estimate").Text())
		}
	})
	t.Run("problems appear inline out of band", func(t *testing.T) {
		v := app.jobValues()
		v.Set(fields.ImageURL, app.media.url("/page.html"))
		res := c.estimate(v)
		oob := res.doc.Find(`#image_url-error[hx-swap-oob]`)
		if !strings.Contains(oob.Text(), "web page") {
			t.Errorf("inline image error = %q", oob.Text())
		}
	})
}

func TestSubmitQueuesJobAndHoldsCredits(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Resolution, "1080p")
	v.Set(fields.Duration, "3")
	v.Set(fields.Prompt, "wave hello")
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	page := c.get(loc)
	wantStatus(t, page, http.StatusOK)
	if got := page.doc.Find(".job-card .badge").Text(); got != "Queued" {
		t.Errorf("status badge %q, want Queued", got)
	}
	if !strings.Contains(page.doc.Find(".flash").Text(), "15 credits are held") {
		t.Errorf("flash = %q", page.doc.Find(".flash").Text())
	}
	if got := page.doc.Find(".ledger td.num").Text(); got != "−15" {
		t.Errorf("ledger on the job page = %q, want −15", got)
	}
	if b := app.balance(u.ID); b.Available != 85 || b.Held != 15 {
		t.Errorf("balance %+v, want 85 available, 15 held", b)
	}
	sims := app.sim.Jobs()
	if len(sims) != 1 {
		t.Fatalf("Akool got %d jobs, want 1", len(sims))
	}
	got := sims[0]
	if got.Resolution != "1080p" || got.Mode != "animate" || got.Prompt != "wave hello" || got.Duration != 3 {
		t.Errorf("Akool job %+v; want 1080p animate, prompt, duration 3", got)
	}
	jobs, _ := app.store.RecentJobs(context.Background(), u.ID, 5)
	if len(jobs) != 1 || jobs[0].AkoolID != got.ID || jobs[0].Status != db.JobQueued {
		t.Errorf("stored job %+v, want queued with Akool id %s", jobs, got.ID)
	}
}

func TestResubmitCreatesOneJob(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	v := c.jobForm(app.jobValues())
	var locs []string
	for i := 0; i < 3; i++ {
		res := c.post("/jobs", v)
		wantStatus(t, res, http.StatusSeeOther)
		locs = append(locs, res.Header.Get("Location"))
	}
	if locs[0] != locs[1] || locs[1] != locs[2] {
		t.Errorf("resubmits went to %v, want one job", locs)
	}
	if n := len(app.sim.Jobs()); n != 1 {
		t.Errorf("Akool got %d jobs, want 1", n)
	}
	if b := app.balance(u.ID); b.Held != 30 {
		t.Errorf("held %d, want 30 (one hold)", b.Held)
	}
}

func TestSubmitBadInputWritesNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, unlimitedChecks) // many forms, one member, a frozen clock
	c, u := app.member("ana@example.com", 1000)
	ms := app.media
	tests := []struct {
		name  string
		field string
		value string
		want  string // part of the inline message
	}{
		{"no image", "image_url", "", "Enter the link"},
		{"no video", "video_url", "", "Enter the link"},
		{"credentials in url", "image_url", "http://user:pass@media.test/character.png", "username or password"},
		{"spaces in url", "image_url", "http://media.test/char acter.png", "spaces"},
		{"file url", "video_url", "file:///etc/passwd", "http and https"},
		{"javascript url", "image_url", "javascript:alert(1)", "http and https"},
		{"loopback", "image_url", "http://127.0.0.1/character.png", "not allowed"},
		{"ipv6 loopback", "video_url", "http://[::1]/motion.mp4", "not allowed"},
		{"hex loopback", "image_url", "http://0x7f000001/character.png", "not allowed"},
		{"metadata service", "image_url", "http://169.254.169.254/latest/meta-data/", "not allowed"},
		{"name resolving to 10.0.0.1", "video_url", "http://evil.test/motion.mp4", "not allowed"},
		{"redirect to private", "video_url", ms.url("/to-private"), "not allowed"},
		{"mp4 that is html", "video_url", ms.url("/fake.mp4"), "web page"},
		{"image that is html", "image_url", ms.url("/page.html"), "web page"},
		{"image that is a video", "image_url", ms.url("/motion.mp4"), ""},
		{"missing file", "video_url", ms.url("/nope.mp4"), "404"},
		{"prompt of 501", "prompt", strings.Repeat("a", 501), "at most 500"},
		{"duration abc", "duration", "abc", "from 1 to 120"},
		{"duration 0", "duration", "0", "from 1 to 120"},
		{"duration 121", "duration", "121", "from 1 to 120"},
		{"mode bogus", "mode", "dance", "animate or replace"},
		{"resolution 4k", "resolution", "4k", "480p, 720p or 1080p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ms.requests()
			v := app.jobValues()
			v.Set(tt.field, tt.value)
			res := c.submitJob(v)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			msg := res.doc.Find("#" + tt.field + "-error").Text()
			if msg == "" || !strings.Contains(msg, tt.want) {
				t.Errorf("inline error on %s = %q, want it to mention %q", tt.field, msg, tt.want)
			}
			if got, _ := res.doc.Find(fmt.Sprintf(`[name=%q]`, tt.field)).Attr("aria-invalid"); got != "true" && tt.field != "mode" {
				t.Errorf("%s not marked aria-invalid", tt.field)
			}
			// The member's values are kept.
			if tt.field == "prompt" {
				if got := res.doc.Find("#prompt").Text(); got != tt.value {
					t.Errorf("prompt not kept")
				}
			} else if tt.field != "mode" && tt.field != "resolution" {
				if got, _ := res.doc.Find("#" + tt.field).Attr("value"); got != tt.value {
					t.Errorf("%s value %q not kept (got %q)", tt.field, tt.value, got)
				}
			}
			if strings.Contains(tt.name, "private") || strings.Contains(tt.name, "loopback") || strings.Contains(tt.name, "10.0.0.1") {
				// Only the redirecting page itself may have been fetched.
				if extra := ms.requests() - before; extra > 2 {
					t.Errorf("%d fetches for a forbidden address", extra)
				}
			}
		})
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 0 {
		t.Errorf("%d jobs written by invalid submits", n)
	}
	if b := app.balance(u.ID); b.Held != 0 || b.Available != 1000 {
		t.Errorf("balance %+v after invalid submits, want nothing held", b)
	}
	if n := len(app.sim.Jobs()); n != 0 {
		t.Errorf("Akool got %d jobs from invalid submits", n)
	}
}

func TestSubmitEscapesWhatItEchoes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Prompt, `<script>alert(1)</script>`+strings.Repeat("x", 500))
	v.Set(fields.ImageURL, `http://media.test/"><script>alert(2)</script>.png`)
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if strings.Contains(res.body, "<script>alert") {
		t.Fatal("user text echoed unescaped")
	}
}

func TestSubmitWithoutEnoughCredits(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 9)
	res := c.submitJob(app.jobValues()) // 30 credits at 720p
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.doc.Find(".flash-error").Text(), "balance of 9 credits does not cover") {
		t.Errorf("flash = %q", res.doc.Find(".flash-error").Text())
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 0 || len(app.sim.Jobs()) != 0 {
		t.Error("a job was written or sent without credits")
	}
	if b := app.balance(u.ID); b.Available != 9 {
		t.Errorf("available %d, want 9", b.Available)
	}
}

func TestAkoolRejectionReleasesHold(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	app.sim.InjectCall(akoolsim.EndpointCreate, akoolsim.CallFault{Code: 1015})
	res := c.submitJob(app.jobValues())
	wantStatus(t, res, http.StatusSeeOther)
	page := c.get(res.Header.Get("Location"))
	if got := page.doc.Find(".job-card .badge").Text(); got != "Not accepted" {
		t.Errorf("badge %q, want Not accepted", got)
	}
	if !strings.Contains(page.doc.Find(".flash-error").First().Text(), "credits were returned") {
		t.Errorf("flash = %q", page.doc.Find(".flash-error").Text())
	}
	if b := app.balance(u.ID); b.Available != 100 || b.Held != 0 {
		t.Errorf("balance %+v, want all 100 back", b)
	}
	kinds := page.doc.Find(".ledger tbody tr td:nth-child(2)").Map(func(_ int, s *goquery.Selection) string { return s.Text() })
	if strings.Join(kinds, ",") != "hold,release" {
		t.Errorf("ledger kinds %v, want hold,release", kinds)
	}
}

func TestJobsAreScopedToTheirOwner(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ana, _ := app.member("ana@example.com", 100)
	bo, _ := app.member("bo@example.com", 100)
	res := ana.submitJob(app.jobValues())
	wantStatus(t, res, http.StatusSeeOther)
	loc := res.Header.Get("Location")
	wantStatus(t, bo.get(loc), http.StatusNotFound)
	wantStatus(t, bo.get("/jobs/abc"), http.StatusNotFound)
	wantStatus(t, bo.get("/jobs/999999"), http.StatusNotFound)
	admin := app.signedIn("boss@example.com", true)
	page := admin.get(loc)
	wantStatus(t, page, http.StatusOK)
	if !strings.Contains(page.doc.Find(".page-head p").Text(), "by User ana@example.com") {
		t.Errorf("admin view does not name the owner: %q", page.doc.Find(".page-head p").Text())
	}
}

func TestFiftyConcurrentSubmitsNeverOverdraw(t *testing.T) {
	t.Parallel()
	// About credits, not the per-member limit on checks.
	app := newTestApp(t, unlimitedChecks)
	c, u := app.member("ana@example.com", 300) // covers exactly 10 jobs of 30 credits
	tok := c.csrf("/jobs/new")
	var wg sync.WaitGroup
	codes := make(chan int, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			v := app.jobValues()
			v.Set(fields.CSRF, tok)
			v.Set(fields.Idem, fmt.Sprintf("concurrent-submit-%04d", i))
			res, err := c.http.PostForm(app.srv.URL+"/jobs", v)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}(i)
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for code := range codes {
		count[code]++
	}
	if count[http.StatusSeeOther] != 10 || count[http.StatusUnprocessableEntity] != 40 {
		t.Errorf("statuses %v, want 10×303 and 40×422", count)
	}
	b := app.balance(u.ID)
	if b.Available != 0 || b.Held != 300 {
		t.Errorf("balance %+v, want 0 available, 300 held", b)
	}
	if n := len(app.sim.Jobs()); n != 10 {
		t.Errorf("Akool got %d jobs, want 10", n)
	}
}

// Akool answering with a code refuses the job; no usable answer (a proxy's
// 5xx, a hang) leaves it unknown, so the job is interrupted. Either way the
// hold comes back.
func TestCreateOutcomesWithoutAJob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fault      akoolsim.CallFault
		wantStatus db.JobStatus
		wantBadge  string
		wantText   string
	}{
		{"busy", akoolsim.CallFault{Code: 1005}, db.JobRejected, "Not accepted", "busy"},
		{"out of credits", akoolsim.CallFault{Code: 1104}, db.JobRejected, "Not accepted", "credits"},
		{"proxy error", akoolsim.CallFault{HTTPStatus: 502}, db.JobInterrupted, "Interrupted", "may or may not have started"},
		{"no answer", akoolsim.CallFault{Hang: true}, db.JobInterrupted, "Interrupted", "may or may not have started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newTestApp(t, func(o *appOptions) { o.submitTimeout = 300 * time.Millisecond })
			c, u := app.member("ana@example.com", 100)
			app.sim.InjectCall(akoolsim.EndpointCreate, tt.fault)
			res := c.submitJob(app.jobValues())
			wantStatus(t, res, http.StatusSeeOther)
			page := c.get(res.Header.Get("Location"))
			jobs, _ := app.store.RecentJobs(context.Background(), u.ID, 1)
			if len(jobs) != 1 || jobs[0].Status != tt.wantStatus {
				t.Fatalf("job %+v, want %s", jobs, tt.wantStatus)
			}
			if got := page.doc.Find(".job-card .badge").Text(); got != tt.wantBadge {
				t.Errorf("badge %q, want %q", got, tt.wantBadge)
			}
			if msg := strings.ToLower(page.doc.Find(".flash-error").Text()); !strings.Contains(msg, tt.wantText) {
				t.Errorf("flash %q lacks %q", msg, tt.wantText)
			}
			if b := app.balance(u.ID); b.Available != 100 || b.Held != 0 {
				t.Errorf("balance %+v, want the hold released", b)
			}
		})
	}
}

// probeSpy wraps the app's prober: it counts probes, and answers for
// media.test/long.mp4 as for a 130.5 s video, media.test/over.mp4 for 15.4 s.
type probeSpy struct {
	jobs.Prober
	images, videos atomic.Int64
}

const longVideo = "http://media.test/long.mp4"

// overVideo is 15.4 s: 0.4 s into its fourth 5-second block.
const overVideo = "http://media.test/over.mp4"

func (p *probeSpy) ProbeImage(ctx context.Context, raw string) (media.ImageInfo, error) {
	p.images.Add(1)
	return p.Prober.ProbeImage(ctx, raw)
}

func (p *probeSpy) ProbeVideo(ctx context.Context, raw string) (media.VideoInfo, error) {
	p.videos.Add(1)
	switch raw {
	case longVideo:
		return media.VideoInfo{Duration: 130.5, Width: 320, Height: 240, Codec: "avc1", Size: 1 << 20, FastStart: true}, nil
	case overVideo:
		return media.VideoInfo{Duration: 15.4, Width: 320, Height: 240, Codec: "avc1", Size: 1 << 20, FastStart: true}, nil
	}
	return p.Prober.ProbeVideo(ctx, raw)
}

func withProbeSpy(spy *probeSpy) func(*appOptions) {
	return func(o *appOptions) {
		o.jobs = func(c *jobs.Config) {
			spy.Prober = c.Probe
			c.Probe = spy
		}
	}
}

func TestSubmitEveryFieldInvalidAtOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 1000)
	v := url.Values{
		fields.ImageURL:   {""},
		fields.VideoURL:   {"file:///etc/passwd"},
		fields.Mode:       {"dance"},
		fields.Resolution: {"4k"},
		fields.Duration:   {"abc"},
		fields.Prompt:     {strings.Repeat("a", 501)},
	}
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	want := map[string]string{
		fields.ImageURL:   "Enter the link",
		fields.VideoURL:   "http and https",
		fields.Mode:       "animate or replace",
		fields.Resolution: "480p, 720p or 1080p",
		fields.Duration:   "from 1 to 120",
		fields.Prompt:     "at most 500",
	}
	for field, part := range want {
		if msg := res.doc.Find("#" + field + "-error").Text(); !strings.Contains(msg, part) {
			t.Errorf("%s message %q, want it to mention %q", field, msg, part)
		}
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 0 || len(app.sim.Jobs()) != 0 {
		t.Errorf("%d jobs written, %d sent", n, len(app.sim.Jobs()))
	}
	if b := app.balance(u.ID); b.Held != 0 {
		t.Errorf("held %d", b.Held)
	}
}

// A video longer than 120 s is usable: the member is asked, next to the
// duration, for a duration of at most 120.
func TestSubmitVideoLongerThan120Seconds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, withProbeSpy(&probeSpy{}))
	c, _ := app.member("ana@example.com", 1000)
	v := app.jobValues()
	v.Set(fields.VideoURL, longVideo)
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	want := "The video is 130.5 s long — set a duration of at most 120 to use the first 120 s."
	if got := res.doc.Find("#duration-error").Text(); got != want {
		t.Errorf("duration message %q, want %q", got, want)
	}
	if got := res.doc.Find("#video_url-error").Text(); got != "" {
		t.Errorf("video message %q, want none", got)
	}
	if got, _ := res.doc.Find("#duration").Attr("aria-invalid"); got != "true" {
		t.Errorf("duration aria-invalid = %q", got)
	}
	est := c.estimate(v)
	if got := est.doc.Find(`#duration-error[hx-swap-oob]`).Text(); got != want {
		t.Errorf("estimate: inline duration message %q, want %q", got, want)
	}
	v.Set(fields.Duration, "60")
	wantStatus(t, c.submitJob(v), http.StatusSeeOther)
}

// A malformed one-time token is the form's problem: 422 with a new token,
// never a 500.
func TestSubmitMalformedToken(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	for _, tok := range []string{"short", strings.Repeat("z", 65)} {
		v := app.jobValues()
		v.Set(fields.Idem, tok)
		res := c.submitJob(v)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if msg := res.doc.Find(".flash-error").Text(); !strings.Contains(msg, "This form was out of date") {
			t.Errorf("flash %q", msg)
		}
		if idem, _ := res.doc.Find(`input[name="idem"]`).Attr("value"); len(idem) < 32 || idem == tok {
			t.Errorf("token in the re-rendered form %q, want a new one", idem)
		}
		if got, _ := res.doc.Find("#image_url").Attr("value"); got != v.Get(fields.ImageURL) {
			t.Errorf("image link not kept: %q", got)
		}
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 0 {
		t.Errorf("%d jobs written", n)
	}
}

// Submit at 720p, go Back, switch to 1080p, submit the same form again: the
// member is told, and nothing is written or sent.
func TestResubmitWithOtherInputsIsRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	v := c.jobForm(app.jobValues())
	first := c.post("/jobs", v)
	wantStatus(t, first, http.StatusSeeOther)
	id := strings.TrimPrefix(first.Header.Get("Location"), "/jobs/")

	v.Set(fields.Resolution, "1080p")
	res := c.post("/jobs", v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	// The page is the answer to a POST: it must not say to reload it (that
	// posts the same form again), and it links to the job.
	want := "This form already started Swap #" + id + ", with other values; nothing new was started. To start another swap with the values below, press Start swap again."
	if got := strings.TrimSpace(res.doc.Find(".flash-error").Text()); got != want {
		t.Errorf("flash %q, want %q", got, want)
	}
	if got := res.doc.Find(".flash-error a[href='/jobs/" + id + "']").Text(); got != "Swap #"+id {
		t.Errorf("link to the job %q, want Swap #%s", got, id)
	}
	if got, _ := res.doc.Find(`select[name="resolution"] option[selected]`).Attr("value"); got != "1080p" {
		t.Errorf("resolution shown %q, want the member's 1080p", got)
	}
	if newIdem, _ := res.doc.Find(`input[name="idem"]`).Attr("value"); newIdem == v.Get(fields.Idem) || len(newIdem) < 32 {
		t.Errorf("token %q, want a new one", newIdem)
	}
	if n, _ := app.store.CountJobs(context.Background()); n != 1 || len(app.sim.Jobs()) != 1 {
		t.Errorf("%d jobs written, %d sent; want 1 and 1", n, len(app.sim.Jobs()))
	}
	if b := app.balance(u.ID); b.Held != 30 {
		t.Errorf("held %d, want 30", b.Held)
	}
	// The same inputs again still lead to the job.
	v.Set(fields.Resolution, "720p")
	again := c.post("/jobs", v)
	wantStatus(t, again, http.StatusSeeOther)
	if loc := again.Header.Get("Location"); loc != "/jobs/"+id {
		t.Errorf("same inputs went to %s, want /jobs/%s", loc, id)
	}
	// What the page says works: Start swap on it starts another swap.
	second := url.Values{}
	res.doc.Find("#job-form input[name], #job-form select[name]").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		if typ, _ := s.Attr("type"); typ == "radio" && s.AttrOr("checked", "-") == "-" {
			return
		}
		val, _ := s.Attr("value")
		if s.Is("select") {
			val, _ = s.Find("option[selected]").Attr("value")
		}
		second.Set(name, val)
	})
	started := c.post("/jobs", second)
	wantStatus(t, started, http.StatusSeeOther)
	if loc := started.Header.Get("Location"); loc == "/jobs/"+id {
		t.Errorf("Start swap on the refused form went to the first job %s, want a new one", loc)
	}
	if got := app.sim.Jobs(); len(got) != 2 || got[1].Resolution != "1080p" {
		t.Errorf("Akool got %d jobs, want a second one at 1080p", len(got))
	}
}

// Browsers count a line break as one character but send CRLF: a prompt the
// live counter shows as 500 / 500 is accepted, and Akool gets "\n".
func TestSubmitPromptWithCRLFLineBreaks(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Prompt, strings.Repeat("abcd\r\n", 99)+"abcde")
	wantStatus(t, c.submitJob(v), http.StatusSeeOther)
	sims := app.sim.Jobs()
	if len(sims) != 1 {
		t.Fatalf("Akool got %d jobs", len(sims))
	}
	if want := strings.Repeat("abcd\n", 99) + "abcde"; sims[0].Prompt != want {
		t.Errorf("Akool got prompt %q…, want line breaks as \\n", sims[0].Prompt[:20])
	}
}

// A long prompt in a script of three-byte characters is reported as too
// long, and comes back whole (it used to be cut at 8 KiB mid-character and
// then called "not text").
func TestSubmitLongCJKPromptIsKeptWhole(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	prompt := strings.Repeat("猫が踊る", 750) // 3000 characters, 9000 bytes
	v := app.jobValues()
	v.Set(fields.Prompt, prompt)
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if got, want := res.doc.Find("#prompt-error").Text(), "Shorten the prompt to at most 500 characters (it has 3000)."; got != want {
		t.Errorf("prompt message %q, want %q", got, want)
	}
	if got := res.doc.Find("#prompt").Text(); got != prompt {
		t.Errorf("prompt re-rendered with %d characters, want all 3000 intact", len([]rune(got)))
	}
	if got := res.doc.Find("#prompt-count").Text(); got != "3000 / 500" {
		t.Errorf("counter %q", got)
	}
}

// Each estimate may probe links, so a member's estimates are rate limited:
// past the limit the panel says so (429) and nothing is checked.
func TestEstimateRateLimit(t *testing.T) {
	t.Parallel()
	spy := &probeSpy{}
	app := newTestApp(t, withProbeSpy(spy), func(o *appOptions) {
		inner := o.jobs
		o.jobs = func(c *jobs.Config) {
			inner(c)
			c.EstimateRate, c.EstimateBurst = 1, 2
		}
	})
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	for range 2 {
		wantStatus(t, c.estimate(v), http.StatusOK)
	}
	probes := spy.images.Load() + spy.videos.Load()
	res := c.estimate(v)
	wantStatus(t, res, http.StatusTooManyRequests)
	if msg := res.doc.Find("#estimate [role=status]").Text(); !strings.Contains(msg, "Too many estimates") {
		t.Errorf("panel %q, want the rate-limit notice", res.doc.Find("#estimate").Text())
	}
	if res.doc.Find(`.field-error[hx-swap-oob]`).Length() != 0 {
		t.Error("a refused estimate must leave the inline messages alone")
	}
	if got := res.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q", got)
	}
	if n := spy.images.Load() + spy.videos.Load(); n != probes {
		t.Errorf("a refused estimate probed %d times", n-probes)
	}
	// htmx swaps the 429 into the panel only if its configuration says so.
	cfgJSON, _ := c.get("/jobs/new").doc.Find(`meta[name="htmx-config"]`).Attr("content")
	var hcfg struct {
		ResponseHandling []struct {
			Code string
			Swap bool
		}
	}
	if err := json.Unmarshal([]byte(cfgJSON), &hcfg); err != nil {
		t.Fatalf("htmx-config %q: %v", cfgJSON, err)
	}
	swaps429 := false
	for _, r := range hcfg.ResponseHandling {
		if r.Code == "429" {
			swaps429 = r.Swap
			break
		}
	}
	if !swaps429 {
		t.Errorf("htmx-config %s does not swap 429 answers", cfgJSON)
	}
	// Another member is not affected; time refills the bucket.
	other, _ := app.member("bo@example.com", 100)
	wantStatus(t, other.estimate(v), http.StatusOK)
	app.clock.Advance(time.Second)
	wantStatus(t, c.estimate(v), http.StatusOK)
}

// A refused submit shows the check Submit made: each link is probed once,
// not checked a second time to render the form.
func TestRefusedSubmitProbesOnce(t *testing.T) {
	t.Parallel()
	spy := &probeSpy{}
	app := newTestApp(t, withProbeSpy(spy))
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Duration, "abc")
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if i, vd := spy.images.Load(), spy.videos.Load(); i != 1 || vd != 1 {
		t.Errorf("probes: %d image, %d video; want 1 and 1", i, vd)
	}
	if res.doc.Find("#estimate img").Length() != 1 {
		t.Error("the estimate panel lacks the image preview from the check")
	}
}
