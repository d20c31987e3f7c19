package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
)

// htmxGet is a GET as htmx sends it.
func (c *client) htmxGet(path string) *response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.app.srv.URL+path, nil)
	req.Header.Set("HX-Request", "true")
	return c.do(req)
}

// archivedJob is a member's job that succeeded and was archived.
func (a *testApp) archivedJob(t *testing.T, c *client) db.Job {
	t.Helper()
	job := a.submitted(c)
	a.pollUntil(t, job.ID, db.JobSucceeded)
	if n := a.archiver.ArchiveDue(context.Background()); n != 1 {
		t.Fatalf("archived %d jobs, want 1", n)
	}
	return a.job(job.ID)
}

// An archived file's size and checksum are an admin's business: a member's
// history says only that the video was saved, an admin's shows them apart.
func TestJobHistoryShowsFileDetailsToAdminsOnly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, c)
	path := "/jobs/" + strconv.FormatInt(job.ID, 10)

	page := c.get(path)
	wantStatus(t, page, http.StatusOK)
	history := page.doc.Find("#job-history").Text()
	if !strings.Contains(history, "Saved to the gallery") {
		t.Errorf("member's history %q does not say the video was saved", history)
	}
	if strings.Contains(history, "sha256") || strings.Contains(history, "bytes") {
		t.Errorf("member's history shows the file's details: %q", history)
	}

	admin := app.signedIn("boss@example.com", true)
	page = admin.get(path)
	wantStatus(t, page, http.StatusOK)
	tech := page.doc.Find("#job-history .history-tech")
	if tech.Length() != 1 || !strings.Contains(tech.Text(), "sha256 "+job.ArchiveSHA256) {
		t.Errorf("admin's history: %d file detail lines %q, want one with sha256 %s", tech.Length(), tech.Text(), job.ArchiveSHA256)
	}
	if strings.Contains(page.doc.Find("#job-history .history-detail").Text(), "sha256") {
		t.Error("the checksum is in the history's headline detail, want it apart")
	}
}

// "Swap started. 30 credits are held until it finishes." must not stay above
// a card that says the job is done.
func TestFinishedJobPageDropsTheRunningFlash(t *testing.T) {
	t.Parallel()
	t.Run("the card's final poll removes the flash out of band", func(t *testing.T) {
		app := newTestApp(t, pollingOnly)
		c, _ := app.member("ana@example.com", 100)
		job := app.submitted(c)
		path := "/jobs/" + strconv.FormatInt(job.ID, 10)
		page := c.get(path)
		if !strings.Contains(page.doc.Find("#flashes .flash-success").Text(), "30 credits are held") {
			t.Fatalf("the running job's page lacks its flash in #flashes: %q", page.doc.Find("main").Text())
		}
		running := c.htmxGet(path + "/card?full=1")
		if running.doc.Find("#flashes").Length() != 0 {
			t.Error("a running card's poll touches the flashes")
		}
		app.pollUntil(t, job.ID, db.JobSucceeded)
		res := c.htmxGet(path + "/card?full=1")
		wantStatus(t, res, http.StatusOK)
		oob := res.doc.Find("#flashes")
		if v, _ := oob.Attr("hx-swap-oob"); oob.Length() != 1 || v != "true" || oob.Children().Length() != 0 {
			t.Errorf("final card's answer: %d #flashes, hx-swap-oob %q, %d children; want one empty out-of-band swap",
				oob.Length(), v, oob.Children().Length())
		}
	})
	t.Run("a job final before its page loads shows no running flash", func(t *testing.T) {
		app := newTestApp(t, pollingOnly)
		c, _ := app.member("ana@example.com", 100)
		job := app.submitted(c) // the flash waits in the session
		app.pollUntil(t, job.ID, db.JobSucceeded)
		page := c.get("/jobs/" + strconv.FormatInt(job.ID, 10))
		if txt := page.doc.Find(".flash").Text(); strings.Contains(txt, "held") {
			t.Errorf("finished job's page says %q", txt)
		}
	})
}

