package handlers

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// scopeDescriptions say in a line what each scope lets a token do, in
// tokens.AllScopes' order.
var scopeDescriptions = map[string]string{
	tokens.JobsRead:    "See your jobs: their state, settings and cost, and download results and posters.",
	tokens.JobsWrite:   "Estimate, start and delete swaps, spending your credits.",
	tokens.GalleryRead: "Browse and search the team gallery.",
}

// tokenForm is the create form with the values as typed (scopes ticked as
// asked, unknown ones dropped) and errs.
// Each gets a new one-time form key: nothing was made with the last one.
func tokenForm(name string, scopes []string, days string, errs map[string]string) views.TokenForm {
	f := views.TokenForm{Name: name, Days: days, MaxDays: tokens.MaxDays, Errors: errs, FormKey: tokens.NewFormKey()}
	for _, sc := range tokens.AllScopes {
		f.Scopes = append(f.Scopes, views.ScopeOption{Value: sc, Description: scopeDescriptions[sc], Checked: slices.Contains(scopes, sc)})
	}
	return f
}

func (s *Server) tokenRow(t db.APIToken) views.TokenRow {
	r := views.TokenRow{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: strings.Fields(t.Scopes),
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, RevokedAt: t.RevokedAt,
		OwnerID: t.UserID, OwnerName: t.OwnerName, OwnerEmail: t.OwnerEmail, State: views.TokenExpired}
	switch {
	case !t.RevokedAt.IsZero():
		r.State = views.TokenRevoked
	case !s.cfg.Tokens.Active(t):
	case t.OwnerDisabled:
		// It works again if the member is enabled: still revocable.
		r.State = views.TokenOwnerDisabled
	default:
		r.State = views.TokenActive
	}
	return r
}

// accountTokens lists one's own API tokens with the form to make one (GET
// /account/tokens).
func (s *Server) accountTokens(c echo.Context) error {
	return s.renderAccountTokens(c, http.StatusOK, tokenForm("", nil, strconv.Itoa(tokens.DefaultDays), nil), nil)
}

func (s *Server) renderAccountTokens(c echo.Context, status int, form views.TokenForm, created *views.NewToken) error {
	list, err := s.cfg.Tokens.ForUser(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	m := views.AccountTokens{Zone: s.viewerZone(c), Form: form, Created: created}
	for _, t := range list {
		m.Tokens = append(m.Tokens, s.tokenRow(t))
	}
	return render(c, status, views.AccountTokensPage(s.page(c, "API tokens", ""), m))
}

// createToken makes a token (POST /account/tokens: name, scopes repeated,
// days, the form's one-time key) and answers with the page showing its
// secret, this once: never in a redirect or a flash cookie, and the answer
// is not stored by the browser. Bad input re-shows the form with its
// messages (422) and writes nothing. The same form posted again (a reload
// of the answer) makes nothing and goes to the list, saying so.
func (s *Server) createToken(c echo.Context) error {
	v, err := formValues(c)
	if err != nil {
		return err
	}
	name, scopes, days := v.Get(fields.Name), v[fields.Scopes], v.Get(fields.TokenDays)
	u := currentUser(c)
	created, err := s.cfg.Tokens.Create(c.Request().Context(), u.ID, u.ID,
		tokens.Request{Name: name, Scopes: scopes, Days: days, FormKey: v.Get(fields.Idem)}, c.RealIP())
	if fe := fieldErrors(err); fe != nil {
		return s.renderAccountTokens(c, http.StatusUnprocessableEntity,
			tokenForm(truncate(name, tokens.MaxName*4+100), scopes, truncate(days, 40), fe), nil)
	}
	if err != nil {
		return err
	}
	if created.Again {
		addFlash(c, views.FlashInfo, fmt.Sprintf("This form was already used: your token “%s” (%s…) was made then, and its secret was shown once. "+
			"It cannot be shown again; if you did not copy it, revoke it below and make a new one.", created.Token.Name, created.Token.Prefix))
		return redirect(c, urls.AccountTokens())
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return s.renderAccountTokens(c, http.StatusOK, tokenForm("", nil, strconv.Itoa(tokens.DefaultDays), nil), &views.NewToken{
		Name: created.Token.Name, Secret: created.Secret, ExpiresAt: created.Token.ExpiresAt,
		Curl: `curl -H "Authorization: Bearer ` + created.Secret + `" ` + s.publicBase(c) + urls.RouteAPI + "/me",
	})
}

// tokenID reads :id; an id that is not a number is no token (404).
func tokenID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.ErrNotFound
	}
	return id, nil
}

// revokeOwnToken ends one of one's own tokens at once (POST
// /account/tokens/:id/revoke). Another member's token is a 404, even for
// an admin: admins revoke others' tokens from the admin pages.
func (s *Server) revokeOwnToken(c echo.Context) error {
	id, err := tokenID(c)
	if err != nil {
		return err
	}
	t, err := s.cfg.Tokens.Revoke(c.Request().Context(), db.Viewer{UserID: currentUser(c).ID}, id, c.RealIP())
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, fmt.Sprintf("Revoked the token “%s”. Scripts using it stop working now.", t.Name))
	return redirect(c, urls.AccountTokens())
}

// adminTokens lists every member's active tokens (GET /admin/tokens).
func (s *Server) adminTokens(c echo.Context) error {
	list, err := s.cfg.Tokens.AllActive(c.Request().Context())
	if err != nil {
		return err
	}
	m := views.AdminTokens{Zone: s.viewerZone(c)}
	for _, t := range list {
		m.Tokens = append(m.Tokens, s.tokenRow(t))
	}
	return render(c, http.StatusOK, views.AdminTokensPage(s.page(c, "API tokens", views.NavAdmin), m))
}

// adminRevokeToken ends any member's token (POST /admin/tokens/:id/revoke),
// then goes back to the admin's token list, or to the owner's member page
// when the form came from there (field next).
func (s *Server) adminRevokeToken(c echo.Context) error {
	id, err := tokenID(c)
	if err != nil {
		return err
	}
	t, err := s.cfg.Tokens.Revoke(c.Request().Context(), viewer(currentUser(c)), id, c.RealIP())
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, fmt.Sprintf("Revoked the token “%s” (%s…). Scripts using it stop working now.", t.Name, t.Prefix))
	if back := urls.AdminUser(t.UserID); c.FormValue(fields.Next) == back {
		return redirect(c, back)
	}
	return redirect(c, urls.AdminTokens())
}

// memberTokenRows are member userID's tokens for their admin page.
func (s *Server) memberTokenRows(c echo.Context, userID int64) ([]views.TokenRow, error) {
	list, err := s.cfg.Tokens.ForUser(c.Request().Context(), userID)
	if err != nil {
		return nil, err
	}
	var rows []views.TokenRow
	for _, t := range list {
		rows = append(rows, s.tokenRow(t))
	}
	return rows, nil
}
