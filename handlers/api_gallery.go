package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
	"swapdesk/internal/fields"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
)

// apiGalleryItem is one result of the team gallery.
type apiGalleryItem struct {
	ID         int64         `json:"id"`
	Owner      apiMember     `json:"owner"`
	Mode       string        `json:"mode"`
	Resolution string        `json:"resolution"`
	Seconds    float64       `json:"seconds"`
	Prompt     string        `json:"prompt"`
	Charged    *int64        `json:"charged"`
	Favorite   bool          `json:"favorite"`
	Hidden     bool          `json:"hidden"`
	CreatedAt  string        `json:"created_at"`
	URLs       apiGalleryURL `json:"urls"`
}

type apiMember struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type apiGalleryURL struct {
	Content string `json:"content"`
	Poster  string `json:"poster"`
	Page    string `json:"page"`
}

type apiGalleryPage struct {
	Data       []apiGalleryItem `json:"data"`
	NextCursor *string          `json:"next_cursor"`
	Next       *string          `json:"next"`
}

// apiGallery is GET /api/v1/gallery: the gallery page's results, with its
// filters, search, rules and signed cursors. A bad filter is a 422 naming
// the parameters; a changed cursor a 400.
func (s *Server) apiGallery(c echo.Context) error {
	f := bindGalleryFilter(c)
	p := principal(c)
	ctx := c.Request().Context()
	members, err := s.galleryMemberView(ctx)
	if err != nil {
		return err
	}
	q, errs := galleryQuery(f, db.Viewer{UserID: p.User.ID, Admin: p.User.IsAdmin()}, members.member)
	if len(errs) > 0 {
		return apperr.Fields(errs)
	}
	q.Prompts = true // the API's items carry their prompts; the page's tiles do not
	page := apiGalleryPage{Data: []apiGalleryItem{}}
	if f.Q != "" && q.Match == "" {
		// Only punctuation: nothing can match.
		return apiJSON(c, http.StatusOK, page)
	}
	if f.Cursor != "" {
		after, err := s.decodeCursor(f.Cursor, f.values())
		if err != nil {
			return apiProblem(problem.BadRequest, "The cursor is not valid (it may have been cut or changed); start again from the first page.",
				problem.FieldError{Field: fields.Cursor, Message: "Not a cursor this API gave."})
		}
		q.After = &after
	}
	items, err := s.cfg.Gallery.Gallery(ctx, q)
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		return apiProblem(problem.BadRequest, invalid.Message, problem.FieldError{Field: fields.Cursor, Message: invalid.Message})
	}
	if err != nil {
		return err
	}
	if len(items) > galleryPerPage {
		items = items[:galleryPerPage]
		next := f.values()
		cur := s.encodeCursor(items[len(items)-1].Cursor(q.Match != ""), f.values())
		next.Set(fields.Cursor, cur)
		page.NextCursor = &cur
		page.Next = strPtr(s.publicBase(c) + urls.APIGalleryWith(next))
	}
	base := s.publicBase(c)
	for _, it := range items {
		page.Data = append(page.Data, apiGalleryItem{
			ID: it.ID, Owner: apiMember{ID: it.UserID, Name: members.names[it.UserID]}, Mode: it.Mode, Resolution: it.Resolution,
			Seconds: it.Length, Prompt: it.Prompt, Charged: it.ChargedCredits, Favorite: it.Favorite, Hidden: it.Hidden,
			CreatedAt: apiTime(it.CreatedAt),
			URLs: apiGalleryURL{Content: base + urls.APIJobContent(it.ID), Poster: base + urls.APIJobPoster(it.ID),
				Page: base + urls.Job(it.ID)},
		})
	}
	return apiJSON(c, http.StatusOK, page)
}

// apiMe is the token's member, balance, allowance and the token itself.
type apiMe struct {
	ID        int64         `json:"id"`
	Email     string        `json:"email"`
	Name      string        `json:"name"`
	Role      string        `json:"role"`
	Balance   apiBalance    `json:"balance"`
	Allowance *apiAllowance `json:"allowance"`
	Token     apiToken      `json:"token"`
}

type apiBalance struct {
	Available int64 `json:"available"`
	Held      int64 `json:"held"`
	Spent     int64 `json:"spent"`
	Granted   int64 `json:"granted"`
}

type apiAllowance struct {
	Monthly   int64  `json:"monthly"`
	Used      int64  `json:"used"`
	Left      int64  `json:"left"`
	NextTopUp string `json:"next_top_up"`
}

type apiToken struct {
	Name      string   `json:"name"`
	Prefix    string   `json:"prefix"`
	Scopes    []string `json:"scopes"`
	ExpiresAt string   `json:"expires_at"`
}

// apiMeGet is GET /api/v1/me: any valid token.
func (s *Server) apiMeGet(c echo.Context) error {
	p := principal(c)
	u := p.User
	ctx := c.Request().Context()
	bal, err := s.cfg.Members.Balance(ctx, u.ID)
	if err != nil {
		return err
	}
	me := apiMe{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role,
		Balance: apiBalance{Available: bal.Available, Held: bal.Held, Spent: bal.Spent, Granted: bal.Granted},
		Token: apiToken{Name: p.Token.Name, Prefix: p.Token.Prefix, Scopes: tokenScopes(p),
			ExpiresAt: apiTime(p.Token.ExpiresAt)}}
	monthly, err := s.cfg.Members.Allowance(ctx, u.ID)
	if err != nil {
		return err
	}
	if monthly > 0 {
		team := s.teamZone(ctx)
		spent, err := s.cfg.Members.SpentSince(ctx, u.ID, credits.MonthStart(s.now(), team))
		if err != nil {
			return err
		}
		// Used as the allowance notice counts it: this month's charges
		// and what is held now.
		used := spent + bal.Held
		me.Allowance = &apiAllowance{Monthly: monthly, Used: used, Left: max(monthly-used, 0),
			NextTopUp: apiTime(credits.NextTopUp(s.now(), team))}
	}
	return apiJSON(c, http.StatusOK, me)
}

func tokenScopes(p tokens.Principal) []string {
	out := []string{}
	for _, sc := range tokens.AllScopes {
		if p.Can(sc) {
			out = append(out, sc)
		}
	}
	return out
}
