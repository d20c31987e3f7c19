package handlers

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/bundle"
	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
	"swapdesk/internal/problem"
	"swapdesk/internal/storage"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
)

// apiJobLister pages through a member's jobs for the API.
type apiJobLister interface {
	JobsByStatus(ctx context.Context, q db.StatusJobQuery) ([]db.Job, error)
}

// The API's job body: the form's fields, by the form's names.
var (
	jobBodyFields = map[string]jsonKind{
		fields.ImageURL: jsonString, fields.VideoURL: jsonString, fields.Mode: jsonString,
		fields.Resolution: jsonString, fields.Duration: jsonNumber, fields.Prompt: jsonString,
	}
	jobBodyOrder = fields.Job
)

// Query parameters and headers of the API.
const (
	paramStatus       = "status"
	paramLimit        = "limit"
	headerIdempotency = "Idempotency-Key"
	headerPrefer      = "Prefer"
	headerApplied     = "Preference-Applied"
)

// Limits of the jobs list and of Prefer: wait.
const (
	apiJobsDefaultLimit = 20
	apiJobsMaxLimit     = 100
	apiMaxWait          = 60
	// apiWaitRecheck is how often a waiting request re-reads its job
	// besides being told of changes (a change the watch did not see).
	apiWaitRecheck = 2 * time.Second
)

// Retry-After for the member's link-check limits, as the form says it.
const (
	estimateRetryAfter = 1
	submitRetryAfter   = 5
)

// bindAPIJob reads a job body into the form's input.
func bindAPIJob(c echo.Context) (jobs.Input, error) {
	f, err := decodeBody(c, jobBodyFields, jobBodyOrder)
	if err != nil {
		return jobs.Input{}, err
	}
	return jobs.Input{ImageURL: f[fields.ImageURL], VideoURL: f[fields.VideoURL], Mode: f[fields.Mode],
		Resolution: f[fields.Resolution], Duration: f[fields.Duration], Prompt: f[fields.Prompt]}, nil
}

// apiEstimate is the exact price of a job as the form would start it.
type apiEstimate struct {
	Credits          int      `json:"credits"`
	BilledSeconds    float64  `json:"billed_seconds"`
	DetectedSeconds  *float64 `json:"detected_seconds"`
	RequestedSeconds *float64 `json:"requested_seconds"`
	Blocks           int      `json:"blocks"`
	Rate             int      `json:"rate"`
	Mode             string   `json:"mode"`
	Resolution       string   `json:"resolution"`
	Available        int64    `json:"available"`
	BalanceAfter     int64    `json:"balance_after"`
	Enough           bool     `json:"enough"`
}

// apiEstimateJob is POST /api/v1/estimate: the check the form's estimate
// panel makes (same validation, link probes and price, same per-member
// limits), with every problem reported, empty fields included.
func (s *Server) apiEstimateJob(c echo.Context) error {
	in, err := bindAPIJob(c)
	if err != nil {
		return err
	}
	p := principal(c)
	chk, err := s.cfg.Jobs.Estimate(c.Request().Context(), p.User.ID, in)
	var tooMany *apperr.TooMany
	if errors.As(err, &tooMany) {
		return &apiError{typ: problem.RateLimited, detail: tooMany.Message, retryAfter: estimateRetryAfter}
	}
	if err != nil {
		return err
	}
	if chk.Fields.Any() {
		return apperr.Fields(chk.Fields)
	}
	q := chk.Quote
	if q == nil {
		return fmt.Errorf("estimate passed without a quote")
	}
	return apiJSON(c, http.StatusOK, apiEstimate{
		Credits: q.Credits, BilledSeconds: q.Seconds, DetectedSeconds: detectedOf(chk), RequestedSeconds: chk.Requested,
		Blocks: q.Blocks, Rate: q.Rate, Mode: string(chk.Mode), Resolution: string(q.Resolution),
		Available: chk.Balance.Available, BalanceAfter: chk.After, Enough: !chk.Short(),
	})
}

func detectedOf(chk *jobs.Check) *float64 {
	if chk.Video == nil || chk.Video.Duration <= 0 {
		return nil
	}
	d := chk.Video.Duration
	return &d
}

