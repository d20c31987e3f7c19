package handlers

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
	"swapdesk/internal/pricing"
	"swapdesk/internal/urls"
	"swapdesk/static"
	"swapdesk/views"
)

// jobService checks and submits jobs.
type jobService interface {
	Estimate(ctx context.Context, userID int64, in jobs.Input) (*jobs.Check, error)
	Submit(ctx context.Context, userID int64, in jobs.Input) (db.Job, bool, error)
}

// jobStore reads jobs, balances and ledger lines for pages.
type jobStore interface {
	JobForViewer(ctx context.Context, id, viewerID int64, admin bool) (db.Job, error)
	// JobPage returns a job v may open the page of (JobForViewer's or
	// VisibleArchived's) with its neighbours and v's star, in one query.
	JobPage(ctx context.Context, v db.Viewer, id int64) (db.JobPage, error)
	// JobRecord returns a job's events, ledger lines and (when withShares)
	// share links, in one query.
	JobRecord(ctx context.Context, jobID int64, withShares bool) (db.JobRecord, error)
	Balance(ctx context.Context, userID int64) (db.Balance, error)
	ListJobCards(ctx context.Context, q db.JobQuery) ([]db.JobCard, error)
	DeleteJob(ctx context.Context, id, userID int64) (db.Job, error)
	CountRunning(ctx context.Context, userID int64) (int, error)
	// VisibleArchived returns a job with an archived copy that was not
	// deleted and that v may see (hidden ones only to their owner and
	// admins), or an error wrapping apperr.ErrNotFound.
	VisibleArchived(ctx context.Context, v db.Viewer, id int64) (db.Job, error)
}

// jobInput is the job form as posted; it binds nothing else.
type jobInput struct {
	ImageURL   string
	VideoURL   string
	Mode       string
	Resolution string
	Duration   string
	Prompt     string
	Idem       string // posted only: a prefilled form gets a new one
}

func (in jobInput) service() jobs.Input {
	return jobs.Input{ImageURL: in.ImageURL, VideoURL: in.VideoURL, Mode: in.Mode, Resolution: in.Resolution,
		Duration: in.Duration, Prompt: in.Prompt, IdempotencyKey: in.Idem}
}

// bindJob reads the job form from the body (POST) or the query (GET, for a
// prefilled form). Values are kept whole: the body limit bounds them, and
// validation says which is too long (cutting them could split a character
// and would change what the member sees).
func bindJob(c echo.Context) (jobInput, error) {
	v, err := formValues(c)
	if err != nil {
		return jobInput{}, err
	}
	in := jobInput{
		ImageURL: v.Get(fields.ImageURL), VideoURL: v.Get(fields.VideoURL), Mode: v.Get(fields.Mode),
		Resolution: v.Get(fields.Resolution), Duration: v.Get(fields.Duration), Prompt: v.Get(fields.Prompt),
	}
	if c.Request().Method != http.MethodGet {
		in.Idem = v.Get(fields.Idem)
	}
	return in, nil
}

func (s *Server) jobForm(c echo.Context, in jobInput, errs apperr.FieldErrors) views.JobForm {
	f := views.JobForm{
		ImageURL: in.ImageURL, VideoURL: in.VideoURL, Mode: in.Mode, Resolution: in.Resolution,
		Duration: in.Duration, Prompt: in.Prompt, IdempotencyKey: in.Idem, Errors: errs,
	}
	if f.Mode == "" {
		f.Mode = string(pricing.DefaultMode)
	}
	if f.Resolution == "" {
		f.Resolution = string(pricing.DefaultResolution)
	}
	if f.IdempotencyKey == "" {
		f.IdempotencyKey = newToken()
	}
	for _, m := range pricing.Modes() {
		label, desc, _ := strings.Cut(m.Description(), ": ")
		f.Modes = append(f.Modes, views.Option{Value: string(m), Label: label, Description: desc})
	}
	for _, r := range pricing.Resolutions() {
		f.Resolutions = append(f.Resolutions, views.Option{Value: string(r),
			Label: fmt.Sprintf("%s — %d credits per 5 s", r, r.Rate())})
	}
	if s.cfg.Sandbox {
		f.SampleLink = urls.NewJobSample()
	}
	return f
}

