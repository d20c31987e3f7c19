package handlers

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// creditOverview is what the credit overview needs from the credits
// service.
type creditOverview interface {
	TeamTotals(ctx context.Context, loc *time.Location) (credits.Totals, error)
	MemberBalances(ctx context.Context, from, to time.Time) ([]db.MemberBalance, error)
	SpendByDay(ctx context.Context, days int, loc *time.Location, by string) ([]credits.DaySpend, error)
	TopSpendByDay(ctx context.Context, days int, loc *time.Location, top int) ([]credits.DaySpend, error)
}

// adminStore is what the overview, ledger and audit pages read (and the
// time zone setting they write).
type adminStore interface {
	Setting(ctx context.Context, key string) (string, error)
	credits.SettingsWriter
	UserByID(ctx context.Context, id int64) (db.User, error)
	LedgerFiltered(ctx context.Context, f db.LedgerFilter) ([]db.LedgerRow, error)
	EachLedger(ctx context.Context, f db.LedgerFilter, fn func(db.LedgerRow) error) error
	AuditPage(ctx context.Context, f db.AuditFilter) ([]db.AuditRow, error)
	AuditActions(ctx context.Context) ([]string, error)
	InterruptedJobs(ctx context.Context, limit int) ([]db.InterruptedJob, error)
}

// akoolAccount is the Akool account's balance, cached
// (credits.AccountBalance).
type akoolAccount interface {
	Get(ctx context.Context) (credits.Account, error)
}

const (
	// akoolWait is how long the overview waits for Akool's balance.
	akoolWait        = 5 * time.Second
	overviewPageSize = 50
	auditPageSize    = 50
	topSpenders      = 5
	// memberSeries is how many members the by-member chart names; the
	// rest are "Others".
	memberSeries = 5
)

var resolutions = []string{"480p", "720p", "1080p"}

// badRequest answers 400 with the error page and a message saying what
// was wrong.
func (s *Server) badRequest(c echo.Context, msg string) error {
	return render(c, http.StatusBadRequest, views.Error(s.page(c, "Bad request", views.NavAdmin),
		views.ErrorPage{Status: http.StatusBadRequest, Heading: "Bad request", Message: msg}))
}

// ledgerQuery is the ledger's filter as given in a query string.
type ledgerQuery struct {
	Member, Kind, From, To string
}

func ledgerQueryOf(c echo.Context) ledgerQuery {
	return ledgerQuery{Member: strings.TrimSpace(c.QueryParam(fields.Member)), Kind: strings.TrimSpace(c.QueryParam(fields.Kind)),
		From: strings.TrimSpace(c.QueryParam(fields.From)), To: strings.TrimSpace(c.QueryParam(fields.To))}
}

