package handlers_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/fields"
)

// eventually waits (in real time, bounded) for cond; webhooks are delivered
// by the emulator's own goroutines.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// submitted submits a valid job and returns it.
func (a *testApp) submitted(c *client) db.Job {
	a.t.Helper()
	res := c.submitJob(a.jobValues())
	if res.StatusCode != http.StatusSeeOther {
		a.t.Fatalf("submit: %d\n%s", res.StatusCode, snippet(res.body))
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	return a.job(id)
}

func (a *testApp) job(id int64) db.Job {
	a.t.Helper()
	j, err := a.store.JobByID(context.Background(), id)
	if err != nil {
		a.t.Fatal(err)
	}
	return j
}

// finishOnAkool moves the emulator's clock past queue and processing.
func (a *testApp) finishOnAkool() {
	a.clock.Advance(26 * time.Second)
	a.sim.Step()
}

// pollUntil advances the clock and polls until job id reaches status. The
// emulator checks inputs over real HTTP in the background, so each round
// also gives it a moment of real time.
func (a *testApp) pollUntil(t *testing.T, id int64, status db.JobStatus) db.Job {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		j := a.job(id)
		if j.Status == status {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s, want %s", id, j.Status, status)
		}
		a.clock.Advance(5 * time.Second)
		a.sim.Step()
		a.tracker.PollDue(ctx)
		time.Sleep(2 * time.Millisecond)
	}
}

func (a *testApp) webhooks() int {
	n, _ := a.store.CountWebhooks(context.Background())
	return n
}

func (a *testApp) ledgerKinds(jobID int64) string {
	a.t.Helper()
	es, err := a.store.LedgerForJob(context.Background(), jobID)
	if err != nil {
		a.t.Fatal(err)
	}
	var k []string
	for _, e := range es {
		k = append(k, e.Kind+":"+strconv.FormatInt(e.Amount, 10))
	}
	return strings.Join(k, ",")
}

func TestWebhookFinishesSettlesAndArchives(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()

	app.finishOnAkool()
	eventually(t, "Akool's webhook", func() bool { return app.webhooks() >= 1 })
	// The webhook is a hint: it schedules a poll, it applies nothing itself.
	if got := app.job(job.ID); got.Status == db.JobSucceeded {
		t.Fatal("the webhook applied a state without confirming by poll")
	}
	if n := app.tracker.PollDue(ctx); n != 1 {
		t.Fatalf("polled %d jobs after the webhook, want 1", n)
	}
	got := app.job(job.ID)
	if got.Status != db.JobSucceeded || got.ChargedCredits == nil || *got.ChargedCredits != 30 || got.ArchiveState != db.ArchivePending {
		t.Fatalf("after the webhook: %s charged %v archive %q", got.Status, got.ChargedCredits, got.ArchiveState)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger %s", k)
	}
	if b := app.balance(u.ID); b.Available != 70 || b.Held != 0 || b.Spent != 30 {
		t.Errorf("balance %+v, want 70 available, 30 spent", b)
	}

	if n := app.archiver.ArchiveDue(ctx); n != 1 {
		t.Fatalf("archived %d, want 1", n)
	}
	got = app.job(job.ID)
	if got.ArchiveState != db.ArchiveDone || got.ArchiveSize == 0 || len(got.ArchiveSHA256) != 64 {
		t.Fatalf("archive state %q size %d sha %q", got.ArchiveState, got.ArchiveSize, got.ArchiveSHA256)
	}
	onDisk, err := os.ReadFile(filepath.Join(app.mediaDir, got.ArchivePath))
	if err != nil || int64(len(onDisk)) != got.ArchiveSize {
		t.Fatalf("archived file: %v, %d bytes", err, len(onDisk))
	}
	// The emulator echoes the input video as the result.
	if want := mustRead(t, "../static/samples/motion.mp4"); !bytes.Equal(onDisk, want) {
		t.Error("archived bytes differ from Akool's result")
	}

	// Our own copy plays with Range requests.
	req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/media/"+strconv.FormatInt(job.ID, 10), nil)
	req.Header.Set("Range", "bytes=0-99")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || len(part) != 100 || !bytes.Equal(part, onDisk[:100]) {
		t.Errorf("Range request: %d, %d bytes", res.StatusCode, len(part))
	}
	if ct := res.Header.Get("Content-Type"); ct != "video/mp4" {
		t.Errorf("Content-Type %q", ct)
	}
	dl := c.get("/media/" + strconv.FormatInt(job.ID, 10) + "?download=1")
	if cd := dl.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("download Content-Disposition %q", cd)
	}
	// The job page plays our copy and offers download and re-run.
	page := c.get("/jobs/" + strconv.FormatInt(job.ID, 10))
	if src, _ := page.doc.Find("video.player").Attr("src"); src != "/media/"+strconv.FormatInt(job.ID, 10) {
		t.Errorf("player src %q, want our copy", src)
	}
	if page.doc.Find(`a[download]`).Length() != 1 || page.doc.Find(`a[href^="/jobs/new?"]:contains("Run again")`).Length() != 1 {
		t.Error("download or re-run missing")
	}
	if got := page.doc.Find(".history li").Length(); got < 4 {
		t.Errorf("history has %d lines, want submitted, queued, done, archived", got)
	}
	// Another member may play the team's result; a signed-out visitor may not.
	other, _ := app.member("bo@example.com", 0)
	wantStatus(t, other.get("/media/"+strconv.FormatInt(job.ID, 10)), http.StatusOK)
	wantStatus(t, app.client().get("/media/"+strconv.FormatInt(job.ID, 10)), http.StatusSeeOther)
}

