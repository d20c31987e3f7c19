package handlers

import (
	"context"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
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
