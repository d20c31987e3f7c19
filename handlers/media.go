package handlers

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/apperr"
	"swapdesk/views"
)

// media serves an archived result to any signed-in member (the gallery is
// the team's), with Range support for players and seeking; HEAD works too.
// A copy recorded as archived whose file is gone answers 410.
func (s *Server) media(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	job, err := s.cfg.JobStore.ArchivedMedia(c.Request().Context(), id)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(s.cfg.MediaDir, filepath.FromSlash(job.ArchivePath)))
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Error("archived video missing from the media dir", "job_id", job.ID, "path", job.ArchivePath)
		return s.mediaGone(c)
	}
	if err != nil {
		return fmt.Errorf("open archived video of job %d: %w", job.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Type", "video/mp4")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+job.ArchiveSHA256+`"`)
	name := fmt.Sprintf("swapdesk-%d.mp4", job.ID)
	if c.QueryParam("download") == "1" {
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	} else {
		h.Set("Content-Disposition", `inline; filename="`+name+`"`)
	}
	http.ServeContent(c.Response(), c.Request(), name, st.ModTime(), f)
	return nil
}

// mediaGone answers 410 for an archived video whose file is missing.
func (s *Server) mediaGone(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	if c.Request().Method == http.MethodHead {
		return c.NoContent(http.StatusGone)
	}
	e := views.ErrorPage{Status: http.StatusGone, Heading: "This video is missing",
		Message: "Swapdesk saved this video, but its file is no longer in the data directory. " +
			"The problem has been logged; an admin can restore the file from a backup."}
	return render(c, http.StatusGone, views.Error(s.page(c, e.Heading, ""), e))
}