func TestPollingOnlyFinishesToo(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()
	if n := app.tracker.PollDue(ctx); n != 0 {
		t.Errorf("polled %d jobs before the first poll was due", n)
	}
	app.pollUntil(t, job.ID, db.JobSucceeded)
	if got := app.job(job.ID); got.Status != db.JobSucceeded {
		t.Fatalf("status %s after polling, want succeeded", got.Status)
	}
	if app.webhooks() != 0 {
		t.Error("a webhook arrived without a webhook URL")
	}
	if b := app.balance(u.ID); b.Available != 70 {
		t.Errorf("available %d, want 70", b.Available)
	}
}

func TestForgedAndReplayedWebhooks(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	post := func(body []byte) int {
		res, err := http.Post(app.srv.URL+"/webhooks/akool", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	ev := akool.WebhookEvent{ID: job.AkoolID, Status: akool.StatusCompleted, Type: "character_swap", URL: "https://evil.example/x.mp4"}
	forged, _ := akool.NewWebhookBody(ev, app.simClientID, "WRONGSECRETKEY24CHARSxxx", 1710757981609, "1")
	for name, body := range map[string][]byte{
		"wrong key":   forged,
		"garbage":     []byte("not json"),
		"empty":       nil,
		"tampered":    bytes.Replace(forged, []byte(`"nonce":"1"`), []byte(`"nonce":"2"`), 1),
		"json no sig": []byte(`{"dataEncrypt":"abc","timestamp":1,"nonce":"1"}`),
	} {
		if got := post(body); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	// A big forged body is refused without being read in full, let alone stored.
	if got := post(append([]byte(`{"signature":"`), bytes.Repeat([]byte("a"), 70<<10)...)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize body: status %d, want 413", got)
	}
	app.tracker.PollDue(context.Background())
	if got := app.job(job.ID); got.Status != db.JobQueued {
		t.Fatalf("forged webhooks changed the job to %s", got.Status)
	}
	if n := app.webhooks(); n != 0 {
		t.Errorf("%d refused webhooks stored, want none", n)
	}

	// A genuine webhook for an unknown job: 200 so Akool stops, nothing applied.
	unknown, _ := akool.NewWebhookBody(akool.WebhookEvent{ID: "000000000000000000000000", Status: akool.StatusCompleted},
		app.simClientID, app.simSecret, 1710757981609, "2")
	if got := post(unknown); got != http.StatusOK {
		t.Errorf("unknown job: %d, want 200", got)
	}
	if n := app.webhooks(); n != 1 {
		t.Errorf("%d webhooks stored, want the unknown job's", n)
	}

	// The real one, then replayed: settled once.
	app.finishOnAkool()
	eventually(t, "webhook", func() bool { return app.webhooks() >= 2 })
	app.tracker.PollDue(context.Background())
	genuine, _ := akool.NewWebhookBody(akool.WebhookEvent{ID: job.AkoolID, Status: akool.StatusCompleted},
		app.simClientID, app.simSecret, 1710757981609, "3")
	for i := 0; i < 3; i++ {
		if got := post(genuine); got != http.StatusOK {
			t.Errorf("replay %d: %d", i, got)
		}
		app.tracker.PollDue(context.Background())
	}
	if n := app.webhooks(); n != 3 {
		t.Errorf("%d webhooks stored, want 3 (unknown job, Akool's, ours once)", n)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger after replays: %s", k)
	}
	if b := app.balance(u.ID); b.Available != 70 {
		t.Errorf("available %d after replays, want 70", b.Available)
	}
}

// A captured genuine webhook for a running job, replayed: the first copy
// pulls the poll forward, the replays change nothing (no backoff reset, no
// extra Akool calls) and are not stored.
func TestReplayedWebhookForRunningJobChangesNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()
	post := func(body []byte) int {
		res, err := http.Post(app.srv.URL+"/webhooks/akool", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// Polls until its backoff has grown (Akool processes it for 20 s).
	for i := 0; app.job(job.ID).PollAttempts < 2; i++ {
		if i == 5 {
			t.Fatal("the poll backoff does not grow")
		}
		app.clock.Advance(app.job(job.ID).NextPollAt.Sub(app.clock.Now()))
		app.sim.Step()
		if n := app.tracker.PollDue(ctx); n != 1 {
			t.Fatalf("poll %d polled %d jobs", i, n)
		}
	}
	if got := app.job(job.ID); got.Status != db.JobProcessing || !got.NextPollAt.After(app.clock.Now()) {
		t.Fatalf("before the webhook: %s, next poll %v", got.Status, got.NextPollAt)
	}
	captured, _ := akool.NewWebhookBody(akool.WebhookEvent{ID: job.AkoolID, Status: akool.StatusProcessing},
		app.simClientID, app.simSecret, app.clock.Now().UnixMilli(), "77")
	if got := post(captured); got != http.StatusOK {
		t.Fatalf("webhook: %d", got)
	}
	if got := app.job(job.ID); got.PollAttempts != 0 || got.NextPollAt.After(app.clock.Now()) {
		t.Fatalf("the webhook did not pull the poll forward: attempts %d, next %v", got.PollAttempts, got.NextPollAt)
	}
	if n := app.tracker.PollDue(ctx); n != 1 {
		t.Fatalf("polled %d after the webhook, want 1", n)
	}
	after := app.job(job.ID)
	// Replays, also reformatted (the signature is what counts).
	reformatted := bytes.ReplaceAll(captured, []byte(`,"`), []byte(`, "`))
	sig, ok := strings.CutPrefix(string(captured), `{"signature":"`)
	if !ok {
		t.Fatalf("body %s does not start with its signature", captured)
	}
	upper := []byte(`{"signature":"` + strings.ToUpper(sig[:40]) + sig[40:])
	for i, body := range [][]byte{captured, captured, reformatted, upper} {
		if got := post(body); got != http.StatusOK {
			t.Errorf("replay %d: status %d, want 200", i, got)
		}
	}
	got := app.job(job.ID)
	if got.PollAttempts != after.PollAttempts || !got.NextPollAt.Equal(after.NextPollAt) {
		t.Errorf("replays moved the poll: attempts %d -> %d, next %v -> %v",
			after.PollAttempts, got.PollAttempts, after.NextPollAt, got.NextPollAt)
	}
	if n := app.tracker.PollDue(ctx); n != 0 {
		t.Errorf("replays made the tracker poll %d times", n)
	}
	if n := app.webhooks(); n != 1 {
		t.Errorf("%d webhooks stored, want the first copy only", n)
	}
}

func TestDuplicateAndOutOfOrderEventsSettleOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()
	charged := int64(20)
	// Settled as the tracker settles it (credits.Settle): the store
	// writes what it is given.
	done := db.Update{Status: db.JobSucceeded, Source: db.SourceWebhook, ResultURL: "https://x/r.mp4", Charged: &charged,
		ExpiresAt: app.clock.Now().Add(akool.ResultTTL)}
	steps := []struct {
		u           db.Update
		wantApplied bool
		wantStatus  db.JobStatus
	}{
		{db.Update{Status: db.JobProcessing, Source: db.SourcePoll}, true, db.JobProcessing},
		{db.Update{Status: db.JobQueued, Source: db.SourcePoll}, false, db.JobProcessing},     // backwards
		{db.Update{Status: db.JobProcessing, Source: db.SourcePoll}, false, db.JobProcessing}, // duplicate
		{done, true, db.JobSucceeded},
		{done, false, db.JobSucceeded}, // duplicate webhook
		{db.Update{Status: db.JobProcessing, Source: db.SourceWebhook}, false, db.JobSucceeded}, // 2 after 3
		{db.Update{Status: db.JobFailed, Source: db.SourcePoll}, false, db.JobSucceeded},        // 4 after 3
	}
	for i, st := range steps {
		got, applied, err := app.store.ApplyUpdate(ctx, job.ID, st.u)
		if err != nil || applied != st.wantApplied || got.Status != st.wantStatus {
			t.Errorf("step %d (%s): applied %v status %s err %v; want %v %s", i, st.u.Status, applied, got.Status, err, st.wantApplied, st.wantStatus)
		}
	}
	// Akool charged 20 for an estimate of 30: the difference comes back.
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30,charge:-20" {
		t.Errorf("ledger %s", k)
	}
	if b := app.balance(u.ID); b.Available != 80 || b.Spent != 20 {
		t.Errorf("balance %+v, want 80 available, 20 spent", b)
	}
	// The emulator's duplicate webhooks settle once too.
	job2 := app.submitted(c)
	app.sim.InjectWebhook(akoolsim.WebhookFault{JobID: job2.AkoolID, Duplicate: true})
	app.finishOnAkool()
	eventually(t, "duplicate webhooks", func() bool { return app.webhooks() >= 2 })
	app.tracker.PollDue(ctx)
	app.tracker.PollDue(ctx)
	if k := app.ledgerKinds(job2.ID); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger after duplicate webhooks: %s", k)
	}
}

func TestAkoolFailureRefunds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, u := app.member("ana@example.com", 100)
	app.sim.FailNextJob("Failed to process the video. Please check your input resources.")
	job := app.submitted(c)
	app.finishOnAkool()
	eventually(t, "webhook", func() bool { return app.webhooks() >= 1 })
	app.tracker.PollDue(context.Background())
	got := app.job(job.ID)
	if got.Status != db.JobFailed || !strings.Contains(got.ErrorMessage, "check your input") {
		t.Fatalf("status %s, message %q", got.Status, got.ErrorMessage)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30" {
		t.Errorf("ledger %s, want the hold released and no charge", k)
	}
	if b := app.balance(u.ID); b.Available != 100 || b.Spent != 0 {
		t.Errorf("balance %+v, want all 100 back", b)
	}
	card := c.get("/jobs/" + strconv.FormatInt(job.ID, 10) + "/card")
	if !strings.Contains(card.doc.Find(".field-error").Text(), "check your input") || card.doc.Find(".badge").Text() != "Failed" {
		t.Errorf("card does not explain the failure: %q", card.doc.Text())
	}
	if n := app.archiver.ArchiveDue(context.Background()); n != 0 {
		t.Errorf("archiver touched %d failed jobs", n)
	}
}

