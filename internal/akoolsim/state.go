package akoolsim

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"swapdesk/internal/akool"
)

// Persistence (Config.StatePath). What the API acknowledges is on disk
// before the answer is sent (persist): a create, a token, and any status a
// poll or a webhook shows. Other changes (input fetches, delivery records)
// are saved at most SaveDelay later. The state file is one JSON document,
// rewritten whole: write a temp file in the same directory, fsync it, rename
// it over the old one, fsync the directory. A crash at any point leaves
// either the old file or the new one, plus at worst a *.tmp that the next
// New removes. Echoed result videos are kept beside it, one file per job in
// <StatePath>.results/, written (the same way) before the state that
// mentions them.
//
// What is saved: the account (credentials, uid, team_id, balance, tokens),
// every job with everything a poll or the result URL answers, the outcome of
// a processing job's input fetch (so a restart need not fetch again: the
// sandbox's sample URLs change with the port), the webhook events still
// waiting for a 200, and the delivery log. What is not: queued faults
// (FailNextJob, InjectCall, InjectWebhook, SetBanned, SetSubscribed; FailJob
// and ExpireResult are saved, as they belong to a job), and an input fetch
// still running, which a restarted Sim starts again.

// stateVersion is the state file's format; New refuses other versions.
const stateVersion = 1

type stateFile struct {
	Version      int                  `json:"version"`
	SavedAt      time.Time            `json:"saved_at"`
	APIKey       string               `json:"api_key"`
	ClientID     string               `json:"client_id"`
	ClientSecret string               `json:"client_secret"`
	UID          int64                `json:"uid"`
	TeamID       string               `json:"team_id"`
	Balance      int                  `json:"balance"`
	Tokens       map[string]time.Time `json:"tokens,omitempty"`
	Jobs         []jobState           `json:"jobs"`
	Webhooks     []webhookState       `json:"webhooks,omitempty"` // pending events, in order
	Deliveries   []Delivery           `json:"deliveries,omitempty"`
}

type jobState struct {
	ID           string       `json:"id"`
	Status       akool.Status `json:"status"`
	Created      time.Time    `json:"created"`
	Updated      time.Time    `json:"updated,omitzero"` // completion or failure time
	Image        string       `json:"image"`
	Video        string       `json:"video"`
	Resolution   string       `json:"resolution"`
	Mode         string       `json:"mode"`
	Prompt       string       `json:"prompt,omitempty"`
	Model        string       `json:"model"`
	WebhookURL   string       `json:"webhook_url,omitempty"`
	Base         string       `json:"base,omitempty"` // used only when Config.BaseURL is empty
	ResultKey    string       `json:"result_key"`     // the result URL's random part
	ReqDuration  float64      `json:"req_duration,omitempty"`
	Duration     float64      `json:"duration"`
	Charged      int          `json:"charged"`
	ForceFail    string       `json:"force_fail,omitempty"`
	FailReason   string       `json:"fail_reason,omitempty"`
	Probe        *probeState  `json:"probe,omitempty"`      // while processing, once the inputs were fetched
	VideoFile    bool         `json:"video_file,omitempty"` // the echoed input video is in <StatePath>.results/<id>.mp4; else the sample
	Expires      time.Time    `json:"expires,omitzero"`
	ExpiredEarly bool         `json:"expired_early,omitempty"`
}

// probeState is a finished input fetch of a job still processing, so a
// restart need not fetch again (the input URLs may have moved with the port).
type probeState struct {
	FailReason string  `json:"fail_reason,omitempty"`
	Duration   float64 `json:"duration,omitempty"`
}

// webhookState is a pending event. The body is rebuilt on load from these
// fields (encryption and signature are deterministic), so a retry after a
// restart sends the same bytes, except that a completed job's url follows
// the current BaseURL.
type webhookState struct {
	JobID     string       `json:"job_id"`
	Status    akool.Status `json:"status"`
	URL       string       `json:"url"`
	Timestamp int64        `json:"timestamp"` // ms, as in the body
	Nonce     string       `json:"nonce"`
	BadSig    bool         `json:"bad_signature,omitempty"`
	Attempt   int          `json:"attempt"`
	Due       time.Time    `json:"due"`
}

// resultWrite is an echoed video to put on disk during a save.
type resultWrite struct {
	id   string
	data []byte
}

func (s *Sim) resultsDir() string { return s.cfg.StatePath + ".results" }

func (s *Sim) resultPath(id string) string { return filepath.Join(s.resultsDir(), id+".mp4") }

