package handlers

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
)

// media serves an archived result to any signed-in member (the gallery is
// the team's), with Range support for players and seeking.
func (s *Server) media(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return apperr.ErrNotFound
	}
	u := currentUser(c)
	job, err := s.cfg.JobStore.JobForViewer(c.Request().Context(), id, u.ID, true)
	if err != nil {
		return err
	}
	if job.ArchiveState != db.ArchiveDone || job.ArchivePath == "" {
		return apperr.ErrNotFound
	}
	f, err := os.Open(filepath.Join(s.cfg.MediaDir, filepath.FromSlash(job.ArchivePath)))
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