// apiCreateJob is POST /api/v1/jobs: Submit, as the form does, under the
// client's Idempotency-Key. The key is stored as the job's idempotency key
// (jobs.ClientKey), unique per member in the jobs table: a retry with the
// same body finds the job (200) without a second hold, a retry with
// another body is refused (409), and retries that race make one job.
func (s *Server) apiCreateJob(c echo.Context) error {
	rawKey := c.Request().Header.Get(headerIdempotency)
	key, err := jobs.ClientKey(rawKey)
	if err != nil {
		msg := apperr.Message(err)
		return apiProblem(problem.IdempotencyKey, msg, problem.FieldError{Field: headerIdempotency, Message: msg})
	}
	in, err := bindAPIJob(c)
	if err != nil {
		return err
	}
	in.IdempotencyKey = key
	p := principal(c)
	job, created, err := s.cfg.Jobs.Submit(c.Request().Context(), p.User.ID, in)
	var tooMany *apperr.TooMany
	if errors.As(err, &tooMany) {
		return &apiError{typ: problem.RateLimited, detail: tooMany.Message, retryAfter: submitRetryAfter}
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Response().Header().Set(echo.HeaderLocation, s.publicBase(c)+urls.APIJob(job.ID))
	}
	return apiJSON(c, status, s.apiJobOf(c, job))
}

// apiJob is a job as the API shows it.
type apiJob struct {
	ID           int64          `json:"id"`
	Status       db.JobStatus   `json:"status"`
	Error        *string        `json:"error"`
	Input        apiJobInput    `json:"input"`
	Estimate     apiJobEstimate `json:"estimate"`
	Credits      apiJobCredits  `json:"credits"`
	ExpiresAt    *string        `json:"expires_at"`
	Archived     bool           `json:"archived"`
	ArchiveState *string        `json:"archive_state"`
	URLs         apiJobURLs     `json:"urls"`
	CreatedAt    string         `json:"created_at"`
	UpdatedAt    string         `json:"updated_at"`
	FinishedAt   *string        `json:"finished_at"`
}

type apiJobInput struct {
	ImageURL   string   `json:"image_url"`
	VideoURL   string   `json:"video_url"`
	Mode       string   `json:"mode"`
	Resolution string   `json:"resolution"`
	Duration   *float64 `json:"duration"`
	Prompt     string   `json:"prompt"`
}

type apiJobEstimate struct {
	Credits         int64    `json:"credits"`
	BilledSeconds   float64  `json:"billed_seconds"`
	DetectedSeconds *float64 `json:"detected_seconds"`
}

type apiJobCredits struct {
	Held    int64  `json:"held"`
	Charged *int64 `json:"charged"`
}

type apiJobURLs struct {
	Content *string `json:"content"`
	Poster  *string `json:"poster"`
	Page    string  `json:"page"`
}

// apiTime is t in RFC 3339, UTC.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func apiTimePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := apiTime(t)
	return &s
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (s *Server) apiJobOf(c echo.Context, j db.Job) apiJob {
	base := s.publicBase(c)
	v := apiJob{
		ID: j.ID, Status: j.Status,
		Input: apiJobInput{ImageURL: j.ImageURL, VideoURL: j.VideoURL, Mode: j.Mode, Resolution: j.Resolution,
			Duration: j.DurationRequested, Prompt: j.Prompt},
		Estimate: apiJobEstimate{Credits: j.EstimateCredits, BilledSeconds: j.BilledSeconds, DetectedSeconds: j.DurationDetected},
		Credits:  apiJobCredits{Charged: j.ChargedCredits},
		// Akool's copy: known once it finished; ours, once archived, does
		// not expire.
		ExpiresAt:    apiTimePtr(j.ResultExpiresAt),
		Archived:     j.ArchiveState == db.ArchiveDone && j.ArchivePath != "",
		ArchiveState: strPtr(j.ArchiveState),
		URLs:         apiJobURLs{Page: base + urls.Job(j.ID)},
		CreatedAt:    apiTime(j.CreatedAt), UpdatedAt: apiTime(j.UpdatedAt), FinishedAt: apiTimePtr(j.FinishedAt),
	}
	if !j.Final() {
		v.Credits.Held = j.EstimateCredits
	}
	if j.Final() && j.Status != db.JobSucceeded {
		v.Error = strPtr(j.ErrorMessage)
	}
	if v.Archived {
		v.URLs.Content = strPtr(base + urls.APIJobContent(j.ID))
		if posterKey(j) != "" {
			v.URLs.Poster = strPtr(base + urls.APIJobPoster(j.ID))
		}
	}
	return v
}

// apiJobID is the :id of an API job route; anything but a positive
// number is a 404, like an unknown id.
func apiJobID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

// apiViewableJob loads :id for the token's member: their own job, or any
// for an admin, as the job page; anyone else's is a 404 like a missing
// one.
func (s *Server) apiViewableJob(ctx context.Context, p tokens.Principal, id int64) (db.Job, error) {
	return s.cfg.JobStore.JobForViewer(ctx, id, p.User.ID, p.User.IsAdmin())
}

