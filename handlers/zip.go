package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/bundle"
	"swapdesk/internal/fields"
	"swapdesk/views"
)

// selectionStore finds which of a selection's results a viewer may have.
type selectionStore interface {
	VisibleArchivedIn(ctx context.Context, v db.Viewer, ids []int64) ([]db.SelectedResult, error)
}

// galleryZip streams the selected results (repeated field "id") as one zip,
// only those the member may see (archived, not deleted, not someone else's
// hidden one), leaving out the rest without saying which. The request is
// bounded at views.SelectionMax ids. The zip is written as it is read from
// the media store, so memory stays flat whatever its size; once bytes have
// gone out a failure can no longer become an error page, so the connection
// is cut and the browser reports the download failed.
func (s *Server) galleryZip(c echo.Context) error {
	// The body only, as for the CSRF token: the ids are part of the form.
	if err := c.Request().ParseForm(); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	raw := c.Request().PostForm[fields.SelectID]
	if len(raw) > views.SelectionMax {
		return apperr.Invalidf("A zip holds at most %d results; %d were selected. Select fewer and try again.", views.SelectionMax, len(raw))
	}
	ids := make([]int64, 0, len(raw))
	for _, r := range raw {
		id, err := strconv.ParseInt(r, 10, 64)
		if err != nil || id <= 0 {
			return apperr.Invalidf("The selection could not be read. Reload the page and select again.")
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return apperr.Invalidf("Select at least one result to download.")
	}
	u := currentUser(c)
	ctx := c.Request().Context()
	results, err := s.cfg.Selection.VisibleArchivedIn(ctx, db.Viewer{UserID: u.ID, Admin: u.IsAdmin()}, ids)
	if err != nil {
		return err
	}
	if len(results) == 0 {
		return apperr.Invalidf("None of the selected results can be downloaded: they may have been deleted or hidden.")
	}
	items := make([]bundle.Item, len(results))
	for i, r := range results {
		items[i] = zipItem(r)
	}
	now := s.now()
	noun := "results"
	if len(items) == 1 {
		noun = "result"
	}
	name := fmt.Sprintf("swapdesk-%s-%d-%s.zip", now.UTC().Format("2006-01-02"), len(items), noun)
	h := c.Response().Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "private, no-store")
	res, err := bundle.Write(ctx, c.Response(), s.cfg.Media, items, now)
	for _, id := range res.Missing {
		s.log.Error("archived video missing from the media store; left out of a zip", "job_id", id)
	}
	if err == nil {
		return nil
	}
	if !c.Response().Committed {
		// Nothing was sent: an ordinary error page, not a download.
		h.Del("Content-Disposition")
		h.Del("Content-Type")
		return err
	}
	level := s.log.Error
	if errors.Is(err, context.Canceled) || ctx.Err() != nil {
		level = s.log.Info // the member cancelled the download
	}
	level("zip download cut off after it started", "id", h.Get(echo.HeaderXRequestID), "user_id", u.ID, "results", len(items), "err", err)
	// The only way net/http offers to end a response as broken rather than
	// complete: the client sees a failed download, not a short zip that
	// looks whole. net/http recovers this value and logs nothing.
	panic(http.ErrAbortHandler)
}

func zipItem(r db.SelectedResult) bundle.Item {
	secs := r.VideoDuration
	if secs == 0 {
		secs = r.BilledSeconds
	}
	credits := r.EstimateCredits
	if r.ChargedCredits != nil {
		credits = *r.ChargedCredits
	}
	return bundle.Item{ID: r.ID, Created: r.CreatedAt, Finished: r.FinishedAt, Member: r.Member, Mode: r.Mode,
		Resolution: r.Resolution, Seconds: secs, Credits: credits, Prompt: r.Prompt, Key: r.ArchivePath, Size: r.ArchiveSize}
}
