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
	"swapdesk/internal/fields"
	"swapdesk/internal/shares"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// shareService makes, lists, resolves and revokes share links.
type shareService interface {
	Create(ctx context.Context, v db.Viewer, jobID int64, days string) (shares.Created, error)
	Open(ctx context.Context, token string) (db.Share, db.Job, error)
	ForJob(ctx context.Context, jobID int64) ([]db.Share, error)
	Revoke(ctx context.Context, v db.Viewer, id int64) (db.Share, error)
	Active(sh db.Share) bool
}

func viewer(u *db.User) db.Viewer { return db.Viewer{UserID: u.ID, Admin: u.IsAdmin()} }

// createShare makes a link to a result (POST /jobs/:id/shares, field
// days) and shows its URL once, in a flash on the job page: the token is
// not kept. Bad days re-render the job page with the message (422).
func (s *Server) createShare(c echo.Context) error {
	job, err := s.viewableJob(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	days := c.Request().PostFormValue(fields.ShareDays)
	created, err := s.cfg.Shares.Create(c.Request().Context(), viewer(u), job.ID, days)
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		m, perr := s.jobPage(c, job)
		if perr != nil {
			return perr
		}
		if m.Shares, perr = s.jobShares(c.Request().Context(), job); perr != nil {
			return perr
		}
		m.Shares.Days, m.Shares.Error = days, invalid.Fields[fields.ShareDays]
		p := s.page(c, fmt.Sprintf("Swap #%d", job.ID), views.NavJobs)
		return render(c, http.StatusUnprocessableEntity, views.JobDetailPage(p, m))
	}
	if err != nil {
		return err
	}
	addFlash(c, views.FlashInfo, fmt.Sprintf("Share link made; it works until %s. Copy it now, it is shown only this once: %s",
		created.Share.ExpiresAt.UTC().Format("2 Jan 2006 15:04 UTC"), s.publicBase(c)+urls.Share(created.Token)))
	return redirect(c, urls.Job(job.ID))
}

// publicBase is the scheme and host people reach Swapdesk at: the public
// URL when configured, else the host this request came to.
func (s *Server) publicBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return c.Scheme() + "://" + c.Request().Host
}

// revokeShare ends a link at once (POST /shares/:id/revoke): its job's
// owner or an admin only.
func (s *Server) revokeShare(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	sh, err := s.cfg.Shares.Revoke(c.Request().Context(), viewer(currentUser(c)), id)
	if err != nil {
		return err
	}
	addFlash(c, views.FlashInfo, "Share link revoked. It no longer works.")
	return redirect(c, urls.Job(sh.JobID))
}

// jobShares is the share links section of a job's page.
func (s *Server) jobShares(ctx context.Context, job db.Job) (views.JobShares, error) {
	list, err := s.cfg.Shares.ForJob(ctx, job.ID)
	if err != nil {
		return s.shareLinks(job, nil), err
	}
	return s.shareLinks(job, list), nil
}

// shareLinks is the share panel of job's page listing list (newest first).
func (s *Server) shareLinks(job db.Job, list []db.Share) views.JobShares {
	m := views.JobShares{JobID: job.ID, MaxDays: shares.MaxDays, Days: strconv.Itoa(shares.DefaultDays),
		CanCreate: job.ArchiveState == db.ArchiveDone && job.ArchivePath != ""}
	for _, sh := range list {
		m.Links = append(m.Links, views.ShareLink{ID: sh.ID, CreatedAt: sh.CreatedAt, ExpiresAt: sh.ExpiresAt,
			RevokedAt: sh.RevokedAt, Active: s.cfg.Shares.Active(sh)})
	}
	return m
}

// publicHeaders keep share pages out of search engines and keep their
// token out of Referer headers, on every answer, 404s included.
func publicHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Robots-Tag", "noindex, nofollow")
		h.Set("Cache-Control", "private, no-store")
		return next(c)
	}
}

// sharedJob resolves the :token of a public route; every failure is the
// same 404.
func (s *Server) sharedJob(c echo.Context) (db.Share, db.Job, error) {
	return s.cfg.Shares.Open(c.Request().Context(), c.Param("token"))
}

// sharePage is the public page of a link (GET /s/:token): no session, no
// navigation, the video with its poster and a download.
func (s *Server) sharePage(c echo.Context) error {
	sh, job, err := s.sharedJob(c)
	if err != nil {
		return err
	}
	token := c.Param("token")
	m := views.SharePage{Title: fmt.Sprintf("Swap #%d", job.ID), VideoURL: urls.ShareVideo(token), DownloadURL: urls.ShareVideoDownload(token),
		FileName: bundle.FileName(job.ID, job.Resolution), ExpiresAt: sh.ExpiresAt}
	if posterKey(job) != "" {
		m.PosterURL = urls.SharePoster(token)
	}
	p := views.Page{Title: m.Title, Asset: s.cfg.Assets.URL}
	return render(c, http.StatusOK, views.SharedVideo(p, m))
}

// shareVideo serves a link's video, with Range (GET and HEAD
// /s/:token/video; ?download=1 as an attachment).
func (s *Server) shareVideo(c echo.Context) error {
	_, job, err := s.sharedJob(c)
	if err != nil {
		return err
	}
	name := bundle.FileName(job.ID, job.Resolution)
	disposition := `inline; filename="` + name + `"`
	if c.QueryParam(fields.Download) == "1" {
		disposition = `attachment; filename="` + name + `"`
	}
	return s.serveStored(c, job.ArchivePath, "video/mp4", disposition, job.ArchiveSHA256)
}

// sharePoster serves a link's poster, or the kept character image when no
// poster was made (GET and HEAD /s/:token/poster).
func (s *Server) sharePoster(c echo.Context) error {
	_, job, err := s.sharedJob(c)
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

// posterKey is the still image to show for job: its poster, else its kept
// character image, else "".
func posterKey(job db.Job) string {
	if job.PosterKey != "" {
		return job.PosterKey
	}
	if job.ImageKey != "" && (job.ImageType == "image/png" || job.ImageType == "image/jpeg") {
		return job.ImageKey
	}
	return ""
}

// shareSignedExpiry is how long a redirect to S3 for a shared file lasts:
// a revoked link's redirect target stops within it.
const shareSignedExpiry = 5 * time.Minute

// serveStored serves media store object key as a shared or derived file:
// signed S3 redirects last shareSignedExpiry, and a missing object is a
// logged 404 (the public is told nothing more).
func (s *Server) serveStored(c echo.Context, key, ctype, disposition, sha string) error {
	return s.serveFile(c, storedFile{key: key, contentType: ctype, disposition: disposition, sha256: sha,
		expiry: shareSignedExpiry})
}
