package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/apperr"
	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/pricing"
)

// Errors of every package reach the browser through the one vocabulary:
// their status comes from the apperr sentinel they unwrap to, their words
// from apperr.Message, and nothing internal is shown.
func TestErrorsMapThroughTheVocabulary(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		status  int
		message string // shown on the page
		hidden  string // never shown
	}{
		{"conflict", fmt.Errorf("delete job 7: %w", apperr.ErrConflict), http.StatusConflict,
			"This cannot be done in its current state.", "delete job 7"},
		{"conflict from the store", fmt.Errorf("mark submitted: %w", fmt.Errorf("job is no longer submitting: %w", apperr.ErrConflict)),
			http.StatusConflict, "Reload the page", "no longer submitting"},
		{"invalid", apperr.Invalidf("Choose a member."), http.StatusUnprocessableEntity, "Choose a member.", ""},
		{"media link", fmt.Errorf("probe: %w", &media.Error{Kind: media.ErrHTTPStatus, Message: "the server answered 404 Not Found",
			Err: fmt.Errorf("GET http://10.0.0.1/secret")}), http.StatusUnprocessableEntity, "The server answered 404 Not Found.", "10.0.0.1"},
		{"media busy", &media.Error{Kind: media.ErrBusy, Message: "your other link checks are still running"},
			http.StatusTooManyRequests, "Your other link checks are still running.", ""},
		{"pricing", &pricing.Error{Kind: pricing.ErrTooLong, Field: pricing.FieldDuration, Message: "use a duration of at most 120 s"},
			http.StatusUnprocessableEntity, "Use a duration of at most 120 s.", ""},
		{"job input", &jobs.InputError{Err: apperr.Fields(apperr.FieldErrors{"prompt": "Too long."})},
			http.StatusUnprocessableEntity, "Please correct the highlighted fields.", "job input"},
		{"job input, short of credits", &jobs.InputError{Err: &apperr.InsufficientCredits{Available: 5, Needed: 30}},
			http.StatusPaymentRequired, "Ask an admin for more credits.", "5 available"},
		{"too many", &apperr.TooMany{Message: "Wait a moment."}, http.StatusTooManyRequests, "Wait a moment.", ""},
		{"anything else", fmt.Errorf("open /var/lib/secret.db: disk full"), http.StatusInternalServerError,
			"It has been logged", "secret.db"},
	}
	srv, _ := newBareServer(t, func(e *echo.Echo) {
		for i, tt := range tests {
			e.GET(fmt.Sprintf("/t/%d", i), func(echo.Context) error { return tt.err })
		}
	})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := get(t, fmt.Sprintf("%s/t/%d", srv.URL, i))
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d", res.StatusCode, tt.status)
			}
			if !strings.Contains(body, tt.message) {
				t.Errorf("page lacks %q:\n%s", tt.message, body)
			}
			if tt.hidden != "" && strings.Contains(body, tt.hidden) {
				t.Errorf("page shows the internal %q", tt.hidden)
			}
		})
	}
}
