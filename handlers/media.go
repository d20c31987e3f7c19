package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/bundle"
	"swapdesk/internal/storage"
	"swapdesk/views"
)

// mediaStore is what the media routes need from the media store.
type mediaStore interface {
	Open(ctx context.Context, key string) (storage.Reader, error)
	Stat(ctx context.Context, key string) (storage.Info, error)
	Delete(ctx context.Context, key string) error
	SignedURL(ctx context.Context, key string, opts storage.SignOptions) (string, error)
}

// signedMediaExpiry is how long a redirect to S3 stays usable: enough to
// start playing and seek (each seek is a new ranged GET of the same URL),
// short enough that a link copied from the player soon stops working.
const signedMediaExpiry = 15 * time.Minute

// media serves an archived result to the members who may see it in the
// gallery (the team's, unless its owner hid it: then only the owner and
// admins; a deleted job's to nobody), as 404 to anyone else; HEAD works too. From a local store it serves the bytes, with
// Range support for players and seeking and the SHA-256 as ETag; from S3 it
// redirects to a short-lived signed URL, and S3 answers the Range requests
// itself. Either way the browser revalidates every time (no-cache), so a
// deleted video stops playing at once. A copy recorded as archived whose
// file is gone answers 410.
func (s *Server) media(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	ctx := c.Request().Context()
	u := currentUser(c)
	job, err := s.cfg.JobStore.VisibleArchived(ctx, db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}, id)
	if err != nil {
		return err
	}
	name := bundle.FileName(job.ID, job.Resolution)
	disposition := `inline; filename="` + name + `"`
	if c.QueryParam("download") == "1" {
		disposition = `attachment; filename="` + name + `"`
	}
	return s.serveFile(c, storedFile{key: job.ArchivePath, contentType: "video/mp4", disposition: disposition,
		sha256: job.ArchiveSHA256, expiry: signedMediaExpiry,
		missing: func(err error) error { return s.mediaMissing(c, job.ID, job.ArchivePath, err) }})
}

// storedFile is one media store object to serve, and how.
type storedFile struct {
	key, contentType, disposition string
	// sha256 is the ETag when known; otherwise the store's own validator.
	sha256 string
	// expiry is how long a signed S3 redirect stays usable.
	expiry time.Duration
	// missing answers for an object the store does not have (default: a
	// logged 404).
	missing func(error) error
}

// serveFile is the one way a media store object reaches a browser. From S3
// it is a redirect to a short-lived signed URL (after checking the object
// is there), and S3 answers the Range requests itself; from disk, the bytes
// with Range support. Either way the browser revalidates every time
// (no-cache), so a deleted or revoked file stops at once.
func (s *Server) serveFile(c echo.Context, f storedFile) error {
	ctx := c.Request().Context()
	h := c.Response().Header()
	missing := f.missing
	if missing == nil {
		missing = func(error) error {
			s.log.Error("file missing from the media store", "key", f.key)
			return apperr.ErrNotFound
		}
	}
	signed, err := s.cfg.Media.SignedURL(ctx, f.key, storage.SignOptions{Expiry: f.expiry,
		ContentType: f.contentType, ContentDisposition: f.disposition})
	switch {
	case err == nil:
		if _, err := s.cfg.Media.Stat(ctx, f.key); errors.Is(err, storage.ErrNotFound) {
			return missing(err)
		} else if err != nil {
			return fmt.Errorf("stat %s: %w", f.key, err)
		}
		// Every answer is a new URL: nothing to keep.
		h.Set("Cache-Control", "private, no-store")
		return c.Redirect(http.StatusFound, signed)
	case !errors.Is(err, errors.ErrUnsupported):
		return fmt.Errorf("sign %s: %w", f.key, err)
	}
	r, err := s.cfg.Media.Open(ctx, f.key)
	if errors.Is(err, storage.ErrNotFound) {
		return missing(err)
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", f.key, err)
	}
	defer r.Close()
	h.Set("Content-Type", f.contentType)
	h.Set("Cache-Control", "private, no-cache")
	if f.sha256 != "" {
		h.Set("ETag", `"`+f.sha256+`"`)
	} else if etag := r.Info().ETag; etag != "" {
		h.Set("ETag", etag)
	}
	h.Set("Content-Disposition", f.disposition)
	http.ServeContent(c.Response(), c.Request(), "", r.Info().ModTime, r)
	return nil
}

// mediaMissing answers 410 when the store no longer has an archived video,
// and passes other store errors on.
func (s *Server) mediaMissing(c echo.Context, id int64, key string, err error) error {
	if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("open archived video of job %d: %w", id, err)
	}
	s.log.Error("archived video missing from the media store", "job_id", id, "key", key)
	return s.mediaGone(c)
}

// mediaGone answers 410 for an archived video whose file is missing.
func (s *Server) mediaGone(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusGone)
	}
	e := views.ErrorPage{Status: http.StatusGone, Heading: "This video is missing",
		Message: "Swapdesk saved this video, but its file is no longer in the media store. " +
			"The problem has been logged; an admin can restore the file from a backup."}
	return render(c, http.StatusGone, views.Error(s.page(c, e.Heading, ""), e))
}