func TestUnknownToAkoolFailsWithMessage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	app.sim.InjectCall(akoolsim.EndpointResult, akoolsim.CallFault{Code: 1008})
	app.clock.Advance(10 * time.Second)
	app.tracker.PollDue(context.Background())
	got := app.job(job.ID)
	if got.Status != db.JobFailed || !strings.Contains(got.ErrorMessage, "no longer has this job") {
		t.Errorf("after 1008: %s %q", got.Status, got.ErrorMessage)
	}
	if b := app.balance(u.ID); b.Available != 100 {
		t.Errorf("available %d, want 100", b.Available)
	}
}

func TestTransientPollErrorsRetry(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	app.sim.InjectCall(akoolsim.EndpointResult, akoolsim.CallFault{HTTPStatus: 502, Count: 2})
	ctx := context.Background()
	app.clock.Advance(10 * time.Second)
	app.tracker.PollDue(ctx)
	got := app.job(job.ID)
	if got.Status != db.JobQueued || got.PollAttempts != 1 || !got.NextPollAt.After(app.clock.Now()) {
		t.Fatalf("after a 502: %s attempts %d next %v", got.Status, got.PollAttempts, got.NextPollAt)
	}
	app.pollUntil(t, job.ID, db.JobSucceeded)
	if got := app.job(job.ID); got.Status != db.JobSucceeded {
		t.Errorf("status %s after the errors passed, want succeeded", got.Status)
	}
}

