package views

import (
	"strconv"
	"time"

	"swapdesk/internal/jobstatus"
	"swapdesk/internal/urls"
)

// When shows t in loc with the zone named: "1 Dec 2026, 14:05 CET". Pages
// that show dates use it with the viewer's zone; "—" for the zero time.
func When(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006, 15:04 MST")
}

// Day shows t's date in loc: "1 Dec 2026".
func Day(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2 Jan 2006")
}

// Zone is a viewer's time zone for the dates of a page.
type Zone struct {
	Loc  *time.Location
	Name string // the IANA name, shown in <time title>
}

// Usage states of an allowance, as the pages show them.
const (
	UsageOK      = ""
	UsageWarning = "warning"
	UsageBlocked = "blocked"
)

// Admin is an admin to ask for credits.
type Admin struct {
	Name  string
	Email string
}

// AllowanceNotice is the banner about a member's allowance (dashboard, New
// swap): Usage says which, Admins whom to ask.
type AllowanceNotice struct {
	Usage   string
	Monthly int64
	Next    string // when it next tops up, in the viewer's zone
	Admins  []Admin
}

// MembersList is /admin/users.
type MembersList struct {
	Zone    Zone
	Sort    string
	Desc    bool
	Members []MemberItem
	Add     AddMemberForm
}

// MemberItem is one row of the members list.
type MemberItem struct {
	ID             int64
	Name, Email    string
	Admin          bool
	Disabled       bool
	LastLogin      time.Time
	Available      int64
	Held           int64
	SpentThisMonth int64
	Monthly        int64
	Jobs           int64
	Usage          string
}

// AddMemberForm is the add-a-member form.
type AddMemberForm struct {
	Email, Name, Role string
	Link              bool
	Errors            map[string]string
}

// SortColumn is a sortable column of the members list.
type SortColumn struct {
	Key, Label string
}

// MemberColumns are the members list's sortable columns, in order.
var MemberColumns = []SortColumn{
	{"name", "Member"}, {"role", "Role"}, {"status", "Status"}, {"last", "Last sign-in"},
	{"available", "Available"}, {"held", "Held"}, {"spent", "Spent this month"}, {"allowance", "Monthly allowance"}, {"jobs", "Jobs"},
}

// SortURL is the list sorted by key: ascending, or flipped when it is the
// current key.
func (m MembersList) SortURL(key string) string {
	return urls.AdminUsersSorted(key, key == m.Sort && !m.Desc)
}

// AriaSort is the aria-sort of a column.
func (m MembersList) AriaSort(key string) string {
	switch {
	case key != m.Sort:
		return "none"
	case m.Desc:
		return "descending"
	}
	return "ascending"
}

// MemberPage is /admin/users/:id.
type MemberPage struct {
	Zone      Zone
	Member    MemberItem
	CreatedAt time.Time
	Self      bool // the admin looks at their own account
	Next      string
	Ledger    LedgerPage
	Jobs      []MemberJob
	Tokens    []TokenRow // their API tokens, newest first
	// Form values and inline errors of the page's forms, when one of them
	// came back with 422.
	Amount, Note, MonthlyInput, Role string
	Errors                           map[string]string
}

// LedgerPage is one page of a member's ledger.
type LedgerPage struct {
	Lines []LedgerLine
	// Older is the link to the next (older) page, "" when this is the
	// last; Newest is the link back to the first, "" on it.
	Older, Newest string
}

// LedgerLine is one ledger line shown to people.
type LedgerLine struct {
	At     time.Time
	Kind   string
	Amount int64
	JobID  int64
	Note   string
}

// Signed formats the amount: "+30", "−20".
func (l LedgerLine) Signed() string { return LedgerRow{Amount: l.Amount}.Signed() }

// KindLabel names a ledger kind for people.
func KindLabel(kind string) string {
	switch kind {
	case "grant":
		return "Granted"
	case "adjust":
		return "Adjusted"
	case "allowance":
		return "Monthly allowance"
	case "hold":
		return "Held"
	case "release":
		return "Released"
	case "charge":
		return "Charged"
	}
	return kind
}

// MemberJob is one of a member's jobs on their admin page.
type MemberJob struct {
	ID         int64
	Status     jobstatus.Status
	Resolution string
	Credits    int64
	CreatedAt  time.Time
}

// AccountPage is /account.
type AccountPage struct {
	Zone           Zone
	Name, Email    string
	Available      int64
	Held           int64
	SpentThisMonth int64
	Monthly        int64
	NextTopUp      time.Time
	Notice         AllowanceNotice
	Ledger         LedgerPage
	// TimeZone is the person's own setting ("" = the team's); TeamZone the
	// team's; Zones the common choices.
	TimeZone, TeamZone string
	Zones              []string
	Errors             map[string]string
}

// CommonZones are offered in the time zone select; any other IANA name
// can be typed.
var CommonZones = []string{
	"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw", "Europe/Kyiv",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo",
	"Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland",
}

// WelcomePage is /welcome/:token.
type WelcomePage struct {
	Token  string
	Name   string
	Email  string
	Error  string // the link cannot be used: why
	Errors map[string]string
}

func money(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := ""
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out += ","
		}
		out += string(r)
	}
	if neg {
		return "−" + out
	}
	return out
}