func (q ledgerQuery) values() url.Values {
	v := url.Values{}
	for k, x := range map[string]string{fields.Member: q.Member, fields.Kind: q.Kind, fields.From: q.From, fields.To: q.To} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

// parseDays reads from and to (YYYY-MM-DD, both days included) as the
// range [from's midnight, the midnight after to) in loc.
func parseDays(from, to string, loc *time.Location) (lo, hi time.Time, err error) {
	parse := func(name, v string) (time.Time, error) {
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.ParseInLocation(time.DateOnly, v, loc)
		if err != nil {
			return time.Time{}, apperr.Invalidf("%q is not a date: write the %s date as YYYY-MM-DD, such as 2026-11-30.", v, name)
		}
		return t, nil
	}
	if lo, err = parse("from", from); err != nil {
		return
	}
	if hi, err = parse("to", to); err != nil {
		return
	}
	if !hi.IsZero() {
		hi = time.Date(hi.Year(), hi.Month(), hi.Day()+1, 0, 0, 0, 0, loc)
	}
	if !lo.IsZero() && !hi.IsZero() && !lo.Before(hi) {
		return lo, hi, apperr.Invalidf("The from date (%s) is after the to date (%s).", from, to)
	}
	return lo, hi, nil
}

// ledgerFilter checks q and turns it into a store filter. Its errors are
// *apperr.Invalid with a message to show.
func (s *Server) ledgerFilter(ctx context.Context, q ledgerQuery, loc *time.Location) (db.LedgerFilter, error) {
	var f db.LedgerFilter
	if q.Member != "" {
		id, err := strconv.ParseInt(q.Member, 10, 64)
		if err != nil || id <= 0 {
			return f, apperr.Invalidf("%q is not a member: choose one from the list.", q.Member)
		}
		if _, err := s.cfg.Admin.UserByID(ctx, id); errors.Is(err, apperr.ErrNotFound) {
			return f, apperr.Invalidf("There is no member %d.", id)
		} else if err != nil {
			return f, err
		}
		f.UserID = id
	}
	if q.Kind != "" {
		if !slices.Contains(db.LedgerKinds, q.Kind) {
			return f, apperr.Invalidf("%q is not a kind of ledger line: use one of %s.", q.Kind, strings.Join(db.LedgerKinds, ", "))
		}
		f.Kind = q.Kind
	}
	var err error
	f.From, f.To, err = parseDays(q.From, q.To, loc)
	return f, err
}

// adminCredits is the credit overview (GET /admin/credits).
func (s *Server) adminCredits(c echo.Context) error {
	return s.renderCredits(c, http.StatusOK, views.ZoneForm{})
}

func (s *Server) renderCredits(c echo.Context, status int, zoneForm views.ZoneForm) error {
	ctx := c.Request().Context()
	days := 30
	switch d := c.QueryParam(fields.Days); d {
	case "", "30":
	case "90":
		days = 90
	default:
		return s.badRequest(c, fmt.Sprintf("The chart shows the last 30 or 90 days (days=30 or days=90), not %q.", d))
	}
	by := credits.ByResolution
	switch b := c.QueryParam(fields.By); b {
	case "", credits.ByResolution:
	case credits.ByMember:
		by = credits.ByMember
	default:
		return s.badRequest(c, fmt.Sprintf("The chart is stacked by resolution or by member (by=resolution or by=member), not %q.", b))
	}
	loc := s.teamZone(ctx)
	now := s.now().In(loc)
	monthStart := credits.MonthStart(now, loc)

	totals, err := s.cfg.Overview.TeamTotals(ctx, loc)
	if err != nil {
		return err
	}
	// Whole days, so the store can answer from its day aggregates.
	today := credits.DayStart(now, loc)
	members, err := s.cfg.Overview.MemberBalances(ctx, monthStart, time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc))
	if err != nil {
		return err
	}
	var spend []credits.DaySpend
	if by == credits.ByMember {
		// The chart names memberSeries members: only theirs are read day by
		// day, the rest is each day's Others.
		spend, err = s.cfg.Overview.TopSpendByDay(ctx, days, loc, memberSeries)
	} else {
		spend, err = s.cfg.Overview.SpendByDay(ctx, days, loc, by)
	}
	if err != nil {
		return err
	}
	interrupted, err := s.cfg.Admin.InterruptedJobs(ctx, 50)
	if err != nil {
		return err
	}

	m := views.AdminCredits{Zone: loc.String(), ZoneForm: zoneForm}
	if m.ZoneForm.Value == "" && m.ZoneForm.Error == "" {
		m.ZoneForm.Value = loc.String()
	}
	m.Totals = views.CreditTotals{Granted: totals.Granted, Held: totals.Held, Available: totals.Available,
		SpentThisMonth: totals.SpentThisMonth, SpentAllTime: totals.SpentAllTime}
	// Akool's balance waits at most akoolWait: a slow Akool slows this
	// page by that much, and the fetch goes on for the next view.
	actx, cancel := context.WithTimeout(ctx, akoolWait)
	acct, aerr := s.cfg.AkoolAccount.Get(actx)
	cancel()
	recon := credits.Reconcile(totals, acct.Credit)
	m.Recon = views.Reconciliation{Promised: recon.Promised}
	if aerr != nil {
		s.log.Warn("akool balance", "err", aerr)
		m.Account.Error = akoolErrorText(aerr)
	} else {
		m.Account = views.AkoolAccount{Known: true, Credit: acct.Credit, FetchedAt: acct.FetchedAt.In(loc)}
		m.Recon = views.Reconciliation{Known: true, Promised: recon.Promised, Account: recon.Account, Shortfall: recon.Shortfall}
	}
	for _, j := range interrupted {
		m.Interrupted = append(m.Interrupted, views.InterruptedRow{JobID: j.ID, Href: urls.Job(j.ID),
			Member: j.Email, Credits: j.EstimateCredits, At: j.CreatedAt.In(loc)})
	}
	m.Chart = spendChart(spend, members, days, by, loc, totals.SpentThisMonth, now)
	m.Chart.Links = chartLinks(days, by)
	spenders := slices.Clone(members)
	slices.SortStableFunc(spenders, func(a, b db.MemberBalance) int { return cmp.Compare(b.SpentInPeriod, a.SpentInPeriod) })
	for _, mb := range spenders {
		if mb.SpentInPeriod <= 0 || len(m.TopSpenders) == topSpenders {
			break
		}
		m.TopSpenders = append(m.TopSpenders, views.SpenderRow{Name: mb.Name, Email: mb.Email, Spent: mb.SpentInPeriod})
	}

	// The ledger: a bad filter is said at the filter; the rest of the
	// page still shows.
	q := ledgerQueryOf(c)
	lv := views.LedgerView{Member: q.Member, Kind: q.Kind, From: q.From, To: q.To, Kinds: db.LedgerKinds,
		CSVHref: urls.AdminLedgerCSV(q.values())}
	for _, mb := range members {
		lv.Members = append(lv.Members, views.Option{Value: strconv.FormatInt(mb.UserID, 10), Label: mb.Name + " (" + mb.Email + ")"})
	}
	f, ferr := s.ledgerFilter(ctx, q, loc)
	var invalid *apperr.Invalid
	switch {
	case errors.As(ferr, &invalid):
		lv.Error = invalid.Message
		status = http.StatusBadRequest
	case ferr != nil:
		return ferr
	default:
		f.Before, _ = strconv.ParseInt(c.QueryParam(fields.Before), 10, 64)
		f.Limit = overviewPageSize + 1
		rows, err := s.cfg.Admin.LedgerFiltered(ctx, f)
		if err != nil {
			return err
		}
		if len(rows) > overviewPageSize {
			rows = rows[:overviewPageSize]
			v := q.values()
			v.Set(fields.Before, strconv.FormatInt(rows[len(rows)-1].ID, 10))
			if days != 30 {
				v.Set(fields.Days, strconv.Itoa(days))
			}
			if by != credits.ByResolution {
				v.Set(fields.By, by)
			}
			lv.NextHref = urls.AdminCredits(v) + "#ledger"
		}
		for _, r := range rows {
			rv := views.LedgerRowView{ID: r.ID, At: r.CreatedAt.In(loc), Member: r.Email, Kind: r.Kind, Amount: r.Amount, Note: r.Note, JobID: r.JobID}
			if r.JobID != 0 {
				rv.JobHref = urls.Job(r.JobID)
			}
			lv.Rows = append(lv.Rows, rv)
		}
	}
	m.Ledger = lv
	return render(c, status, views.AdminCreditsPage(s.page(c, "Credits", views.NavAdmin), m))
}