func TestResultExpiringBeforeArchiveEndsExpired(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	ctx := context.Background()
	app.pollUntil(t, job.ID, db.JobSucceeded)
	if err := app.sim.ExpireResult(job.AkoolID); err != nil {
		t.Fatal(err)
	}
	app.archiver.ArchiveDue(ctx)
	got := app.job(job.ID)
	if got.ArchiveState != db.ArchivePending || got.ArchiveAttempts != 1 {
		t.Fatalf("after a 404 before expiry: state %q attempts %d, want a retry", got.ArchiveState, got.ArchiveAttempts)
	}
	// Retries go on until Akool's 7 days are over, then the job is expired.
	for i := 0; i < 400 && app.job(job.ID).ArchiveState == db.ArchivePending; i++ {
		app.clock.Advance(time.Hour)
		app.archiver.ArchiveDue(ctx)
	}
	got = app.job(job.ID)
	if got.ArchiveState != db.ArchiveExpired {
		t.Fatalf("archive state %q, want expired", got.ArchiveState)
	}
	card := c.get("/jobs/" + strconv.FormatInt(job.ID, 10) + "/card?full=1")
	if !strings.Contains(card.body, "Akool deleted its copy") || card.doc.Find("video").Length() != 0 {
		t.Errorf("card for an expired result: %s", snippet(card.body))
	}
	// The charge stands: Akool made the video.
	if b := app.balance(u.ID); b.Spent != 30 {
		t.Errorf("spent %d, want 30", b.Spent)
	}
}