// A failed job's card says that it failed, Akool's reason, and that the
// credits held were returned, with the amount.
func TestFailedCardSaysWhyAndWhatWasReturned(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	const reason = "Failed to process the video. Please check your input resources."
	app.sim.FailNextJob(reason)
	job := app.submitted(c)
	app.pollUntil(t, job.ID, db.JobFailed)
	path := "/jobs/" + strconv.FormatInt(job.ID, 10)
	for _, tt := range []struct {
		name string
		res  *response
	}{
		{"job page", c.get(path)},
		{"final poll", c.htmxGet(path + "/card?full=1")},
		{"jobs list", c.get("/jobs")},
	} {
		card := tt.res.doc.Find("article.job-card").First()
		text := strings.Join(strings.Fields(card.Text()), " ")
		for _, want := range []string{"This swap failed.", "Akool's reason: " + reason, "The 30 credits held for it were returned"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: card %q lacks %q", tt.name, text, want)
			}
		}
		if strings.Contains(text, "has ended") {
			t.Errorf("%s: card still says the vague %q", tt.name, text)
		}
	}
	if role, _ := c.htmxGet(path + "/card").doc.Find(".job-card-failure").Attr("role"); role != "alert" {
		t.Errorf("the poll that finds the job failed: role %q, want alert", role)
	}
}

// The result player shows the job's character image as its poster, which
// the CSP's img-src allows.
func TestResultPlayerHasAPoster(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.archivedJob(t, c)
	page := c.get("/jobs/" + strconv.FormatInt(job.ID, 10))
	player := page.doc.Find("video.player")
	if poster, _ := player.Attr("poster"); poster != job.ImageURL || !strings.HasPrefix(poster, "http://") {
		t.Errorf("player poster %q, want the character image %q", poster, job.ImageURL)
	}
	csp := page.Header.Get("Content-Security-Policy")
	var imgSrc string
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "img-src" {
			imgSrc = " " + strings.Join(f[1:], " ") + " "
		}
	}
	if !strings.Contains(imgSrc, " http: ") || !strings.Contains(imgSrc, " https: ") {
		t.Errorf("CSP img-src %q does not allow the poster's http(s) image", imgSrc)
	}
}

// On a phone the members table stacks one card per member; each cell
// carries its column's name for the label it shows there.
func TestAdminUsersCellsNameTheirColumns(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	admin := app.signedIn("boss@example.com", true)
	app.addUser("ana@example.com", "Ana", false)
	page := admin.get("/admin/users")
	wantStatus(t, page, http.StatusOK)
	table := page.doc.Find("table.table-stack")
	if table.Length() != 1 {
		t.Fatal("the members table does not stack on phones (no table.table-stack)")
	}
	var cols []string
	table.Find("thead th").Each(func(_ int, th *goquery.Selection) { cols = append(cols, strings.TrimSpace(th.Text())) })
	rows := table.Find("tbody tr")
	if rows.Length() != 2 {
		t.Fatalf("%d rows, want 2", rows.Length())
	}
	rows.Each(func(i int, tr *goquery.Selection) {
		tr.Find("td").Each(func(j int, td *goquery.Selection) {
			if label, _ := td.Attr("data-label"); j >= len(cols) || label != cols[j] {
				t.Errorf("row %d cell %d: data-label %q, want its column's name", i, j, label)
			}
		})
	})
}

// An admin with no credits is told how to grant them, not to ask an admin.
func TestEmptyDashboardSaysHowToGetCredits(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	for _, tt := range []struct {
		email      string
		admin      bool
		want, lack string
	}{
		{"boss@example.com", true, "grant yourself credits", "Ask an admin"},
		{"ana@example.com", false, "Ask an admin for credits", "grant yourself"},
	} {
		c := app.signedIn(tt.email, tt.admin)
		page := c.get("/")
		wantStatus(t, page, http.StatusOK)
		text := strings.Join(strings.Fields(page.doc.Find(".grid").Text()), " ")
		if !strings.Contains(text, tt.want) || strings.Contains(text, tt.lack) {
			t.Errorf("%s (admin %v): dashboard says %q; want %q and not %q", tt.email, tt.admin, text, tt.want, tt.lack)
		}
		// The admin's hint links to their own member page, where the grant is.
		if tt.admin {
			u, _ := app.store.UserByEmail(context.Background(), tt.email)
			href, _ := page.doc.Find(".grant-hint a").First().Attr("href")
			if want := fmt.Sprintf("/admin/users/%d", u.ID); href != want {
				t.Errorf("grant hint links to %q, want %q", href, want)
			}
		}
	}
}
