package akoolsim

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"swapdesk/internal/akool"
)

// job is one character swap. All fields are guarded by Sim.mu.
type job struct {
	id         string
	created    time.Time
	updated    time.Time // zero until the job is final
	status     akool.Status
	image      string
	video      string
	resolution string
	mode       string
	prompt     string
	model      string
	webhookURL string
	base       string // public base URL for the result
	// resultKey is the random part of the result URL (resultKeyBytes of
	// crypto/rand, hex), made at create and saved with the job, so the URL
	// is as unguessable as Akool's CDN links and survives restarts.
	resultKey string

	reqDuration float64 // the request's duration; 0 when omitted
	duration    float64 // reported video_duration
	charged     int     // credits currently deducted for the job

	forceFail  string       // injected failure reason
	probing    bool         // input fetch running
	probe      *probeResult // nil until the input fetch finished
	failReason string

	result []byte // served bytes once completed; nil = videoFile or the sample
	// videoFile: the echoed input video (the probe's while processing, the
	// result once completed) is saved at Sim.resultPath; StatePath only.
	videoFile    bool
	expires      time.Time
	expiredEarly bool
}

type probeResult struct {
	failReason string  // "" = inputs are fine
	duration   float64 // detected seconds; 0 = unknown
	video      []byte  // the input video when small enough to echo
}

// The reason text Akool shows in its failed example, followed by our detail.
const inputFailPrefix = "Failed to process the video. Please check your input resources."

// rates are credits per started 5 seconds (AKOOL-API.md §6.3). Kept local on
// purpose: the emulator must not share the app's pricing code it checks.
var rates = map[string]int{"480p": 5, "720p": 10, "1080p": 15}

func cost(seconds float64, resolution string) int {
	return int(math.Ceil(seconds/5)) * rates[resolution]
}

func (s *Sim) advanceAllLocked(now time.Time) {
	for _, id := range s.order {
		s.advanceLocked(s.jobs[id], now)
	}
}

// advanceLocked moves j along 1 -> 2 -> 3/4 as far as the clock allows.
// The move to 3/4 also waits for the input fetch, so a slow input keeps a
// job in processing past ProcessDelay, as a slow Akool would.
func (s *Sim) advanceLocked(j *job, now time.Time) {
	startAt := j.created.Add(s.cfg.QueueDelay)
	if j.status == akool.StatusQueued && !now.Before(startAt) {
		j.status = akool.StatusProcessing
		s.enqueueWebhookLocked(j, startAt)
		s.markDirtyLocked()
	}
	if j.status == akool.StatusProcessing && j.probe == nil {
		// Also (re)starts the fetch of a job loaded from StatePath, or one
		// whose fetch a previous Close interrupted.
		s.startProbeLocked(j)
	}
	doneAt := startAt.Add(s.cfg.ProcessDelay)
	if j.status == akool.StatusProcessing && j.probe != nil && !now.Before(doneAt) {
		s.finishLocked(j, doneAt)
		s.markDirtyLocked()
	}
}

func (s *Sim) startProbeLocked(j *job) {
	if s.cfg.SkipInputFetch {
		j.probe = &probeResult{}
		return
	}
	if j.probing {
		return
	}
	id, image, video := j.id, j.image, j.video
	j.probing = s.goLocked(func() {
		res := s.fetchInputs(s.ctx, image, video)
		s.mu.Lock()
		if j := s.jobs[id]; j != nil {
			if s.ctx.Err() != nil {
				// Close cut the fetch short: that says nothing about the
				// inputs, so leave the job to fetch again after a restart.
				j.probing = false
			} else {
				j.probe = &res
				s.markDirtyLocked() // saved, so a restart need not fetch again
			}
		}
		s.mu.Unlock()
		s.poke()
	})
}

func (s *Sim) finishLocked(j *job, at time.Time) {
	reason := j.forceFail
	if reason == "" {
		reason = j.probe.failReason
	}
	detected := j.probe.duration
	switch {
	case reason != "":
	case j.reqDuration > 0:
		// Charged on the requested duration; report the real length (the docs'
		// example: 10 requested, 10.5 reported, 20 credits).
		if detected > 0 {
			j.duration = detected
		}
	default:
		// No duration was asked for: the create response showed an estimate
		// (DefaultDuration); now price the detected length and settle the difference.
		d := detected
		if d == 0 {
			d = s.cfg.DefaultDuration
		}
		j.duration = d
		if d > 120 {
			reason = fmt.Sprintf("%s (video duration %.1fs exceeds 120 seconds)", inputFailPrefix, d)
			break
		}
		extra := cost(d, j.resolution) - j.charged
		if extra > s.balance {
			reason = "Insufficient credit balance for the detected video duration."
			break
		}
		s.balance -= extra
		j.charged += extra
	}
	j.updated = at
	if reason != "" {
		j.status = akool.StatusFailed
		j.failReason = reason
		s.balance += j.charged
		j.charged = 0
	} else {
		j.status = akool.StatusCompleted
		j.result = j.probe.video
		j.expires = at.Add(s.cfg.ResultTTL)
	}
	j.probe.video = nil
	s.log.Info("akoolsim job finished", "id", j.id, "status", j.status.String(), "reason", reason)
	s.enqueueWebhookLocked(j, at)
}

