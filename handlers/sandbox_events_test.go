package handlers_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/internal/fields"
)

// The sandbox sends a status 2 (processing) webhook, as Akool's webhook
// docs list: through the real endpoint it moves the queued job to
// processing once a poll confirms it, and settles nothing; completion then
// settles once.
func TestProcessingWebhookFromTheSandbox(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(o *appOptions) { o.processingWebhooks = true })
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()

	app.clock.Advance(5 * time.Second) // the emulator's QueueDelay: Akool starts processing
	app.sim.Step()
	eventually(t, "the processing webhook", func() bool { return app.webhooks() >= 1 })
	if got := app.job(job.ID); got.Status != db.JobQueued {
		t.Fatalf("after the webhook alone: %s, want queued until a poll confirms", got.Status)
	}
	app.tracker.PollDue(ctx)
	if got := app.job(job.ID); got.Status != db.JobProcessing {
		t.Fatalf("after the poll: %s, want processing", got.Status)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30" {
		t.Errorf("ledger while processing: %s, want only the hold", k)
	}
	if b := app.balance(u.ID); b.Held != 30 || b.Spent != 0 {
		t.Errorf("balance while processing %+v, want 30 held, nothing spent", b)
	}

	app.finishOnAkool()
	eventually(t, "the completion webhook", func() bool { return app.webhooks() >= 2 })
	app.tracker.PollDue(ctx)
	if got := app.job(job.ID); got.Status != db.JobSucceeded {
		t.Fatalf("after completion: %s, want succeeded", got.Status)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger after completion: %s", k)
	}
}

// The README's sandbox trigger: "[akoolsim:fail]" in the prompt makes the
// sandbox accept the job and fail it when processing ends; the member's
// hold comes back and the card says why.
func TestSandboxFailPrompt(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Prompt, "wave hello [akoolsim:fail]")
	res := c.submitJob(v)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d\n%s", res.StatusCode, snippet(res.body))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	if got := app.job(id); got.Status != db.JobQueued {
		t.Fatalf("after submit: %s, want queued (Akool accepts the job)", got.Status)
	}
	got := app.pollUntil(t, id, db.JobFailed)
	if !strings.Contains(got.ErrorMessage, "akoolsim: magic prompt") {
		t.Errorf("reason %q, want the sandbox's", got.ErrorMessage)
	}
	if k := app.ledgerKinds(id); k != "hold:-30,release:30" {
		t.Errorf("ledger %s, want the hold released and no charge", k)
	}
	if b := app.balance(u.ID); b.Available != 100 {
		t.Errorf("available %d, want all 100 back", b.Available)
	}
}
