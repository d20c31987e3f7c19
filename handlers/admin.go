package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/views"
)

func (s *Server) adminUsers(c echo.Context) error {
	users, err := s.cfg.Directory.ListUsers(c.Request().Context())
	if err != nil {
		return err
	}
	vm := views.AdminUsers{}
	for _, u := range users {
		vm.Users = append(vm.Users, views.UserRow{
			Name: u.Name, Email: u.Email, Admin: u.IsAdmin(), Disabled: u.Disabled(), Created: u.CreatedAt,
		})
	}
	return render(c, http.StatusOK, views.AdminUsersPage(s.page(c, "Members", views.NavAdmin), vm))
}
