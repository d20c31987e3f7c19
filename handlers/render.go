package handlers

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"swapdesk/views"
)

// render writes comp with status. It renders into a buffer first, so a
// failed render becomes a clean 500 instead of half a page.
func render(c echo.Context, status int, comp templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBuffer {
			buf.Reset()
			renderBuffers.Put(buf)
		}
	}()
	if err := comp.Render(c.Request().Context(), buf); err != nil {
		return err
	}
	// Known up front, so the page goes out in one piece, not chunked.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBuffers are reused page buffers: growing a new one to a page's size
// on every request was a measurable part of a page's cost.
var renderBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

// maxPooledBuffer keeps an unusually large page's buffer out of the pool.
const maxPooledBuffer = 256 << 10

// page builds the layout model for the current request. It consumes the
// session's flash messages.
func (s *Server) page(c echo.Context, title, nav string) views.Page {
	p := views.Page{
		Title:   title,
		Nav:     nav,
		CSRF:    csrfToken(c),
		Flashes: takeFlashes(c),
		Sandbox: s.cfg.Sandbox,
		Asset:   s.cfg.Assets.URL,
	}
	if u := currentUser(c); u != nil {
		p.User = &views.User{Name: u.Name, Email: u.Email, Admin: u.IsAdmin()}
		p.Running = s.running(c, u.ID)
	}
	return p
}

func isHTMX(c echo.Context) bool { return c.Request().Header.Get("HX-Request") == "true" }

// redirect answers 303, or HX-Redirect for htmx requests so the whole page
// navigates instead of swapping a page into a fragment.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
