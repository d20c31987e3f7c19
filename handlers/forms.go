package handlers

import (
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
)

// formValues is what a form sent: the query of a GET or HEAD (a prefilled
// form), else the url-encoded or multipart body. Handlers read it by the
// names in internal/fields, the ones the views render. A body of another
// type is refused (400).
func formValues(c echo.Context) (url.Values, error) {
	r := c.Request()
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return c.QueryParams(), nil
	}
	if r.ContentLength == 0 {
		return url.Values{}, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	switch mt {
	case echo.MIMEApplicationForm:
		v, err := c.FormParams()
		if err != nil {
			return nil, echo.NewHTTPError(http.StatusBadRequest)
		}
		return v, nil
	case echo.MIMEMultipartForm:
		f, err := c.MultipartForm()
		if err != nil {
			return nil, echo.NewHTTPError(http.StatusBadRequest)
		}
		return f.Value, nil
	}
	return nil, echo.NewHTTPError(http.StatusBadRequest)
}