// apiGetJob is GET /api/v1/jobs/:id. With "Prefer: wait=N" (N up to 60)
// it answers as soon as the job is settled (see apiSettled), or after N
// seconds with the job as it is then; Preference-Applied says the wait that was honoured. It
// holds no database connection while waiting: the tracker and archiver
// tell the job watch of changes, and the job is re-read every 2 s anyway.
func (s *Server) apiGetJob(c echo.Context) error {
	id, err := apiJobID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	p := principal(c)
	job, err := s.apiViewableJob(ctx, p, id)
	if err != nil {
		return err
	}
	wait, ok := preferWait(c.Request().Header.Values(headerPrefer))
	if ok {
		c.Response().Header().Set(headerApplied, "wait="+strconv.Itoa(wait))
		if !apiSettled(job) && wait > 0 {
			if job, err = s.waitFinal(ctx, p, id, time.Duration(wait)*time.Second); err != nil {
				return err
			}
		}
	}
	return apiJSON(c, http.StatusOK, s.apiJobOf(c, job))
}

// apiSettled reports whether a waiting script has all it will get: the
// job is final and, when it succeeded, its video is archived or archiving
// gave up, so the answer's content URL is there when it ever will be.
func apiSettled(j db.Job) bool {
	return j.Final() && !(j.Status == db.JobSucceeded && j.ArchiveState == db.ArchivePending)
}

// waitFinal re-reads job id until it is settled or d has passed, and
// returns it as it is then.
func (s *Server) waitFinal(ctx context.Context, p tokens.Principal, id int64, d time.Duration) (db.Job, error) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	recheck := time.NewTicker(apiWaitRecheck)
	defer recheck.Stop()
	for {
		var changed <-chan struct{}
		stop := func() {}
		if s.cfg.JobWatch != nil {
			// Subscribed before the read, so a change in between wakes us.
			changed, stop = s.cfg.JobWatch.Wait(id)
		}
		job, err := s.apiViewableJob(ctx, p, id)
		if err != nil || apiSettled(job) {
			stop()
			return job, err
		}
		select {
		case <-changed:
		case <-recheck.C:
		case <-deadline.C:
			stop()
			return s.apiViewableJob(ctx, p, id)
		case <-ctx.Done():
			stop()
			return db.Job{}, ctx.Err()
		}
		stop()
	}
}

// preferWait reads "wait=N" from Prefer headers (RFC 7240): N whole
// seconds, capped at apiMaxWait. ok is false without one, or when it is
// not a number (a preference the server cannot honour is ignored).
func preferWait(headers []string) (int, bool) {
	for _, h := range headers {
		for pref := range strings.SplitSeq(h, ",") {
			name, val, found := strings.Cut(strings.TrimSpace(pref), "=")
			if !found || !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			val, _, _ = strings.Cut(val, ";")
			n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(val), `"`))
			if err != nil || n < 0 {
				return 0, false
			}
			return min(n, apiMaxWait), true
		}
	}
	return 0, false
}

// apiJobPage is a page of jobs and the cursor of the next.
type apiJobPage struct {
	Data       []apiJob `json:"data"`
	NextCursor *string  `json:"next_cursor"`
	Next       *string  `json:"next"`
}

// apiListJobs is GET /api/v1/jobs: the token's member's jobs, newest
// first, optionally in one status, a page at a time with a signed cursor.
func (s *Server) apiListJobs(c echo.Context) error {
	p := principal(c)
	status := c.QueryParam(paramStatus)
	fe := apperr.FieldErrors{}
	if status != "" && !db.JobStatus(status).Known() {
		fe.Add(paramStatus, "Choose one of the job states: submitting, queued, processing, succeeded, failed, rejected, interrupted.")
	}
	limit := apiJobsDefaultLimit
	if raw := c.QueryParam(paramLimit); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > apiJobsMaxLimit {
			fe.Add(paramLimit, fmt.Sprintf("Give a whole number from 1 to %d.", apiJobsMaxLimit))
		}
		limit = n
	}
	if fe.Any() {
		return apperr.Fields(fe)
	}
	filter := url.Values{}
	filter.Set("u", strconv.FormatInt(p.User.ID, 10))
	filter.Set(paramStatus, status)
	var before int64
	if cur := c.QueryParam(fields.Cursor); cur != "" {
		var err error
		if before, err = s.decodeJobsCursor(cur, filter); err != nil {
			return apiProblem(problem.BadRequest, "The cursor is not valid (it may have been cut or changed); start again from the first page.",
				problem.FieldError{Field: fields.Cursor, Message: "Not a cursor this API gave."})
		}
	}
	list, err := s.cfg.APIJobs.JobsByStatus(c.Request().Context(), db.StatusJobQuery{UserID: p.User.ID,
		Status: db.JobStatus(status), Before: before, Limit: limit + 1})
	if err != nil {
		return err
	}
	page := apiJobPage{Data: make([]apiJob, 0, min(len(list), limit))}
	if len(list) > limit {
		list = list[:limit]
		cur := s.encodeJobsCursor(list[len(list)-1].ID, filter)
		q := url.Values{paramStatus: {status}, fields.Cursor: {cur}}
		if c.QueryParam(paramLimit) != "" {
			q.Set(paramLimit, strconv.Itoa(limit))
		}
		page.NextCursor = &cur
		page.Next = strPtr(s.publicBase(c) + urls.APIJobsWith(q))
	}
	for _, j := range list {
		page.Data = append(page.Data, s.apiJobOf(c, j))
	}
	return apiJSON(c, http.StatusOK, page)
}

