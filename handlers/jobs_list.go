package handlers

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// jobsPerPage is the size of one page of /jobs.
const jobsPerPage = 20

// listJobs is /jobs: the member's own jobs, or everyone's for admins (with a
// member filter), newest first, keyset-paginated by id.
func (s *Server) listJobs(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	q := db.JobQuery{UserID: u.ID, Limit: jobsPerPage + 1}
	if before, err := strconv.ParseInt(c.QueryParam(fields.Before), 10, 64); err == nil && before > 0 {
		q.Before = before
	}
	m := views.JobsPage{Admin: u.IsAdmin()}
	names := map[int64]string{}
	if u.IsAdmin() {
		q.UserID = 0
		if id, err := strconv.ParseInt(c.QueryParam(fields.Member), 10, 64); err == nil && id > 0 {
			q.UserID = id
			m.MemberID = strconv.FormatInt(id, 10)
		}
		users, err := s.cfg.Directory.ListUsers(ctx)
		if err != nil {
			return err
		}
		for _, x := range users {
			names[x.ID] = x.Name
			m.Members = append(m.Members, views.Option{Value: strconv.FormatInt(x.ID, 10), Label: x.Name + " <" + x.Email + ">"})
		}
	}
	jobs, err := s.cfg.JobStore.ListJobCards(ctx, q)
	if err != nil {
		return err
	}
	if len(jobs) > jobsPerPage {
		jobs = jobs[:jobsPerPage]
		m.NextURL = urls.JobsPage(jobs[len(jobs)-1].ID, q.UserID)
	}
	m.Cards = make([]views.JobCard, 0, len(jobs))
	for _, j := range jobs {
		card := s.card(c, j)
		if j.UserID != u.ID {
			card.Owner = names[j.UserID]
		}
		m.Cards = append(m.Cards, card)
	}
	return render(c, http.StatusOK, views.JobsListPage(s.page(c, "Jobs", views.NavJobs), m))
}
