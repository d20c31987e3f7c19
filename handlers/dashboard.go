package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/views"
)

// dashboardJobs is how many recent jobs the dashboard shows.
const dashboardJobs = 5

func (s *Server) dashboard(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	bal, err := s.cfg.JobStore.Balance(ctx, u.ID)
	if err != nil {
		return err
	}
	recent, err := s.cfg.JobStore.ListJobCards(ctx, db.JobQuery{UserID: u.ID, Limit: dashboardJobs})
	if err != nil {
		return err
	}
	p := s.page(c, "Dashboard", views.NavDashboard) // counts the running jobs for the title
	notice, err := s.allowanceNotice(c, u, bal)
	if err != nil {
		return err
	}
	d := views.Dashboard{UserID: u.ID, Notice: notice, Name: u.Name, Email: u.Email, Admin: u.IsAdmin(), Available: bal.Available, Held: bal.Held, Spent: bal.Spent, Running: p.Running}
	d.Recent = make([]views.JobCard, 0, len(recent))
	for _, j := range recent {
		d.Recent = append(d.Recent, s.card(c, j))
	}
	return render(c, http.StatusOK, views.DashboardPage(p, d))
}