// A jobs cursor is the last job's id, MACed with the member and status
// filter it was made for (keyed like the gallery's), so a changed or
// transplanted cursor is refused.
func (s *Server) encodeJobsCursor(lastID int64, filter url.Values) string {
	payload := "j." + strconv.FormatInt(lastID, 10)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(payload)) + "." + enc.EncodeToString(s.cursorMAC(payload, filter))
}

func (s *Server) decodeJobsCursor(token string, filter url.Values) (int64, error) {
	enc := base64.RawURLEncoding
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 200 {
		return 0, errBadCursor
	}
	payload, err1 := enc.DecodeString(p64)
	mac, err2 := enc.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.cursorMAC(string(payload), filter)) {
		return 0, errBadCursor
	}
	idText, ok := strings.CutPrefix(string(payload), "j.")
	id, err := strconv.ParseInt(idText, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0, errBadCursor
	}
	return id, nil
}

// apiDeleteJob is DELETE /api/v1/jobs/:id: the form's delete (the
// member's own finished job; a running one is a 409), 204.
func (s *Server) apiDeleteJob(c echo.Context) error {
	id, err := apiJobID(c)
	if err != nil {
		return err
	}
	job, err := s.cfg.JobStore.DeleteJob(c.Request().Context(), id, principal(c).User.ID)
	if errors.Is(err, apperr.ErrConflict) {
		return apiProblem(problem.Conflict, "A running job cannot be deleted; wait until it finishes.")
	}
	if err != nil {
		return err
	}
	s.removeJobFiles(c.Request().Context(), job)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.NoContent(http.StatusNoContent)
}

// apiContent is GET /api/v1/jobs/:id/content: the archived video, under
// /media's rule (db.VisibleArchived: the team's results unless hidden,
// never a deleted one), Range-capable, through serveFile.
func (s *Server) apiContent(c echo.Context) error {
	id, err := apiJobID(c)
	if err != nil {
		return err
	}
	p := principal(c)
	job, err := s.cfg.JobStore.VisibleArchived(c.Request().Context(), db.Viewer{UserID: p.User.ID, Admin: p.User.IsAdmin()}, id)
	if err != nil {
		return err
	}
	name := bundle.FileName(job.ID, job.Resolution)
	return s.serveFile(c, storedFile{key: job.ArchivePath, contentType: "video/mp4",
		disposition: `attachment; filename="` + name + `"`, sha256: job.ArchiveSHA256, expiry: signedMediaExpiry,
		missing: func(err error) error {
			if !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("open archived video of job %d: %w", job.ID, err)
			}
			s.log.Error("archived video missing from the media store", "job_id", job.ID, "key", job.ArchivePath)
			return apiProblem(problem.NotFound, "This video's file is missing from the media store; an admin can restore it from a backup.")
		}})
}

// apiPoster is GET /api/v1/jobs/:id/poster: the result's poster (or the
// kept character image until there is one), under /media's rule.
func (s *Server) apiPoster(c echo.Context) error {
	id, err := apiJobID(c)
	if err != nil {
		return err
	}
	p := principal(c)
	job, err := s.cfg.Frames.VisibleArchived(c.Request().Context(), db.Viewer{UserID: p.User.ID, Admin: p.User.IsAdmin()}, id)
	if err != nil {
		return err
	}
	key := posterKey(job)
	if key == "" {
		return apiProblem(problem.NotFound, "This result has no poster yet.")
	}
	ctype := "image/jpeg"
	if key == job.ImageKey {
		ctype = job.ImageType
	}
	return s.serveStored(c, key, ctype, "inline", "")
}
