package handlers

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// jobCard answers a card's poll with one indexed query and no Akool call.
// A finished job's card carries no trigger and the answer is 286 (htmx's
// "stop polling"), so polling ends either way. The exception is a result
// still being archived: its card polls slowly until our copy is ready, so
// the player moves from Akool's expiring link to /media/:id in place.
func (s *Server) jobCard(c echo.Context) error {
	job, err := s.viewableJob(c)
	if err != nil {
		return err
	}
	full := c.QueryParam(fields.Full) == "1"
	var card views.JobCard
	if full {
		card = s.fullCard(c, job)
	} else {
		card = s.card(c, job.Card())
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if !card.Final || !isHTMX(c) {
		return render(c, http.StatusOK, views.ListCard(card))
	}
	// A poll that finds the job final means it just ended; say so.
	card.JustFinished = s.now().Sub(job.FinishedAt) < 5*time.Minute
	status := 286
	if card.Archiving {
		status = http.StatusOK
	}
	if !full {
		return render(c, status, views.ListCard(card))
	}
	// The job page's card saw the job end (or its archive settle): bring
	// its credits and history up to date too (running polls stay one
	// query).
	m, err := s.jobPage(c, job)
	if err != nil {
		return err
	}
	m.Card = card
	return render(c, status, views.JobSettled(m))
}

// running is how many of userID's jobs are not final, for the page title:
// the signed-in user's count came with their session (db.SessionUser);
// anyone else's is one indexed lookup. A failure costs only the count.
func (s *Server) running(c echo.Context, userID int64) int {
	if rc, ok := c.Get(ctxRunning).(runningCount); ok && rc.userID == userID {
		return rc.n
	}
	n, err := s.cfg.JobStore.CountRunning(c.Request().Context(), userID)
	if err != nil {
		if c.Request().Context().Err() == nil {
			s.log.Warn("count running jobs", "user_id", userID, "err", err)
		}
		return 0
	}
	return n
}

// runningCount is a user's running-job count as their session loaded it.
type runningCount struct {
	userID int64
	n      int
}

// viewableJob loads :id for the current user: their own, or any for admins.
func (s *Server) viewableJob(c echo.Context) (db.Job, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return db.Job{}, apperr.ErrNotFound
	}
	u := currentUser(c)
	return s.cfg.JobStore.JobForViewer(c.Request().Context(), id, u.ID, u.IsAdmin())
}

// card builds a job's card, as lists show it, from the card's columns
// only (db.JobCard); fullCard is the job page's.
func (s *Server) card(c echo.Context, j db.JobCard) views.JobCard {
	now := s.now()
	card := views.JobCard{
		ID: j.ID, Status: j.Status,
		Summary: j.Resolution + " · " + j.Mode + " · " + secs(j.BilledSeconds),
		Final:   j.Final(), Error: j.ErrorMessage,
		Own: j.UserID == currentUser(c).ID,
	}
	switch {
	case !j.Final():
		card.Elapsed = "running for " + human(now.Sub(j.CreatedAt))
		card.Credits = strconv.FormatInt(j.EstimateCredits, 10) + " credits held"
	default:
		if !j.FinishedAt.IsZero() {
			card.Elapsed = "took " + human(j.FinishedAt.Sub(j.CreatedAt))
		}
		switch {
		case j.ChargedCredits != nil && *j.ChargedCredits > 0:
			card.Credits = strconv.FormatInt(*j.ChargedCredits, 10) + " credits charged"
		default:
			card.Credits = "nothing charged"
		}
	}
	if j.Status == db.JobFailed {
		card.Refund = fmt.Sprintf("The %d credits held for it were returned; nothing was charged.", j.EstimateCredits)
	}
	if j.Status == db.JobSucceeded {
		card.ThumbURL = thumbSrc(j) // lists only: the job page has its player
		switch j.ArchiveState {
		case db.ArchiveDone:
			card.PlayURL = urls.Media(j.ID)
			card.DownloadURL = urls.MediaDownload(j.ID)
		case db.ArchivePending:
			card.ArchiveNote = "Saving a copy to the team gallery…"
			card.Archiving = true
			fallthrough
		default:
			if j.ResultURL != "" && now.Before(j.ResultExpiresAt) {
				card.PlayURL = j.ResultURL
				card.DownloadURL = j.ResultURL
				card.ExpiresIn = "in " + days(j.ResultExpiresAt.Sub(now))
			}
		}
		switch j.ArchiveState {
		case db.ArchiveExpired:
			card.ArchiveNote = "Akool deleted its copy before Swapdesk could save one."
		case db.ArchiveFailed:
			card.ArchiveNote = "Swapdesk could not save a copy of this video."
		}
	}
	return card
}

// fullCard is the job page's card: the list's, with the player's actions.
func (s *Server) fullCard(c echo.Context, j db.Job) views.JobCard {
	card := s.card(c, j.Card())
	card.Full = true
	card.ThumbURL = ""
	card.CSRF = csrfToken(c) // for the delete form
	if j.Status == db.JobSucceeded {
		card.PosterURL = posterSrc(j) // only the job page's card has a player
	}
	card.CanDelete = j.UserID == currentUser(c).ID && j.Final()
	card.RerunURL = rerunURL(j)
	return card
}

// posterURL is the still a result's player shows before it plays: the
// job's character image, when it is a web address (the CSP's img-src allows
// http and https). Real posters, cut from the result, replace it later.
func posterURL(imageURL string) string {
	u, err := url.Parse(imageURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return imageURL
}

// thumbSrc is a finished result's small picture on the jobs list and the
// dashboard: the poster route of an archived result (it falls back to the
// kept character image; a 404 leaves the placeholder), the kept image of
// another, or "" (never a member's own link: a list of them would load
// every one).
func thumbSrc(j db.JobCard) string {
	switch {
	case j.ArchiveState == db.ArchiveDone:
		return urls.MediaPoster(j.ID)
	case j.ImageKey != "":
		return urls.MediaImage(j.ID)
	}
	return ""
}

func rerunURL(j db.Job) string {
	f := urls.JobForm{ImageURL: j.ImageURL, VideoURL: j.VideoURL, Mode: j.Mode, Resolution: j.Resolution, Prompt: j.Prompt}
	if j.DurationRequested != nil {
		f.Duration = strconv.FormatFloat(*j.DurationRequested, 'f', -1, 64)
	}
	return urls.NewJobWith(f)
}

// human formats a duration for people: "45 s", "3 min 5 s", "2 h 10 min".
func human(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	sec := int(d.Seconds())
	// strconv, not fmt: every card of a list says it.
	switch {
	case sec < 60:
		return strconv.Itoa(sec) + " s"
	case sec < 3600:
		if sec%60 == 0 {
			return strconv.Itoa(sec/60) + " min"
		}
		return strconv.Itoa(sec/60) + " min " + strconv.Itoa(sec%60) + " s"
	default:
		return strconv.Itoa(sec/3600) + " h " + strconv.Itoa(sec%3600/60) + " min"
	}
}

// days says how long until an expiry, in whole days (rounded up) or hours.
func days(d time.Duration) string {
	if d < 24*time.Hour {
		h := int(math.Ceil(d.Hours()))
		if h <= 1 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", h)
	}
	n := int(math.Ceil(d.Hours() / 24))
	return strings.TrimSpace(fmt.Sprintf("%d days", n))
}