// markDirtyLocked records that the state changed and wakes the saver.
func (s *Sim) markDirtyLocked() {
	if s.cfg.StatePath == "" {
		return
	}
	s.dirty = true
	select {
	case s.saveCh <- struct{}{}:
	default:
	}
}

// persist makes every change so far durable before the caller answers a
// client: a create, a token, a poll or a webhook showing a new status. It
// writes the state file now if anything changed since the last save
// (nothing to do without StatePath). Concurrent callers share writes: one
// that finds its change already saved by another's write returns at once,
// so a burst of creates costs a few writes, not one each. It returns the
// write's error; the change is then still in memory, and the next save
// tries again.
func (s *Sim) persist() error {
	if s.cfg.StatePath == "" {
		return nil
	}
	return s.save()
}

// forgetJob takes back a create that could not be saved: the job is
// removed with its pending webhooks and what it holds is refunded. The
// client was told the create failed, so the next save drops the job even
// if a concurrent save wrote it meanwhile.
func (s *Sim) forgetJob(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		return
	}
	s.balance += j.charged
	delete(s.jobs, id)
	s.order = slices.DeleteFunc(s.order, func(o string) bool { return o == id })
	s.pending = slices.DeleteFunc(s.pending, func(d *delivery) bool { return d.jobID == id })
	s.markDirtyLocked()
	s.log.Error("akoolsim: the job could not be saved; create answered 1015", "id", id)
}

// saveLoop coalesces changes: after the first change it waits SaveDelay,
// then writes everything that changed meanwhile at once.
func (s *Sim) saveLoop() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.saveCh:
		}
		t := time.NewTimer(s.cfg.SaveDelay)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return // Close saves
		case <-t.C:
		}
		_ = s.save()
	}
}

// save writes the state if it changed since the last save. It snapshots
// under s.mu and does the file work without it.
func (s *Sim) save() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.mu.Lock()
	if !s.dirty {
		s.mu.Unlock()
		return nil
	}
	st, writes, removes := s.snapshotLocked(s.now())
	s.dirty = false
	s.mu.Unlock()

	var written []string
	if len(writes) > 0 {
		if err := os.MkdirAll(s.resultsDir(), 0o700); err != nil {
			s.log.Error("akoolsim: cannot create the results directory", "err", err)
		}
	}
	for _, w := range writes {
		if err := writeFileAtomic(s.resultPath(w.id), w.data); err != nil {
			// Saved without it: after a restart the sample stands in. Kept in
			// memory, so the next save tries again.
			s.log.Error("akoolsim: cannot save a video", "job", w.id, "err", err)
			i := slices.IndexFunc(st.Jobs, func(j jobState) bool { return j.ID == w.id })
			st.Jobs[i].VideoFile = false
			continue
		}
		written = append(written, w.id)
	}
	err := s.writeState(st)
	if err != nil {
		s.log.Error("akoolsim: cannot save state", "path", s.cfg.StatePath, "err", err)
	}

	s.mu.Lock()
	if err != nil {
		s.dirty = true // the next change or Close tries again
	} else {
		for _, id := range written {
			// On disk and named by the saved state: serve from the file, free
			// the memory. (The job may have finished since the snapshot: the
			// bytes then moved from probe.video to result.)
			if j := s.jobs[id]; j != nil {
				j.result, j.videoFile = nil, true
				if j.probe != nil {
					j.probe.video = nil
				}
			}
		}
	}
	s.mu.Unlock()
	if err == nil {
		for _, id := range removes {
			if rerr := os.Remove(s.resultPath(id)); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				s.log.Warn("akoolsim: cannot remove a video no longer needed", "job", id, "err", rerr)
			}
		}
	}
	return err
}

func (s *Sim) writeState(st stateFile) error {
	data, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.StatePath), 0o700); err != nil {
		return err
	}
	return writeFileAtomic(s.cfg.StatePath, append(data, '\n'))
}