// akoolErrorText says plainly why Akool's balance is unknown, without
// internals: the error's user-safe message when it has one.
func akoolErrorText(err error) string {
	var ae *akool.Error
	if errors.As(err, &ae) {
		return fmt.Sprintf("Akool answered with code %d: %s", ae.Code, ae.UserMessage())
	}
	var safe interface{ UserMessage() string }
	if errors.As(err, &safe) {
		return safe.UserMessage()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Akool did not answer in time. Reload the page in a moment: the answer may have arrived."
	}
	return "Akool could not be reached or refused the request. The page will try again in a few seconds."
}

func chartLinks(days int, by string) []views.ChartLink {
	href := func(d int, b string) string {
		v := url.Values{}
		if d != 30 {
			v.Set(fields.Days, strconv.Itoa(d))
		}
		if b != credits.ByResolution {
			v.Set(fields.By, b)
		}
		return urls.AdminCredits(v) + "#spend"
	}
	return []views.ChartLink{
		{Label: "30 days", Href: href(30, by), Current: days == 30},
		{Label: "90 days", Href: href(90, by), Current: days == 90},
		{Label: "By resolution", Href: href(days, credits.ByResolution), Current: by == credits.ByResolution},
		{Label: "By member", Href: href(days, credits.ByMember), Current: by == credits.ByMember},
	}
}

