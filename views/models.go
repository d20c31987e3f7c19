// Package views holds Swapdesk's templ components and the typed view models
// they render. It imports no store and no service: handlers build the models.
package views

import (
	"encoding/json"
	"time"

	"swapdesk/internal/fields"
)

// Page is what the layout needs on every page.
type Page struct {
	Title   string
	Nav     string // the current section, for aria-current
	User    *User  // nil when signed out
	CSRF    string
	Flashes []Flash
	Sandbox bool
	// Running is how many of the signed-in person's jobs are not final; the
	// title shows it ("(2) Jobs · Swapdesk") and app.js lowers it as their
	// cards finish.
	Running int
	// Asset maps an asset name ("app.css") to its content-hash URL.
	Asset func(name string) string
}

// User is the signed-in person as the layout shows them.
type User struct {
	Name  string
	Email string
	Admin bool
}

// Flash kinds.
const (
	FlashSuccess = "success"
	FlashError   = "error"
	FlashInfo    = "info"
)

// Flash is a one-time message carried across a redirect.
type Flash struct {
	Kind    string
	Message string
}

// Nav sections.
const (
	NavDashboard = "dashboard"
	NavNewJob    = "new-job"
	NavJobs      = "jobs"
	NavGallery   = "gallery"
	NavAdmin     = "admin"
)

// htmxConfig is read by htmx from a meta tag (no inline script, CSP-safe):
// no injected indicator <style>, 422 responses swapped so forms can show
// their inline errors, and 429 so the estimate panel can say to slow down.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,` +
	`"responseHandling":[{"code":"204","swap":false},{"code":"[23]..","swap":true},` +
	`{"code":"422","swap":true},{"code":"429","swap":true},{"code":"[45]..","swap":false,"error":true}]}`

// hxHeaders returns the hx-headers JSON that carries the CSRF token on every
// htmx request.
func hxHeaders(csrf string) string {
	if isTokenSafe(csrf) {
		// Every page has one: skip encoding/json for the usual base64url token.
		return `{"` + fields.CSRFHeader + `":"` + csrf + `"}`
	}
	b, _ := json.Marshal(map[string]string{fields.CSRFHeader: csrf})
	return string(b)
}

// isTokenSafe reports whether s needs no escaping in a JSON string.
func isTokenSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (p Page) asset(name string) string {
	if p.Asset == nil {
		return "/static/" + name
	}
	return p.Asset(name)
}

func (p Page) fullTitle() string {
	if p.Title == "" {
		return "Swapdesk"
	}
	return p.Title + " · Swapdesk"
}

// LoginForm is the sign-in page's model.
type LoginForm struct {
	Email string
	Next  string
	Error string
}

// Dashboard is the home page's model.
type Dashboard struct {
	Name string
	// Email is the signed-in person's, for the admin's grant hint.
	Email string
	// UserID is theirs, for the admin's link to their own member page.
	UserID int64
	// Notice warns about this month's allowance.
	Notice AllowanceNotice
	// Admin is set for admins: they are told how to grant credits
	// rather than to ask for them.
	Admin     bool
	Available int64
	Held      int64
	Spent     int64
	Running   int
	Recent    []JobCard
}

// ErrorPage is the model of the error page.
type ErrorPage struct {
	Status    int
	Heading   string
	Message   string
	RequestID string
}

// AdminUsers is the members page's model.
type AdminUsers struct {
	Users []UserRow
}

// UserRow is one account in the members table.
type UserRow struct {
	Name     string
	Email    string
	Admin    bool
	Disabled bool
	Created  time.Time
}