func TestCardPollsUntilFinal(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, _ := app.member("ana@example.com", 100)
	job := app.submitted(c)
	path := "/jobs/" + strconv.FormatInt(job.ID, 10) + "/card"
	req := func() *response {
		r, _ := http.NewRequest(http.MethodGet, app.srv.URL+path, nil)
		r.Header.Set("HX-Request", "true")
		return c.do(r)
	}
	res := req()
	wantStatus(t, res, http.StatusOK)
	card := res.doc.Find("article.job-card")
	if tr, _ := card.Attr("hx-trigger"); tr != "every 2s" {
		t.Errorf("running card trigger %q, want every 2s", tr)
	}
	if card.Find(".badge").Text() != "Queued" {
		t.Errorf("badge %q", card.Find(".badge").Text())
	}
	app.pollUntil(t, job.ID, db.JobSucceeded)
	// Done, but our copy is not saved yet: the card plays Akool's link and
	// keeps polling, slowly, until it can play ours.
	res = req()
	wantStatus(t, res, http.StatusOK)
	card = res.doc.Find("article.job-card")
	if tr, _ := card.Attr("hx-trigger"); tr != "every 10s" {
		t.Errorf("card of a result being archived: trigger %q, want every 10s", tr)
	}
	if get, _ := card.Attr("hx-get"); get != path {
		t.Errorf("card of a result being archived polls %q, want %q", get, path)
	}
	if !strings.Contains(card.Text(), "Finished") || card.Find(".job-card-head .badge").Text() != "Done" {
		t.Errorf("final card: %q", card.Text())
	}
	full := func() *response {
		r, _ := http.NewRequest(http.MethodGet, app.srv.URL+path+"?full=1", nil)
		r.Header.Set("HX-Request", "true")
		return c.do(r)
	}
	res = full()
	wantStatus(t, res, http.StatusOK)
	akoolURL := app.job(job.ID).ResultURL
	if src, _ := res.doc.Find("article.job-card video.player").Attr("src"); src != akoolURL || akoolURL == "" {
		t.Errorf("player while archiving plays %q, want Akool's %q", src, akoolURL)
	}
	if tr, _ := res.doc.Find("article.job-card").Attr("hx-trigger"); tr != "every 10s" {
		t.Errorf("full card while archiving: trigger %q, want every 10s", tr)
	}

	if n := app.archiver.ArchiveDue(context.Background()); n != 1 {
		t.Fatalf("archived %d", n)
	}
	res = req()
	wantStatus(t, res, 286)
	card = res.doc.Find("article.job-card")
	if _, ok := card.Attr("hx-trigger"); ok {
		t.Error("final card still polls")
	}
	res = full()
	wantStatus(t, res, 286)
	if src, _ := res.doc.Find("article.job-card video.player").Attr("src"); src != "/media/"+strconv.FormatInt(job.ID, 10) {
		t.Errorf("player after archiving plays %q, want our copy", src)
	}
	if _, ok := res.doc.Find("article.job-card").Attr("hx-trigger"); ok {
		t.Error("archived full card still polls")
	}
	if !strings.Contains(res.doc.Find("#job-history").Text(), "Saved to the gallery") {
		t.Error("the final answer does not bring the history up to date")
	}
	other, _ := app.member("bo@example.com", 0)
	wantStatus(t, other.get(path), http.StatusNotFound)
}