// spendChart turns spend by day into the chart's model: series in a fixed
// order (resolutions; or the period's biggest spenders, then "Others").
func spendChart(spend []credits.DaySpend, members []db.MemberBalance, days int, by string, loc *time.Location,
	spentThisMonth int64, now time.Time) views.SpendChart {
	c := views.SpendChart{Days: days, By: by, Zone: loc.String(), SpentThisMonth: spentThisMonth,
		ProjectedMonth: credits.ProjectMonth(spentThisMonth, now, loc)}
	if elapsed := now.Sub(credits.MonthStart(now, loc)); elapsed > 0 {
		c.PacePerDay = float64(spentThisMonth) / (float64(elapsed) / float64(24*time.Hour))
	}
	index := map[string]int{}
	add := func(key, label string) {
		index[key] = len(c.Series)
		c.Series = append(c.Series, views.ChartSeries{Label: label, Class: "chart-s" + strconv.Itoa(len(c.Series))})
	}
	keyOf := func(p credits.Part) string { return p.Resolution }
	if by == credits.ByResolution {
		for _, r := range resolutions {
			add(r, r)
		}
		for _, d := range spend {
			for _, p := range d.Parts {
				if _, ok := index[p.Resolution]; !ok {
					add(p.Resolution, cmp.Or(p.Resolution, "no job"))
				}
			}
		}
	} else {
		// spend holds the period's top spenders' parts (TopSpendByDay) and
		// each day's Others.
		names := map[int64]string{}
		for _, m := range members {
			names[m.UserID] = m.Name
		}
		sum := map[int64]int64{}
		others := false
		for _, d := range spend {
			for _, p := range d.Parts {
				sum[p.UserID] += p.Credits
			}
			others = others || d.Others != 0
		}
		ids := make([]int64, 0, len(sum))
		for id := range sum {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cmp.Compare(sum[b], sum[a]), cmp.Compare(a, b)) })
		for i, id := range ids {
			if i == memberSeries {
				break
			}
			add(strconv.FormatInt(id, 10), cmp.Or(names[id], "member "+strconv.FormatInt(id, 10)))
		}
		if len(ids) > memberSeries || others {
			add("others", "Others")
		}
		keyOf = func(p credits.Part) string {
			k := strconv.FormatInt(p.UserID, 10)
			if _, ok := index[k]; ok {
				return k
			}
			return "others"
		}
	}
	for _, d := range spend {
		row := views.ChartDay{Label: d.Day.Format("2 Jan"), ISO: d.Day.Format(time.DateOnly), Total: d.Total, Values: make([]int64, len(c.Series))}
		for _, p := range d.Parts {
			row.Values[index[keyOf(p)]] += p.Credits
		}
		if d.Others != 0 {
			row.Values[index["others"]] += d.Others
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// setTeamZone saves the team's time zone (POST /admin/credits/time-zone).
func (s *Server) setTeamZone(c echo.Context) error {
	u := currentUser(c)
	name := c.FormValue(credits.FieldTimeZone)
	loc, err := credits.SetTeamZone(c.Request().Context(), s.cfg.Admin, u.ID, c.RealIP(), name)
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		return s.renderCredits(c, http.StatusUnprocessableEntity, views.ZoneForm{Value: name, Error: invalid.Fields[credits.FieldTimeZone]})
	}
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, "The team's time zone is now "+loc.String()+".")
	return redirect(c, urls.AdminCredits(nil))
}

// csvHeader is the ledger export's first row.
var csvHeader = []string{"id", "created_at", "member_email", "member_name", "kind", "amount", "job_id", "actor_id", "note"}

