package handlers

import (
	"context"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// frameStore finds the poster, preview clip and kept character image of a
// job, under the gallery's visibility rule.
type frameStore interface {
	// VisibleArchived returns an archived result v may see, or an error
	// wrapping apperr.ErrNotFound.
	VisibleArchived(ctx context.Context, v db.Viewer, id int64) (db.Job, error)
	// JobImageForViewer returns a job with a kept character image v may
	// see, or an error wrapping apperr.ErrNotFound.
	JobImageForViewer(ctx context.Context, v db.Viewer, id int64) (db.Job, error)
	// ArchivedNeighbors returns the results v may see just newer and older
	// than id.
	ArchivedNeighbors(ctx context.Context, v db.Viewer, id int64) (db.Neighbors, error)
}

func mediaID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

// poster serves a result's poster (JPEG), or when it has none (not made
// yet, no ffmpeg, failed) the kept character image; else 404.
func (s *Server) poster(c echo.Context) error {
	id, err := mediaID(c)
	if err != nil {
		return err
	}
	job, err := s.cfg.Frames.VisibleArchived(c.Request().Context(), viewer(currentUser(c)), id)
	if err != nil {
		return err
	}
	key := posterKey(job)
	if key == "" {
		return apperr.ErrNotFound
	}
	ctype := "image/jpeg"
	if key == job.ImageKey {
		ctype = job.ImageType
	}
	return s.serveStored(c, key, ctype, "inline", "")
}

// preview serves a result's short muted preview clip; 404 when it has none.
func (s *Server) preview(c echo.Context) error {
	id, err := mediaID(c)
	if err != nil {
		return err
	}
	job, err := s.cfg.Frames.VisibleArchived(c.Request().Context(), viewer(currentUser(c)), id)
	if err != nil {
		return err
	}
	if job.PreviewKey == "" {
		return apperr.ErrNotFound
	}
	return s.serveStored(c, job.PreviewKey, "video/mp4", "inline", "")
}

// characterImage serves the kept copy of a job's character image: to its
// owner and admins from submission on, to the team once the result is in
// the gallery (and not hidden).
func (s *Server) characterImage(c echo.Context) error {
	id, err := mediaID(c)
	if err != nil {
		return err
	}
	job, err := s.cfg.Frames.JobImageForViewer(c.Request().Context(), viewer(currentUser(c)), id)
	if err != nil {
		return err
	}
	return s.serveStored(c, job.ImageKey, job.ImageType, "inline", "")
}

// jobResult builds what the job page shows around a result. owner is the
// name of the job's owner when it is not the viewer's ("" if unknown); n are
// the archived results next to it (db.Neighbors, read with the job).
func (s *Server) jobResult(c echo.Context, job db.Job, owner string, n db.Neighbors) (views.JobResult, error) {
	u := currentUser(c)
	r := views.JobResult{
		CharacterLink:   job.ImageURL,
		MadeBy:          "you",
		UseCharacterURL: urls.NewJobWith(urls.JobForm{ImageURL: job.ImageURL}),
		ShowLedger:      job.UserID == u.ID || u.IsAdmin(),
	}
	if job.ImageKey != "" {
		r.CharacterSrc = urls.MediaImage(job.ID)
	}
	if job.DurationDetected != nil {
		r.VideoFacts = secs(*job.DurationDetected) + " long, as checked when submitted"
	}
	if job.UserID != u.ID {
		r.MadeBy = "a teammate"
		if owner != "" {
			r.MadeBy = owner
		}
	}
	if job.ArchiveState != db.ArchiveDone {
		return r, nil
	}
	// The results before and after this one. The gallery's filters ride
	// along in the query (?from=gallery&q=…) so they survive the step; the
	// neighbours themselves are the team's archived results, newest first.
	// Seam: when the gallery's navigation query lands, ask it with the
	// same filters instead of ArchivedNeighbors (n, read with the job).
	carry := ""
	if q := c.QueryParams(); len(q) > 0 {
		carry = "?" + q.Encode()
	}
	if n.Newer != 0 {
		r.NewerURL = urls.Job(n.Newer) + carry
	}
	if n.Older != 0 {
		r.OlderURL = urls.Job(n.Older) + carry
	}
	return r, nil
}

// posterSrc is the still a result's player shows before it plays: its
// poster (or, until there is one, the kept character image) from our
// store; else the member's own link to the character image.
func posterSrc(j db.Job) string {
	switch {
	case j.ArchiveState == db.ArchiveDone && (j.PosterKey != "" || j.ImageKey != ""):
		return urls.MediaPoster(j.ID)
	case j.ImageKey != "":
		return urls.MediaImage(j.ID)
	}
	return posterURL(j.ImageURL)
}
