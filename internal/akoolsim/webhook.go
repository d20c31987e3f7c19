package akoolsim

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"swapdesk/internal/akool"
)

// delivery is one webhook body on its way to one URL.
type delivery struct {
	jobID  string
	status akool.Status
	url    string
	body   []byte
	badSig bool
	// timestamp (ms) and nonce are in body; kept to rebuild it after a restart.
	timestamp int64
	nonce     string
	attempt   int // attempts made
	due       time.Time
	inflight  bool
}

// Delivery records one webhook attempt (or a decision not to send). The
// JSON tags are for the state file (Config.StatePath).
type Delivery struct {
	JobID        string       `json:"job_id"`
	Status       akool.Status `json:"status"` // the event's status
	URL          string       `json:"url"`
	Attempt      int          `json:"attempt"`                 // 1-based; 0 when nothing was sent
	At           time.Time    `json:"at"`                      // emulator clock
	HTTPStatus   int          `json:"http_status,omitempty"`   // 0 when no response
	Err          string       `json:"err,omitempty"`           // transport error, or why nothing was sent
	Dropped      bool         `json:"dropped,omitempty"`       // a WebhookFault dropped it
	BadSignature bool         `json:"bad_signature,omitempty"` // sent with a corrupted signature on purpose
	Final        bool         `json:"final,omitempty"`         // the last attempt: delivered (200) or given up
}

// Deliveries returns every webhook attempt so far, oldest first.
func (s *Sim) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

// enqueueWebhookLocked schedules the webhook for j's current status if the
// job has a webhook URL and the status is one Config.WebhookStatuses lists.
// The body is built once, so retries resend the same bytes (same timestamp
// and nonce), which is what a receiver de-duplicating on them expects.
func (s *Sim) enqueueWebhookLocked(j *job, at time.Time) {
	if j.webhookURL == "" || !slices.Contains(s.cfg.WebhookStatuses, j.status) {
		return
	}
	rec := Delivery{JobID: j.id, Status: j.status, URL: j.webhookURL, At: at}
	f := s.takeWebhookFaultLocked(j.id, j.status)
	if f.Drop {
		rec.Dropped, rec.Final, rec.Err = true, true, "dropped by fault injection"
		s.deliveries = append(s.deliveries, rec)
		return
	}
	if u, err := url.Parse(j.webhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		rec.Final, rec.Err = true, "webhook URL is not an absolute http(s) URL"
		s.deliveries = append(s.deliveries, rec)
		return
	}
	d := delivery{
		jobID: j.id, status: j.status, url: j.webhookURL, badSig: f.BadSignature, due: at.Add(f.Delay),
		timestamp: at.UnixMilli(), nonce: strconv.Itoa(1000 + rand.IntN(9000)),
	}
	body, err := s.webhookBody(j, &d)
	if err != nil {
		rec.Final, rec.Err = true, "cannot build webhook: "+err.Error()
		s.deliveries = append(s.deliveries, rec)
		s.log.Error("akoolsim webhook not sent", "job", j.id, "err", err)
		return
	}
	d.body = body
	n := 1
	if f.Duplicate {
		n = 2
	}
	for range n {
		dup := d
		s.pending = append(s.pending, &dup)
	}
	s.markDirtyLocked()
	s.poke()
}

// webhookBody builds the signed, encrypted body of d's event for job j.
// Encryption and signature are deterministic, so the same event always
// gives the same bytes (unless the result URL's base changed).
func (s *Sim) webhookBody(j *job, d *delivery) ([]byte, error) {
	ev := webhookEvent{ID: j.id, Status: int(d.status), Type: s.cfg.WebhookType}
	if d.status == akool.StatusCompleted {
		ev.URL = j.resultURL()
	}
	return webhookJSON(ev, s.cfg.ClientID, s.cfg.ClientSecret, d.timestamp, d.nonce, d.badSig)
}

// dueDeliveriesLocked marks due deliveries in flight and returns them.
// A job's events go out in order: one waits while an earlier one for the
// same job is still pending (in flight or waiting to retry).
func (s *Sim) dueDeliveriesLocked(now time.Time) []*delivery {
	var due []*delivery
	busy := map[string]bool{}
	for _, d := range s.pending {
		earlier := busy[d.jobID]
		busy[d.jobID] = true
		if earlier || d.inflight || now.Before(d.due) || s.closed {
			continue
		}
		d.inflight = true
		s.wg.Add(1) // Done in send; under s.mu and not closed, so before Close's Wait
		due = append(due, d)
	}
	return due
}

// send makes one attempt and schedules the next on failure, with backoff by
// the emulator clock: WebhookBackoff, then doubling.
func (s *Sim) send(d *delivery) {
	defer s.wg.Done()
	// The event shows a status: it must be on disk before anyone hears of
	// it. If it cannot be saved, the attempt waits for the next Step.
	if err := s.persist(); err != nil {
		s.mu.Lock()
		d.inflight = false
		s.mu.Unlock()
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.WebhookTimeout)
	defer cancel()
	status, errText := 0, ""
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "akoolsim")
		var resp *http.Response
		if resp, err = s.hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			status = resp.StatusCode
		}
	}
	if err != nil {
		errText = err.Error()
	}

	s.mu.Lock()
	now := s.now()
	ok := status == http.StatusOK // Akool: "it must be 200"
	if status == 0 && s.ctx.Err() != nil {
		// Close cut the attempt short before any answer: it does not count,
		// and the event stays pending, so a Sim restarted from StatePath
		// sends it again. An attempt the receiver answered counts, even
		// when Close came while we were reading the answer.
		d.inflight = false
		s.mu.Unlock()
		s.log.Info("akoolsim webhook interrupted by Close", "job", d.jobID, "status", d.status.String())
		return
	}
	d.attempt++
	final := ok || d.attempt >= s.cfg.WebhookAttempts
	s.deliveries = append(s.deliveries, Delivery{
		JobID: d.jobID, Status: d.status, URL: d.url, Attempt: d.attempt, At: now,
		HTTPStatus: status, Err: errText, BadSignature: d.badSig, Final: final,
	})
	if final {
		s.pending = slices.DeleteFunc(s.pending, func(p *delivery) bool { return p == d })
	} else {
		d.inflight = false
		d.due = now.Add(s.cfg.WebhookBackoff << min(d.attempt-1, 16))
	}
	s.markDirtyLocked()
	s.mu.Unlock()
	s.log.Info("akoolsim webhook", "job", d.jobID, "status", d.status.String(), "attempt", d.attempt, "http", status, "err", errText)
	if !final {
		s.poke()
	}
}