// snapshotLocked copies the state to save, and says which videos to write
// and which to delete after the state is on disk: those of failed jobs and
// expired results, which it also drops from memory.
func (s *Sim) snapshotLocked(now time.Time) (st stateFile, writes []resultWrite, removes []string) {
	st = stateFile{
		Version: stateVersion, SavedAt: now,
		APIKey: s.cfg.APIKey, ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret,
		UID: s.cfg.UID, TeamID: s.cfg.TeamID, Balance: s.balance,
		Tokens: make(map[string]time.Time, len(s.tokens)),
		Jobs:   make([]jobState, 0, len(s.order)),
	}
	for tok, exp := range s.tokens {
		if now.Before(exp) {
			st.Tokens[tok] = exp
		}
	}
	for _, id := range s.order {
		j := s.jobs[id]
		js := jobState{
			ID: j.id, Status: j.status, Created: j.created, Updated: j.updated,
			Image: j.image, Video: j.video, Resolution: j.resolution, Mode: j.mode, Prompt: j.prompt,
			Model: j.model, WebhookURL: j.webhookURL, Base: j.base, ResultKey: j.resultKey, ReqDuration: j.reqDuration,
			Duration: j.duration, Charged: j.charged, ForceFail: j.forceFail, FailReason: j.failReason,
			VideoFile: j.videoFile, Expires: j.expires, ExpiredEarly: j.expiredEarly,
		}
		var video []byte // never modified once set
		switch {
		case j.status == akool.StatusFailed,
			j.status == akool.StatusCompleted && (j.expiredEarly || !now.Before(j.expires)):
			// Never served (again): the bytes are no longer needed.
			if j.videoFile {
				removes = append(removes, j.id)
			}
			j.result, j.videoFile, js.VideoFile = nil, false, false
		case j.status == akool.StatusCompleted:
			video = j.result
		case j.status == akool.StatusProcessing && j.probe != nil:
			js.Probe = &probeState{FailReason: j.probe.failReason, Duration: j.probe.duration}
			video = j.probe.video
		}
		if video != nil && !j.videoFile {
			writes = append(writes, resultWrite{j.id, video})
			js.VideoFile = true
		}
		st.Jobs = append(st.Jobs, js)
	}
	for _, d := range s.pending {
		st.Webhooks = append(st.Webhooks, webhookState{
			JobID: d.jobID, Status: d.status, URL: d.url, Timestamp: d.timestamp, Nonce: d.nonce,
			BadSig: d.badSig, Attempt: d.attempt, Due: d.due,
		})
	}
	st.Deliveries = slices.Clone(s.deliveries)
	return st, writes, removes
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old content or the new, never a mix: temp file in the same directory,
// fsync, rename, fsync of the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".*.tmp") // mode 0600: the state holds credentials
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // makes the rename durable; not supported everywhere
		d.Close()
	}
	return nil
}

// readState reads and checks the state file. A missing file is
// fs.ErrNotExist; anything unusable is another error.
func readState(path string) (stateFile, error) {
	var st stateFile
	data, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, fmt.Errorf("not a valid state file: %w", err)
	}
	if dec.More() {
		return st, errors.New("not a valid state file: data after the JSON document")
	}
	if st.Version != stateVersion {
		return st, fmt.Errorf("state file version %d, want %d", st.Version, stateVersion)
	}
	seen := make(map[string]bool, len(st.Jobs))
	for _, j := range st.Jobs {
		// The id names a file on disk: it must be exactly what newIDLocked makes.
		if b, err := hex.DecodeString(j.ID); err != nil || len(b) != 12 || strings.ToLower(j.ID) != j.ID {
			return st, fmt.Errorf("job id %q is not 24 lowercase hex digits", j.ID)
		}
		switch {
		case seen[j.ID]:
			return st, fmt.Errorf("job %s appears twice", j.ID)
		case !j.Status.Valid():
			return st, fmt.Errorf("job %s: invalid status %d", j.ID, j.Status)
		case rates[j.Resolution] == 0:
			return st, fmt.Errorf("job %s: invalid resolution %q", j.ID, j.Resolution)
		case j.Created.IsZero():
			return st, fmt.Errorf("job %s: no create time", j.ID)
		case j.ResultKey != "" && !validResultKey(j.ResultKey):
			return st, fmt.Errorf("job %s: result key is not %d lowercase hex bytes", j.ID, resultKeyBytes)
		case j.Status == akool.StatusCompleted && j.Expires.IsZero():
			return st, fmt.Errorf("job %s: completed without an expiry", j.ID)
		}
		seen[j.ID] = true
	}
	for _, w := range st.Webhooks {
		if !seen[w.JobID] {
			return st, fmt.Errorf("webhook for unknown job %q", w.JobID)
		}
	}
	return st, nil
}