// The title counts the signed-in person's running jobs on every page,
// whatever the page shows; cards say which are theirs, for app.js.
func TestTitleCountsOwnRunningJobs(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	ana, _ := app.member("ana@example.com", 100)
	job := app.submitted(ana)
	admin := app.signedIn("boss@example.com", true)
	title := func(c *client, path string) string {
		t.Helper()
		res := c.get(path)
		wantStatus(t, res, http.StatusOK)
		return res.doc.Find("title").Text()
	}
	for _, path := range []string{"/", "/jobs", "/jobs/new", "/jobs/" + strconv.FormatInt(job.ID, 10)} {
		if got := title(ana, path); !strings.HasPrefix(got, "(1) ") {
			t.Errorf("%s: title %q, want (1) first", path, got)
		}
	}
	if got := title(admin, "/jobs"); strings.HasPrefix(got, "(") {
		t.Errorf("admin's title %q counts another member's job", got)
	}
	cards := admin.get("/jobs").doc.Find("article.job-card")
	if own, _ := cards.First().Attr("data-own"); cards.Length() != 1 || own != "false" {
		t.Errorf("admin sees %d cards, data-own %q; want 1, false", cards.Length(), own)
	}
	if own, _ := ana.get("/jobs").doc.Find("article.job-card").First().Attr("data-own"); own != "true" {
		t.Errorf("member's own card: data-own %q", own)
	}
	app.pollUntil(t, job.ID, db.JobSucceeded)
	if got := title(ana, "/jobs"); strings.HasPrefix(got, "(") {
		t.Errorf("title %q after the job finished", got)
	}
}

func TestJobsListScopedAndPaged(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, unlimitedChecks) // 23 forms each, on a frozen clock
	ana, anaU := app.member("ana@example.com", 10_000)
	bo, _ := app.member("bo@example.com", 10_000)
	for i := 0; i < 23; i++ {
		app.submitted(ana)
	}
	app.submitted(bo)
	res := ana.get("/jobs")
	wantStatus(t, res, http.StatusOK)
	if n := res.doc.Find("article.job-card").Length(); n != 20 {
		t.Fatalf("first page has %d cards, want 20", n)
	}
	first, _ := res.doc.Find("article.job-card").First().Attr("id")
	next, ok := res.doc.Find(".pager a").Attr("href")
	if !ok {
		t.Fatal("no link to older jobs")
	}
	page2 := ana.get(next)
	if n := page2.doc.Find("article.job-card").Length(); n != 3 {
		t.Errorf("second page has %d cards, want 3", n)
	}
	if page2.doc.Find(".pager a").Length() != 0 {
		t.Error("second page links further")
	}
	latest, _ := app.store.RecentJobs(context.Background(), anaU.ID, 1)
	if first != "job-card-"+strconv.FormatInt(latest[0].ID, 10) {
		t.Errorf("first card %s, want the newest job %d", first, latest[0].ID)
	}
	admin := app.signedIn("boss@example.com", true)
	all := admin.get("/jobs")
	if n := all.doc.Find("article.job-card").Length(); n != 20 {
		t.Errorf("admin first page %d cards", n)
	}
	filtered := admin.get("/jobs?member=" + strconv.FormatInt(anaU.ID, 10) + "&before=1000000")
	metas := filtered.doc.Find("article.job-card .job-card-meta")
	if metas.Length() != 20 {
		t.Errorf("admin's list filtered to ana has %d cards, want 20", metas.Length())
	}
	metas.Each(func(_ int, s *goquery.Selection) {
		if !strings.Contains(s.Text(), "User ana@example.com") {
			t.Errorf("filtered list shows %q", s.Text())
		}
	})
	if sel, _ := filtered.doc.Find(`select[name=member] option[selected]`).Attr("value"); sel != strconv.FormatInt(anaU.ID, 10) {
		t.Errorf("member filter shows %q selected", sel)
	}
	boOnly := admin.get("/jobs?member=" + strconv.FormatInt(app.userID("bo@example.com"), 10))
	if metas := boOnly.doc.Find("article.job-card .job-card-meta"); metas.Length() != 1 || !strings.Contains(metas.Text(), "User bo@example.com") {
		t.Errorf("admin's list filtered to bo: %d cards, %q", metas.Length(), metas.Text())
	}
}