// ledgerCSV streams the ledger as CSV (GET /admin/credits/ledger.csv), with
// the overview's filters, row by row: nothing is collected in memory.
func (s *Server) ledgerCSV(c echo.Context) error {
	ctx := c.Request().Context()
	loc := s.teamZone(ctx)
	f, err := s.ledgerFilter(ctx, ledgerQueryOf(c), loc)
	var invalid *apperr.Invalid
	if errors.As(err, &invalid) {
		return c.String(http.StatusBadRequest, invalid.Message+"\n")
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="swapdesk-ledger-%s.csv"`, s.now().In(loc).Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	if err := w.Write(csvHeader); err != nil {
		return err
	}
	n := 0
	rec := make([]string, len(csvHeader))
	err = s.cfg.Admin.EachLedger(ctx, f, func(r db.LedgerRow) error {
		rec[0] = strconv.FormatInt(r.ID, 10)
		rec[1] = r.CreatedAt.In(loc).Format("2006-01-02T15:04:05.000Z07:00")
		rec[2] = neutralise(r.Email)
		rec[3] = neutralise(r.Name)
		rec[4] = r.Kind
		rec[5] = strconv.FormatInt(r.Amount, 10)
		rec[6], rec[7] = idCell(r.JobID), idCell(r.ActorID)
		rec[8] = neutralise(r.Note)
		if err := w.Write(rec); err != nil {
			return err
		}
		if n++; n%512 == 0 {
			w.Flush()
			return w.Error()
		}
		return nil
	})
	w.Flush()
	if err == nil {
		err = w.Error()
	}
	return err
}

func idCell(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// neutralise defuses spreadsheet formula injection: a text cell starting
// with = + - @, a tab or a carriage return is prefixed with ' so
// spreadsheets show it as text instead of evaluating it (OWASP "CSV
// Injection"). Our own numbers (amounts, ids) are written as they are.
func neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// auditLabels name the audit log's actions for people; the page shows the
// recorded name beside the label, and the name alone for any action
// missing here.
var auditLabels = map[string]string{
	db.AuditLogin:          "Signed in",
	db.AuditLoginFailed:    "Sign-in failed",
	db.AuditLogout:         "Signed out",
	db.AuditUserCreated:    "Member added",
	db.AuditPasswordReset:  "Password changed",
	db.AuditUserDisabled:   "Member disabled",
	db.AuditUserEnabled:    "Member enabled",
	db.AuditLoginUnlocked:  "Sign-in lockout cleared",
	db.AuditCreditsGrant:   "Credits granted",
	db.AuditCreditsAdjust:  "Credits taken back",
	db.AuditAllowanceSet:   "Monthly allowance set",
	db.AuditRoleChanged:    "Role changed",
	db.AuditSigninLink:     "Sign-in link made",
	db.AuditSigninLinkUsed: "Sign-in link used",
	db.AuditTimeZoneSet:    "Own time zone set",
	credits.AuditTeamZone:  "Team time zone changed",
	db.AuditTokenCreated:   "API token created",
	db.AuditTokenRevoked:   "API token revoked",
}

// adminAudit is the audit log (GET /admin/audit): filters who (an actor's
// id, or "system"), what (an action), from and to (YYYY-MM-DD in the
// team's zone); paged newest first.
func (s *Server) adminAudit(c echo.Context) error {
	ctx := c.Request().Context()
	loc := s.teamZone(ctx)
	m := views.AdminAudit{Zone: loc.String(), Who: strings.TrimSpace(c.QueryParam(fields.Who)), What: strings.TrimSpace(c.QueryParam(fields.What)),
		From: strings.TrimSpace(c.QueryParam(fields.From)), To: strings.TrimSpace(c.QueryParam(fields.To))}
	actions, err := s.cfg.Admin.AuditActions(ctx)
	if err != nil {
		return err
	}
	m.Actions = actions
	for _, a := range actions {
		m.ActionOptions = append(m.ActionOptions, views.Option{Value: a, Label: cmp.Or(auditLabels[a], a)})
	}
	users, err := s.cfg.Directory.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		m.Actors = append(m.Actors, views.Option{Value: strconv.FormatInt(u.ID, 10), Label: u.Name + " (" + u.Email + ")"})
	}
	f := db.AuditFilter{Limit: auditPageSize + 1}
	status := http.StatusOK
	fail := func(msg string) error {
		m.Error = msg
		return render(c, http.StatusBadRequest, views.AdminAuditPage(s.page(c, "Audit log", views.NavAdmin), m))
	}
	if m.Who != "" {
		id, err := strconv.ParseInt(m.Who, 10, 64)
		if err != nil || id <= 0 || !slices.ContainsFunc(users, func(u db.User) bool { return u.ID == id }) {
			return fail(fmt.Sprintf("%q is not a member: choose one from the list.", m.Who))
		}
		f.ActorID = id
	}
	if m.What != "" {
		if !slices.Contains(actions, m.What) {
			return fail(fmt.Sprintf("Nothing called %q was ever recorded: choose an action from the list.", m.What))
		}
		f.Action = m.What
	}
	var invalid *apperr.Invalid
	if f.From, f.To, err = parseDays(m.From, m.To, loc); errors.As(err, &invalid) {
		return fail(invalid.Message)
	}
	f.Before, _ = strconv.ParseInt(c.QueryParam(fields.Before), 10, 64)
	rows, err := s.cfg.Admin.AuditPage(ctx, f)
	if err != nil {
		return err
	}
	if len(rows) > auditPageSize {
		rows = rows[:auditPageSize]
		v := url.Values{}
		for k, x := range map[string]string{fields.Who: m.Who, fields.What: m.What, fields.From: m.From, fields.To: m.To} {
			if x != "" {
				v.Set(k, x)
			}
		}
		v.Set(fields.Before, strconv.FormatInt(rows[len(rows)-1].ID, 10))
		m.NextHref = urls.AdminAudit(v)
	}
	for _, r := range rows {
		m.Rows = append(m.Rows, views.AuditRowView{At: r.At.In(loc), Actor: cmp.Or(r.ActorEmail, "system"), Action: r.Action, Label: auditLabels[r.Action],
			Subject: r.Subject, Detail: r.Detail, IP: r.IP})
	}
	return render(c, status, views.AdminAuditPage(s.page(c, "Audit log", views.NavAdmin), m))
}
