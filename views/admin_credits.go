package views

import (
	"fmt"
	"strconv"
	"time"
)

// Admin area sections, for the admin sub-navigation.
const (
	AdminSectionMembers = "members"
	AdminSectionCredits = "credits"
	AdminSectionAudit   = "audit"
	AdminSectionTokens  = "tokens"
)

// AdminCredits is the credit overview's model (GET /admin/credits).
type AdminCredits struct {
	Zone     string // the team's time zone, named on every date
	ZoneForm ZoneForm
	Totals   CreditTotals
	Account  AkoolAccount
	Recon    Reconciliation
	// Interrupted are "check Akool" items: jobs whose process died between
	// the hold and Akool's answer.
	Interrupted []InterruptedRow
	Chart       SpendChart
	TopSpenders []SpenderRow
	Ledger      LedgerView
}

// ZoneForm is the team time zone form.
type ZoneForm struct {
	Value string
	Error string
}

// CreditTotals are the team's totals.
type CreditTotals struct {
	Granted, Held, Available, SpentThisMonth, SpentAllTime int64
}

// AkoolAccount is the Akool account's balance, or why it is unknown.
type AkoolAccount struct {
	Known     bool
	Credit    float64
	FetchedAt time.Time
	Error     string // user-safe
}

// Reconciliation sets members' spendable credits against the account.
type Reconciliation struct {
	Known     bool // the account's balance is known
	Promised  int64
	Account   float64
	Shortfall float64
}

// InterruptedRow is one "check Akool" item.
type InterruptedRow struct {
	JobID   int64
	Href    string
	Member  string
	Credits int64
	At      time.Time
}

// SpenderRow is one member's spend this month.
type SpenderRow struct {
	Name, Email string
	Spent       int64
}

// LedgerView is the ledger section: its filter, one page and the links.
type LedgerView struct {
	Member, Kind, From, To string // the filter as given
	Error                  string // why the filter was refused
	Members                []Option
	Kinds                  []string
	Rows                   []LedgerRowView
	NextHref               string // the next (older) page; "" when none
	CSVHref                string
}

// LedgerRowView is one ledger line.
type LedgerRowView struct {
	ID      int64
	At      time.Time
	Member  string
	Kind    string
	Amount  int64
	JobHref string
	JobID   int64
	Note    string
}

// AdminAudit is the audit log page's model (GET /admin/audit).
type AdminAudit struct {
	Zone                string
	Who, What, From, To string
	Error               string
	Actors              []Option
	Actions             []string
	// ActionOptions are Actions with their labels, for the filter.
	ActionOptions []Option
	Rows          []AuditRowView
	NextHref      string
}

// AuditRowView is one audit entry.
type AuditRowView struct {
	At      time.Time
	Actor   string
	Action  string
	Label   string // the action for people, "" when it has none
	Subject string
	Detail  string
	IP      string
}

// Credits formats a whole number of credits with thousands separators.
func Credits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// CreditsF formats Akool's balance, which its API gives as a number.
func CreditsF(f float64) string {
	if f == float64(int64(f)) {
		return Credits(int64(f))
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// ISO is t as ISO 8601 with its offset, for datetime attributes.
func ISO(t time.Time) string { return t.Format(time.RFC3339) }

func signed(n int64) string {
	if n > 0 {
		return "+" + Credits(n)
	}
	return Credits(n)
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
