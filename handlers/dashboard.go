package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/views"
)

func (s *Server) dashboard(c echo.Context) error {
	u := currentUser(c)
	return render(c, http.StatusOK, views.DashboardPage(s.page(c, "Dashboard", views.NavDashboard), views.Dashboard{Name: u.Name}))
}