// resultKeyBytes is the size of a result URL's random part: 128 bits.
const resultKeyBytes = 16

func newResultKey() string { return randomHex(resultKeyBytes) }

// validResultKey reports whether k is what newResultKey makes.
func validResultKey(k string) bool {
	b, err := hex.DecodeString(k)
	return err == nil && len(b) == resultKeyBytes && strings.ToLower(k) == k
}

// resultFile is the last segment of j's result URL: the job id, for
// people reading logs, and the random key, so that knowing (or guessing)
// an id is not enough to fetch someone's result.
func (j *job) resultFile() string { return j.id + "-" + j.resultKey + ".mp4" }

func (j *job) resultURL() string {
	if j.status != akool.StatusCompleted {
		return ""
	}
	return j.base + "/results/" + j.resultFile()
}

// fetchInputs downloads the image head and the video as Akool would, and
// says why the job must fail, if it must.
func (s *Sim) fetchInputs(ctx context.Context, image, video string) probeResult {
	head, _, err := s.fetch(ctx, image, 16)
	if err != nil {
		return probeResult{failReason: fmt.Sprintf("%s (image: %v)", inputFailPrefix, err)}
	}
	if !isPNG(head) && !isJPEG(head) {
		return probeResult{failReason: inputFailPrefix + " (image: not a PNG or JPEG)"}
	}
	data, complete, err := s.fetch(ctx, video, s.cfg.MaxResultBytes)
	if err != nil {
		return probeResult{failReason: fmt.Sprintf("%s (video: %v)", inputFailPrefix, err)}
	}
	if !isMP4(data) {
		return probeResult{failReason: inputFailPrefix + " (video: not an MP4)"}
	}
	res := probeResult{duration: mp4Duration(data)}
	if complete {
		res.video = data
	}
	return res
}

// fetch GETs u and returns at most limit bytes; complete reports whether
// that was the whole body.
func (s *Sim) fetch(ctx context.Context, u string, limit int64) (data []byte, complete bool, err error) {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, false, fmt.Errorf("not an http(s) URL")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, fmt.Errorf("bad URL")
	}
	req.Header.Set("User-Agent", "akoolsim")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("unreachable")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, false, fmt.Errorf("download interrupted")
	}
	if int64(len(data)) > limit {
		return data[:limit], false, nil
	}
	return data, true, nil
}

func isPNG(b []byte) bool  { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }
func isJPEG(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }

// isMP4 checks that the file starts with an ftyp box.
func isMP4(b []byte) bool {
	return len(b) >= 12 && string(b[4:8]) == "ftyp"
}

// JobInfo is a snapshot of a job, for tests and the sandbox UI.
type JobInfo struct {
	ID         string
	Status     akool.Status
	Credits    int     // currently deducted (0 after a failure's refund)
	Duration   float64 // video_duration as reported
	Resolution string
	Mode       string
	Prompt     string
	WebhookURL string
	ResultURL  string // set when completed
	FailReason string
	CreateTime time.Time
	UpdateTime time.Time
	Expires    time.Time // when the result URL stops working; zero unless completed
}

// Job returns a snapshot of job id, advanced to the clock's now.
func (s *Sim) Job(id string) (JobInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	if !ok {
		return JobInfo{}, false
	}
	s.advanceLocked(j, s.now())
	return j.info(), true
}

// Jobs returns snapshots of every job, oldest first.
func (s *Sim) Jobs() []JobInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAllLocked(s.now())
	out := make([]JobInfo, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.jobs[id].info())
	}
	return out
}

func (j *job) info() JobInfo {
	return JobInfo{
		ID: j.id, Status: j.status, Credits: j.charged, Duration: j.duration,
		Resolution: j.resolution, Mode: j.mode, Prompt: j.prompt, WebhookURL: j.webhookURL,
		ResultURL: j.resultURL(), FailReason: j.failReason,
		CreateTime: j.created, UpdateTime: j.updated, Expires: j.expires,
	}
}