// sampleInputs are the sandbox's sample character image and motion video
// (a 12-second clip), at the address this request came to: the sandbox
// routes that address to loopback.
func sampleInputs(c echo.Context) (image, video string) {
	base := c.Scheme() + "://" + c.Request().Host
	return base + static.Prefix + "samples/character.png", base + static.Prefix + "samples/motion.mp4"
}

// newJob shows the form, prefilled from the query (re-run, samples).
func (s *Server) newJob(c echo.Context) error {
	in, err := bindJob(c)
	if err != nil {
		return err
	}
	in.Idem = ""
	if s.cfg.Sandbox && c.QueryParam(fields.Sample) == "1" {
		in.ImageURL, in.VideoURL = sampleInputs(c)
	}
	u := currentUser(c)
	bal, err := s.cfg.JobStore.Balance(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	f := s.jobForm(c, in, nil)
	f.Estimate = views.Estimate{Available: bal.Available, After: bal.Available}
	if f.Notice, err = s.allowanceNotice(c, u, bal); err != nil {
		return err
	}
	return render(c, http.StatusOK, views.NewJobPage(s.page(c, "New swap", views.NavNewJob), f))
}

// estimate answers the live estimate panel as the member types. Empty
// fields are not complained about yet.
func (s *Server) estimate(c echo.Context) error {
	in, err := bindJob(c)
	if err != nil {
		return err
	}
	chk, err := s.cfg.Jobs.Estimate(c.Request().Context(), currentUser(c).ID, in.service())
	var tooMany *apperr.TooMany
	if errors.As(err, &tooMany) {
		// The panel says so; the field messages stay as they are.
		c.Response().Header().Set("Retry-After", "1")
		c.Response().Header().Set("Cache-Control", "no-store")
		return render(c, http.StatusTooManyRequests, views.EstimatePanel(views.Estimate{Notice: tooMany.Message}))
	}
	if err != nil {
		return err
	}
	blank := map[string]bool{
		fields.ImageURL: strings.TrimSpace(in.ImageURL) == "",
		fields.VideoURL: strings.TrimSpace(in.VideoURL) == "",
	}
	for f := range chk.Fields {
		if blank[f] {
			delete(chk.Fields, f)
		}
	}
	e := estimateView(chk, in)
	e.OOB = true
	c.Response().Header().Set("Cache-Control", "no-store")
	return render(c, http.StatusOK, views.EstimatePanel(e))
}

// createJob re-checks everything server-side, holds the credits, writes the
// job and sends it to Akool; a resubmitted form goes to the job it made.
func (s *Server) createJob(c echo.Context) error {
	in, err := bindJob(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	ctx := c.Request().Context()
	job, created, err := s.cfg.Jobs.Submit(ctx, u.ID, in.service())
	var inputErr *jobs.InputError
	var tooMany *apperr.TooMany
	switch {
	case errors.As(err, &inputErr):
		return s.rejectJob(c, in, inputErr)
	case errors.As(err, &tooMany):
		return s.slowDown(c, in, tooMany)
	case err != nil:
		return err
	}
	switch {
	case !created:
		addFlash(c, views.FlashInfo, "This swap was already started; here it is.")
	case job.Status == db.JobRejected:
		addFlash(c, views.FlashError, "Akool did not accept this job: "+job.ErrorMessage+" Your credits were returned.")
	case job.Status == db.JobInterrupted:
		addFlash(c, views.FlashError, job.ErrorMessage)
	default:
		addFlash(c, views.FlashSuccess, fmt.Sprintf("Swap started. %d credits are held until it finishes.", job.EstimateCredits))
	}
	return redirect(c, urls.Job(job.ID))
}

// rejectJob shows the form again with the member's values and what is
// wrong (422), using the check Submit already made: the links are not
// probed a second time.
func (s *Server) rejectJob(c echo.Context, in jobInput, ie *jobs.InputError) error {
	msg := "Please correct the fields marked below."
	var short *apperr.InsufficientCredits
	var invalid *apperr.Invalid
	switch {
	case errors.As(ie.Err, &short):
		msg = fmt.Sprintf("Your balance of %d credits does not cover this job (%d credits). Ask an admin for more credits.",
			short.Available, short.Needed)
	case errors.As(ie.Err, &invalid) && len(invalid.Fields) == 0:
		// About the form's one-time token (malformed, or already used for
		// other inputs): the form shown comes with a new one.
		msg, in.Idem = invalid.Message, ""
	}
	p := s.page(c, "New swap", views.NavNewJob)
	var started views.StartedNotice
	if before, after, ok := strings.Cut(msg, fmt.Sprintf("Swap #%d", ie.StartedJob)); ie.StartedJob != 0 && ok {
		// The page names the job as a link (Swap #N), in the service's words.
		started = views.StartedNotice{Before: before, JobID: ie.StartedJob, After: after}
	} else {
		p.Flashes = append(p.Flashes, views.Flash{Kind: views.FlashError, Message: msg})
	}
	var fields apperr.FieldErrors
	if ie.Check != nil {
		fields = ie.Check.Fields
	}
	f := s.jobForm(c, in, fields)
	f.Started = started
	if ie.Check != nil {
		f.Estimate = estimateView(ie.Check, in)
	} else {
		bal, err := s.cfg.JobStore.Balance(c.Request().Context(), currentUser(c).ID)
		if err != nil {
			return err
		}
		f.Estimate = views.Estimate{Available: bal.Available, After: bal.Available}
	}
	return render(c, http.StatusUnprocessableEntity, views.NewJobPage(p, f))
}

// slowDown shows the form again, as the member filled it in and with the
// same one-time token, saying why nothing was checked or started (429).
func (s *Server) slowDown(c echo.Context, in jobInput, tooMany *apperr.TooMany) error {
	bal, err := s.cfg.JobStore.Balance(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	p := s.page(c, "New swap", views.NavNewJob)
	p.Flashes = append(p.Flashes, views.Flash{Kind: views.FlashError, Message: tooMany.Message})
	f := s.jobForm(c, in, nil)
	f.Estimate = views.Estimate{Available: bal.Available, After: bal.Available}
	c.Response().Header().Set("Retry-After", "5")
	return render(c, http.StatusTooManyRequests, views.NewJobPage(p, f))
}

// deleteJob removes a finished job of the member's from lists and deletes
// its archived video; the ledger keeps its entries.
func (s *Server) deleteJob(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	u := currentUser(c)
	job, err := s.cfg.JobStore.DeleteJob(c.Request().Context(), id, u.ID)
	if errors.Is(err, apperr.ErrConflict) {
		addFlash(c, views.FlashError, "A running job cannot be deleted; wait until it finishes.")
		return redirect(c, urls.Job(id))
	}
	if err != nil {
		return err
	}
	s.removeJobFiles(c.Request().Context(), job)
	addFlash(c, views.FlashSuccess, fmt.Sprintf("Swap #%d deleted.", job.ID))
	return redirect(c, urls.Jobs())
}

// removeJobFiles deletes a deleted job's files from the media store. The
// row no longer points at them (the routes check deleted_at): a failure
// leaves an orphan to log, not a file someone can still see.
func (s *Server) removeJobFiles(ctx context.Context, job db.Job) {
	for _, key := range []string{job.ArchivePath, job.PosterKey, job.PreviewKey, job.ImageKey} {
		if key == "" {
			continue
		}
		if err := s.cfg.Media.Delete(context.WithoutCancel(ctx), key); err != nil {
			s.log.Error("remove a deleted job's file", "job_id", job.ID, "key", key, "err", err)
		}
	}
}

// showJob is a job's page. Members see their own jobs and the team's
// results in the gallery; admins see all.
func (s *Server) showJob(c echo.Context) error {
	id, err := mediaID(c)
	if err != nil {
		return err
	}
	// One query: the job (its owner's, an admin's, or a visible archived
	// result), its neighbours and the viewer's star.
	jp, err := s.cfg.JobStore.JobPage(c.Request().Context(), viewer(currentUser(c)), id)
	if err != nil {
		return err
	}
	job := jp.Job
	m, err := s.buildJobPage(c, jp, true)
	if err != nil {
		return err
	}
	p := s.page(c, fmt.Sprintf("Swap #%d", job.ID), views.NavJobs)
	if job.Status == db.JobSucceeded || job.Status == db.JobFailed {
		// "Swap started. 30 credits are held…" spoke of a running job; a
		// job that finished before its page loaded is told by its card.
		p.Flashes = slices.DeleteFunc(p.Flashes, func(f views.Flash) bool { return f.Kind == views.FlashSuccess })
	}
	return render(c, http.StatusOK, views.JobDetailPage(p, m))
}

// jobPage builds a job page's model: the job, its card, ledger and history,
// reading its neighbours and star on their own (showJob reads them with the
// job: db.JobPage).
func (s *Server) jobPage(c echo.Context, job db.Job) (views.JobPage, error) {
	jp := db.JobPage{Job: job}
	if job.ArchiveState == db.ArchiveDone {
		u := currentUser(c)
		n, err := s.cfg.Frames.ArchivedNeighbors(c.Request().Context(), viewer(u), job.ID)
		if err != nil {
			return views.JobPage{}, err
		}
		jp.Neighbors = n
		if job.ArchivePath != "" {
			fav, err := s.cfg.Gallery.IsFavorite(c.Request().Context(), u.ID, job.ID)
			if err != nil {
				s.log.Warn("read favorite", "job_id", job.ID, "err", err)
			}
			jp.Favorite = fav
		}
	}
	return s.buildJobPage(c, jp, false)
}

// buildJobPage builds a job page's model from jp, with its share links when
// withShares and the viewer may see them.
func (s *Server) buildJobPage(c echo.Context, jp db.JobPage, withShares bool) (views.JobPage, error) {
	job := jp.Job
	u := currentUser(c)
	ctx := c.Request().Context()
	// Share links are their owner's and admins' business, not a teammate's
	// who opened the result from the gallery (jobResult's ShowLedger).
	withShares = withShares && (job.UserID == u.ID || u.IsAdmin())
	rec, err := s.cfg.JobStore.JobRecord(ctx, job.ID, withShares)
	if err != nil {
		return views.JobPage{}, err
	}
	entries, events := rec.Ledger, rec.Events
	m := views.JobPage{Job: jobView(job), Card: s.fullCard(c, job), Gallery: s.jobGallery(c, job, jp.Favorite)}
	if job.UserID != u.ID {
		// Looked up once: the job's facts and its result both name the owner.
		if owner, err := s.cfg.Users.UserByID(ctx, job.UserID); err == nil {
			m.Job.Owner = owner.Name
		}
	}
	if m.Result, err = s.jobResult(c, job, m.Job.Owner, jp.Neighbors); err != nil {
		return views.JobPage{}, err
	}
	m.History = append(m.History, views.JobEventRow{At: job.CreatedAt, Label: "Submitted"})
	for _, e := range events {
		row := views.JobEventRow{At: e.At, Label: eventLabel(e.Status), Detail: e.Detail}
		if e.Status == db.ArchiveDone {
			// The archived file's size and checksum are for an admin
			// checking the archive, not part of a member's history.
			row.Detail = ""
			if u.IsAdmin() {
				row.Tech = e.Detail
			}
		}
		m.History = append(m.History, row)
	}
	for _, e := range entries {
		if !m.Result.ShowLedger {
			break
		}
		m.Ledger = append(m.Ledger, views.LedgerRow{At: e.CreatedAt, Kind: e.Kind, Amount: e.Amount})
	}
	if withShares {
		m.Shares = s.shareLinks(job, rec.Shares)
	}
	return m, nil
}

func eventLabel(status string) string {
	if st := db.JobStatus(status); st.Known() {
		return st.Label()
	}
	switch status {
	case db.ArchiveDone:
		return "Saved to the gallery"
	case db.ArchiveExpired:
		return "Akool's copy expired"
	case db.ArchiveFailed:
		return "Could not be saved"
	case "archive_retry":
		return "Saving failed, will retry"
	case "deleted":
		return "Deleted"
	}
	return status
}

func jobView(j db.Job) views.JobView {
	v := views.JobView{
		ID: j.ID, ImageURL: j.ImageURL, VideoURL: j.VideoURL,
		Mode: j.Mode, Resolution: j.Resolution, Duration: "from the video", Billed: secs(j.BilledSeconds),
		EstimateCredits: j.EstimateCredits, Prompt: j.Prompt, CreatedAt: j.CreatedAt,
	}
	if j.DurationRequested != nil {
		v.Duration = secs(*j.DurationRequested)
	}
	if j.ChargedCredits != nil {
		v.ChargedCredits = strconv.FormatInt(*j.ChargedCredits, 10)
	}
	return v
}

// estimateView turns a check into the estimate panel.
func estimateView(chk *jobs.Check, in jobInput) views.Estimate {
	e := views.Estimate{Available: chk.Balance.Available, After: chk.After, Fields: map[string]string(chk.Fields)}
	if chk.Image != nil {
		e.ImageURL = strings.TrimSpace(in.ImageURL)
		e.ImageSummary = fmt.Sprintf("%s, %d×%d", strings.ToUpper(chk.Image.Format), chk.Image.Width, chk.Image.Height)
	}
	if chk.Video != nil {
		e.VideoURL = strings.TrimSpace(in.VideoURL)
		parts := []string{}
		if chk.Video.Duration > 0 {
			e.Detected = secs(chk.Video.Duration)
			parts = append(parts, e.Detected)
		}
		if chk.Video.Width > 0 {
			parts = append(parts, fmt.Sprintf("%d×%d", chk.Video.Width, chk.Video.Height))
		}
		if chk.Video.Codec != "" {
			parts = append(parts, chk.Video.Codec)
		}
		e.VideoSummary = strings.Join(parts, " · ")
	}
	if q := chk.Quote; q != nil {
		e.Ready = true
		e.Billed = secs(q.Seconds)
		e.Blocks, e.Rate, e.Credits, e.Resolution = q.Blocks, q.Rate, q.Credits, string(q.Resolution)
		e.Short = chk.Short()
		if sv, ok := pricing.SavingFor(*q); ok {
			e.Saving = &views.Saving{
				Seconds: strconv.Itoa(sv.Seconds),
				Credits: sv.Credits,
				Over:    secs(q.Seconds - float64(sv.Seconds)),
				URL:     shorterFormURL(in, sv.Seconds),
			}
		}
	}
	for _, f := range fields.Job {
		if msg := chk.Fields[f]; msg != "" {
			e.Problems = append(e.Problems, msg)
		}
	}
	return e
}

// shorterFormURL is the New swap form prefilled with in and a duration of
// seconds: the money saver's link for browsers without JavaScript. The
// one-time token is left out (the form gets a new one).
func shorterFormURL(in jobInput, seconds int) string {
	keep := func(v string) string {
		if strings.TrimSpace(v) == "" {
			return ""
		}
		return v
	}
	return urls.NewJobWith(urls.JobForm{
		ImageURL: keep(in.ImageURL), VideoURL: keep(in.VideoURL), Mode: keep(in.Mode),
		Resolution: keep(in.Resolution), Prompt: keep(in.Prompt), Duration: strconv.Itoa(seconds),
	})
}

// secs formats seconds for people, rounding up to hundredths so a billed
// 10.001 s never reads as a round 10 s.
func secs(v float64) string {
	return strconv.FormatFloat(math.Ceil(v*100-1e-9)/100, 'f', -1, 64) + " s"
}