// loadState fills a new Sim (before its goroutines start) from the state
// file, or leaves it fresh: when the file is missing, and when it is
// unusable, which is logged and the file moved aside to <StatePath>.corrupt.
// It reports whether state was loaded.
func (s *Sim) loadState() bool {
	path := s.cfg.StatePath
	s.removeTemps(filepath.Dir(path), filepath.Base(path)+".")
	st, err := readState(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("akoolsim: no saved state; starting fresh", "path", path)
		return false
	case err != nil:
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			aside = ""
		}
		s.log.Error("akoolsim: cannot load saved state; starting fresh", "path", path, "err", err, "moved_to", aside)
		return false
	}

	// Config wins over the file; the file fills in what Config leaves empty.
	if s.cfg.APIKey == "" && s.cfg.ClientID == "" && s.cfg.ClientSecret == "" {
		s.cfg.APIKey, s.cfg.ClientID, s.cfg.ClientSecret = st.APIKey, st.ClientID, st.ClientSecret
	}
	if s.cfg.UID == 0 {
		s.cfg.UID = st.UID
	}
	if s.cfg.TeamID == "" {
		s.cfg.TeamID = st.TeamID
	}
	s.balance = st.Balance
	if s.cfg.ClientID == st.ClientID && s.cfg.ClientSecret == st.ClientSecret {
		maps.Copy(s.tokens, st.Tokens) // tokens belong to the account that got them
	}
	keep := make(map[string]bool)
	for _, js := range st.Jobs {
		base := strings.TrimRight(s.cfg.BaseURL, "/")
		if base == "" {
			base = js.Base
		}
		j := &job{
			id: js.ID, created: js.Created, updated: js.Updated, status: js.Status,
			image: js.Image, video: js.Video, resolution: js.Resolution, mode: js.Mode, prompt: js.Prompt,
			model: js.Model, webhookURL: js.WebhookURL, base: base, resultKey: js.ResultKey, reqDuration: js.ReqDuration,
			duration: js.Duration, charged: js.Charged, forceFail: js.ForceFail, failReason: js.FailReason,
			videoFile: js.VideoFile, expires: js.Expires, expiredEarly: js.ExpiredEarly,
		}
		if j.resultKey == "" {
			// Saved before result URLs had a random part: give the job one.
			// A URL handed out before then stops working, as it must.
			j.resultKey = newResultKey()
			s.dirty = true
		}
		if js.Probe != nil && j.status == akool.StatusProcessing {
			j.probe = &probeResult{failReason: js.Probe.FailReason, duration: js.Probe.Duration}
		}
		if j.videoFile {
			if _, err := os.Stat(s.resultPath(j.id)); err != nil {
				s.log.Error("akoolsim: saved video missing", "job", j.id, "err", err)
				j.videoFile = false
				if j.probe != nil {
					j.probe = nil // fetch the inputs again
				} // a completed job serves the sample instead
				s.dirty = true
			}
		}
		keep[j.id+".mp4"] = j.videoFile
		s.jobs[j.id] = j
		s.order = append(s.order, j.id)
	}
	s.deliveries = st.Deliveries
	for _, w := range st.Webhooks {
		d := &delivery{
			jobID: w.JobID, status: w.Status, url: w.URL, timestamp: w.Timestamp, nonce: w.Nonce,
			badSig: w.BadSig, attempt: w.Attempt, due: w.Due,
		}
		body, err := s.webhookBody(s.jobs[w.JobID], d)
		if err != nil {
			s.deliveries = append(s.deliveries, Delivery{JobID: d.jobID, Status: d.status, URL: d.url,
				Attempt: d.attempt, At: s.now(), Final: true, Err: "cannot build webhook: " + err.Error()})
			s.dirty = true
			continue
		}
		d.body = body
		s.pending = append(s.pending, d)
	}
	s.removeOrphanResults(keep)
	s.log.Info("akoolsim: state loaded", "path", path, "jobs", len(st.Jobs), "balance", st.Balance,
		"pending_webhooks", len(s.pending), "saved_at", st.SavedAt)
	return true
}

// removeTemps deletes temp files a crash left behind in dir.
func (s *Sim) removeTemps(dir, prefix string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasPrefix(n, prefix) && strings.HasSuffix(n, ".tmp") {
			s.log.Warn("akoolsim: removing a temp file left by an interrupted save", "file", n)
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

// removeOrphanResults deletes result videos no saved job names (written
// just before a crash that lost the state naming them) and temp files.
func (s *Sim) removeOrphanResults(keep map[string]bool) {
	entries, err := os.ReadDir(s.resultsDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && !keep[n] {
			_ = os.Remove(filepath.Join(s.resultsDir(), n))
		}
	}
}
