package views

import (
	"bytes"
	"context"
	"testing"

	"swapdesk/internal/jobstatus"
)

// ListCard writes exactly what the templ reference Card does for a list's
// card, in every branch, with text that needs escaping in every field
// that carries text.
func TestListCardMatchesTempl(t *testing.T) {
	hostile := `<script>alert("x & 'y'")</script>`
	base := JobCard{ID: 42, Status: jobstatus.Succeeded, Summary: "720p · animate · 12 s", Elapsed: "took 3 min",
		Final: true, Own: true, Credits: "60 credits charged", ThumbURL: "/media/42/poster", PlayURL: "/media/42",
		DownloadURL: "/media/42?download=1"}
	with := func(f func(*JobCard)) JobCard {
		c := base
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		card JobCard
	}{
		{"succeeded, archived", base},
		{"running", with(func(c *JobCard) {
			c.Status, c.Final, c.ThumbURL, c.Elapsed, c.Credits = jobstatus.Processing, false, "", "running for 5 s", "60 credits held"
		})},
		{"queued, another's", with(func(c *JobCard) {
			c.Status, c.Final, c.Own, c.Owner, c.ThumbURL = jobstatus.Queued, false, false, "Bo", ""
		})},
		{"archiving, Akool's copy", with(func(c *JobCard) {
			c.Archiving, c.ArchiveNote, c.ExpiresIn, c.ThumbURL = true, "Saving a copy to the team gallery…", "in 6 days", "/media/42/image"
		})},
		{"just finished", with(func(c *JobCard) { c.JustFinished = true })},
		{"just ended without a video", with(func(c *JobCard) {
			c.JustFinished, c.Status, c.ThumbURL = true, jobstatus.Interrupted, ""
		})},
		{"failed", with(func(c *JobCard) {
			c.Status, c.Error, c.Refund, c.ThumbURL = jobstatus.Failed, "face not found", "The 60 credits held for it were returned; nothing was charged.", ""
		})},
		{"failed just now, no reason", with(func(c *JobCard) {
			c.Status, c.JustFinished, c.ThumbURL = jobstatus.Failed, true, ""
		})},
		{"rejected with an error", with(func(c *JobCard) {
			c.Status, c.Error, c.ThumbURL = jobstatus.Rejected, "bad link", ""
		})},
		{"expired archive", with(func(c *JobCard) {
			c.ArchiveNote, c.ThumbURL = "Akool deleted its copy before Swapdesk could save one.", ""
		})},
		{"hostile text everywhere", with(func(c *JobCard) {
			c.Summary, c.Elapsed, c.Owner, c.Credits, c.Error, c.Refund, c.ExpiresIn, c.ArchiveNote = hostile, hostile, hostile, hostile, hostile, hostile, hostile, hostile
			c.ThumbURL = `/x?a=1&b="2"`
		})},
		{"hostile failure", with(func(c *JobCard) {
			c.Status, c.Error, c.Refund = jobstatus.Failed, hostile, hostile
		})},
		{"unsafe thumbnail URL", with(func(c *JobCard) { c.ThumbURL = "javascript:alert(1)" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := Card(tc.card).Render(context.Background(), &want); err != nil {
				t.Fatal(err)
			}
			if err := ListCard(tc.card).Render(context.Background(), &got); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Errorf("ListCard wrote\n%s\nthe templ reference writes\n%s", got.String(), want.String())
			}
		})
	}
}