func (a *testApp) userID(email string) int64 {
	a.t.Helper()
	u, err := a.store.UserByEmail(context.Background(), email)
	if err != nil {
		a.t.Fatal(err)
	}
	return u.ID
}

func TestDeleteJob(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, pollingOnly)
	c, u := app.member("ana@example.com", 100)
	job := app.submitted(c)
	id := strconv.FormatInt(job.ID, 10)
	res := c.submit("/jobs/"+id, "/jobs/"+id+"/delete", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if app.job(job.ID).DeletedAt != (time.Time{}) {
		t.Fatal("a running job was deleted")
	}
	ctx := context.Background()
	app.pollUntil(t, job.ID, db.JobSucceeded)
	app.archiver.ArchiveDue(ctx)
	file := filepath.Join(app.mediaDir, app.job(job.ID).ArchivePath)
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	other, _ := app.member("bo@example.com", 0)
	wantStatus(t, other.post("/jobs/"+id+"/delete", map[string][]string{fields.CSRF: {other.csrf("/")}}), http.StatusNotFound)

	res = c.submit("/jobs/"+id, "/jobs/"+id+"/delete", nil)
	wantStatus(t, res, http.StatusSeeOther)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("archived file still there: %v", err)
	}
	// The job no longer claims an archived copy.
	if got := app.job(job.ID); got.ArchiveState != "" || got.ArchivePath != "" || got.ArchiveSHA256 != "" || got.ArchiveSize != 0 {
		t.Errorf("deleted job: archive state %q path %q sha %q size %d, want all cleared",
			got.ArchiveState, got.ArchivePath, got.ArchiveSHA256, got.ArchiveSize)
	}
	wantStatus(t, c.get("/jobs/"+id), http.StatusNotFound)
	wantStatus(t, c.get("/media/"+id), http.StatusNotFound)
	if n := c.get("/jobs").doc.Find("article.job-card").Length(); n != 0 {
		t.Errorf("deleted job still listed (%d cards)", n)
	}
	if k := app.ledgerKinds(job.ID); k != "hold:-30,release:30,charge:-30" {
		t.Errorf("ledger after delete: %s (must keep its entries)", k)
	}
	if b := app.balance(u.ID); b.Spent != 30 {
		t.Errorf("spent %d after delete, want 30", b.Spent)
	}
}

func TestRerunPrefillsTheForm(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	c, _ := app.member("ana@example.com", 100)
	v := app.jobValues()
	v.Set(fields.Resolution, "480p")
	v.Set(fields.Duration, "7.5")
	v.Set(fields.Prompt, "wave & smile")
	res := c.submitJob(v)
	wantStatus(t, res, http.StatusSeeOther)
	id, _ := strconv.ParseInt(strings.TrimPrefix(res.Header.Get("Location"), "/jobs/"), 10, 64)
	nothing := int64(0)
	if _, _, err := app.store.ApplyUpdate(context.Background(), id, db.Update{Status: db.JobFailed, Source: db.SourcePoll,
		Charged: &nothing, FailReason: "Akool could not make this video."}); err != nil {
		t.Fatal(err)
	}
	page := c.get("/jobs/" + strconv.FormatInt(id, 10))
	href, ok := page.doc.Find(`a[href^="/jobs/new?"]`).Attr("href")
	if !ok {
		t.Fatal("no re-run link")
	}
	form := c.get(href)
	if got, _ := form.doc.Find("#duration").Attr("value"); got != "7.5" {
		t.Errorf("duration %q", got)
	}
	if got, _ := form.doc.Find(`select[name=resolution] option[selected]`).Attr("value"); got != "480p" {
		t.Errorf("resolution %q", got)
	}
	if got := form.doc.Find("#prompt").Text(); got != "wave & smile" {
		t.Errorf("prompt %q", got)
	}
	if got, _ := form.doc.Find("#image_url").Attr("value"); got != app.media.url("/character.png") {
		t.Errorf("image %q", got)
	}
}
