package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"swapdesk/db"
	"swapdesk/internal/accounts"
	"swapdesk/internal/apperr"
	"swapdesk/internal/credits"
	"swapdesk/internal/fields"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// memberStore reads what the members pages and /account show.
type memberStore interface {
	UserByID(ctx context.Context, id int64) (db.User, error)
	Members(ctx context.Context, monthStart time.Time, sort string, desc bool) ([]db.MemberRow, error)
	Balance(ctx context.Context, userID int64) (db.Balance, error)
	SpentSince(ctx context.Context, userID int64, since time.Time) (int64, error)
	Allowance(ctx context.Context, userID int64) (int64, error)
	LedgerPage(ctx context.Context, userID, before int64, limit int) ([]db.LedgerEntry, error)
	ListJobs(ctx context.Context, q db.JobQuery) ([]db.Job, error)
	TimeZone(ctx context.Context, userID int64) (string, error)
	Setting(ctx context.Context, key string) (string, error)
	ActiveAdmins(ctx context.Context) ([]db.User, error)
}

// memberActs are the admin's acts on members and a person's on their own
// account (internal/accounts.Members).
type memberActs interface {
	AddMember(ctx context.Context, a accounts.Actor, email, name, role string, link bool) (accounts.Added, error)
	SetRole(ctx context.Context, a accounts.Actor, memberID int64, role string) error
	SetMemberDisabled(ctx context.Context, a accounts.Actor, memberID int64, disabled bool) error
	ResetPassword(ctx context.Context, a accounts.Actor, memberID int64) (string, error)
	UnlockMember(ctx context.Context, a accounts.Actor, memberID int64) error
	ChangePassword(ctx context.Context, a accounts.Actor, current, next string) (db.User, error)
	SetTimeZone(ctx context.Context, a accounts.Actor, tz string) error
	CheckLink(ctx context.Context, token string) (db.User, error)
	UseLink(ctx context.Context, token, password, ip string) (db.User, error)
}

// creditService grants and takes back credits (internal/credits.Service).
type creditService interface {
	Grant(ctx context.Context, c credits.Change) (credits.Result, error)
	Adjust(ctx context.Context, c credits.Change) (credits.Result, error)
}

// allowanceSetter sets monthly allowances (internal/credits.Allowances).
type allowanceSetter interface {
	SetAllowance(ctx context.Context, actorID, memberID, monthly int64, ip string) error
}

// Page sizes.
const (
	ledgerPageSize = 25
	memberJobs     = 10
)

func (s *Server) actor(c echo.Context) accounts.Actor {
	return accounts.Actor{ID: currentUser(c).ID, IP: c.RealIP()}
}

// teamZone is the team's time zone.
func (s *Server) teamZone(ctx context.Context) *time.Location {
	return credits.TeamLocation(ctx, s.cfg.Members)
}

// viewerZone is the zone the signed-in person's dates are shown in: their
// own, else the team's.
func (s *Server) viewerZone(c echo.Context) views.Zone {
	ctx := c.Request().Context()
	if u := currentUser(c); u != nil {
		if name, err := s.cfg.Members.TimeZone(ctx, u.ID); err == nil && name != "" {
			if loc, err := credits.LoadLocation(name); err == nil {
				return views.Zone{Loc: loc, Name: name}
			}
		}
	}
	loc := s.teamZone(ctx)
	return views.Zone{Loc: loc, Name: loc.String()}
}

func usageState(u credits.Usage) string {
	switch u {
	case credits.UsageWarning:
		return views.UsageWarning
	case credits.UsageBlocked:
		return views.UsageBlocked
	}
	return views.UsageOK
}

func memberItem(r db.MemberRow) views.MemberItem {
	return views.MemberItem{ID: r.ID, Name: r.Name, Email: r.Email, Admin: r.IsAdmin(), Disabled: r.Disabled(),
		LastLogin: r.LastLogin, Available: r.Available, Held: r.Held, SpentThisMonth: r.SpentThisMonth,
		Monthly: r.Monthly, Jobs: r.Jobs, Usage: usageState(credits.AllowanceUsage(r.Monthly, r.Balance, r.SpentThisMonth))}
}

func (s *Server) adminUsers(c echo.Context) error {
	return s.renderMembers(c, http.StatusOK, views.AddMemberForm{Role: db.RoleMember})
}

func (s *Server) renderMembers(c echo.Context, status int, add views.AddMemberForm) error {
	ctx := c.Request().Context()
	sort := c.QueryParam(fields.Sort)
	if !db.MemberSortKnown(sort) {
		sort = db.SortName
	}
	desc := c.QueryParam(fields.Dir) == "desc"
	rows, err := s.cfg.Members.Members(ctx, credits.MonthStart(s.now(), s.teamZone(ctx)), sort, desc)
	if err != nil {
		return err
	}
	m := views.MembersList{Zone: s.viewerZone(c), Sort: sort, Desc: desc, Add: add}
	for _, r := range rows {
		m.Members = append(m.Members, memberItem(r))
	}
	return render(c, status, views.AdminUsersPage(s.page(c, "Members", views.NavAdmin), m))
}

type addMemberInput struct {
	Email  string `form:"email"`  // fields.Email
	Name   string `form:"name"`   // fields.Name
	Role   string `form:"role"`   // fields.Role
	Access string `form:"access"` // fields.Access
}

func (s *Server) addMember(c echo.Context) error {
	var in addMemberInput
	if err := c.Bind(&in); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	link := in.Access == fields.AccessLink
	added, err := s.cfg.MemberActs.AddMember(c.Request().Context(), s.actor(c), in.Email, in.Name, in.Role, link)
	if fe := fieldErrors(err); fe != nil {
		return s.renderMembers(c, http.StatusUnprocessableEntity, views.AddMemberForm{
			Email: truncate(in.Email, 300), Name: truncate(in.Name, 300), Role: in.Role, Link: link, Errors: fe})
	}
	if err != nil {
		return err
	}
	if link {
		url := c.Scheme() + "://" + c.Request().Host + urls.Welcome(added.Token)
		addFlash(c, views.FlashSuccess, fmt.Sprintf("Added %s. Send them this one-time sign-in link (shown only now; it works until %s): %s",
			added.User.Email, views.When(added.Expires, s.viewerZone(c).Loc), url))
	} else {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("Added %s. Their password (shown only now): %s", added.User.Email, added.Password))
	}
	return redirect(c, memberPath(added.User.ID))
}

func memberPath(id int64) string { return urls.AdminUser(id) }

// fieldErrors returns an *apperr.Invalid's field messages (its message
// under "" when it has none), or nil for any other error.
func fieldErrors(err error) map[string]string {
	var inv *apperr.Invalid
	if !errors.As(err, &inv) {
		return nil
	}
	if len(inv.Fields) == 0 {
		return map[string]string{"": inv.Message}
	}
	return inv.Fields
}

// memberID reads :id; an id that is not a number is no member (404).
func (s *Server) member(c echo.Context) (db.User, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return db.User{}, apperr.ErrNotFound
	}
	return s.cfg.Members.UserByID(c.Request().Context(), id)
}

func (s *Server) memberPage(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	return s.renderMemberPage(c, http.StatusOK, u, views.MemberPage{})
}

// renderMemberPage shows member u; form carries the values and errors of a
// form that came back with 422.
func (s *Server) renderMemberPage(c echo.Context, status int, u db.User, form views.MemberPage) error {
	ctx := c.Request().Context()
	team := s.teamZone(ctx)
	zone := s.viewerZone(c)
	bal, err := s.cfg.Members.Balance(ctx, u.ID)
	if err != nil {
		return err
	}
	spent, err := s.cfg.Members.SpentSince(ctx, u.ID, credits.MonthStart(s.now(), team))
	if err != nil {
		return err
	}
	monthly, err := s.cfg.Members.Allowance(ctx, u.ID)
	if err != nil {
		return err
	}
	ledger, err := s.ledgerPage(c, u.ID, memberPath(u.ID))
	if err != nil {
		return err
	}
	js, err := s.cfg.Members.ListJobs(ctx, db.JobQuery{UserID: u.ID, Limit: memberJobs})
	if err != nil {
		return err
	}
	m := form
	m.Zone = zone
	m.Member = memberItem(db.MemberRow{User: u, Balance: bal, SpentThisMonth: spent, Monthly: monthly})
	m.CreatedAt = u.CreatedAt
	m.Self = u.ID == currentUser(c).ID
	m.Next = views.When(credits.NextTopUp(s.now(), team), zone.Loc)
	m.Ledger = ledger
	if m.Tokens, err = s.memberTokenRows(c, u.ID); err != nil {
		return err
	}
	if m.MonthlyInput == "" && form.Errors[fields.Monthly] == "" {
		m.MonthlyInput = strconv.FormatInt(monthly, 10)
	}
	for _, j := range js {
		credit := j.EstimateCredits
		if j.ChargedCredits != nil {
			credit = *j.ChargedCredits
		}
		m.Jobs = append(m.Jobs, views.MemberJob{ID: j.ID, Status: j.Status,
			Resolution: j.Resolution, Credits: credit, CreatedAt: j.CreatedAt})
	}
	return render(c, status, views.MemberAdminPage(s.page(c, u.Name, views.NavAdmin), m))
}

// ledgerPage reads the page of userID's ledger named by ?before= (a line
// id; newest first), linking from base.
func (s *Server) ledgerPage(c echo.Context, userID int64, base string) (views.LedgerPage, error) {
	before, _ := strconv.ParseInt(c.QueryParam(fields.Before), 10, 64)
	lines, err := s.cfg.Members.LedgerPage(c.Request().Context(), userID, before, ledgerPageSize+1)
	if err != nil {
		return views.LedgerPage{}, err
	}
	var p views.LedgerPage
	if len(lines) > ledgerPageSize {
		lines = lines[:ledgerPageSize]
		p.Older = base + "?" + fields.Before + "=" + strconv.FormatInt(lines[len(lines)-1].ID, 10)
	}
	if before > 0 {
		p.Newest = base
	}
	for _, l := range lines {
		p.Lines = append(p.Lines, views.LedgerLine{At: l.CreatedAt, Kind: l.Kind, Amount: l.Amount, JobID: l.JobID, Note: l.Note})
	}
	return p, nil
}

type creditsInput struct {
	Amount string `form:"amount"` // fields.Amount
	Note   string `form:"note"`   // fields.Note
}

func (s *Server) memberCredits(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	var in creditsInput
	if err := c.Bind(&in); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest)
	}
	back := views.MemberPage{Amount: truncate(in.Amount, 40), Note: truncate(in.Note, credits.MaxNoteRunes*4+100)}
	amount, err := credits.ParseAmount(in.Amount)
	if err == nil {
		ch := credits.Change{ActorID: currentUser(c).ID, MemberID: u.ID, Amount: amount, Note: in.Note, IP: c.RealIP()}
		var res credits.Result
		if amount > 0 {
			res, err = s.cfg.Credits.Grant(c.Request().Context(), ch)
		} else {
			res, err = s.cfg.Credits.Adjust(c.Request().Context(), ch)
		}
		if err == nil {
			verb := "Granted"
			if amount < 0 {
				verb, amount = "Took back", -amount
			}
			addFlash(c, views.FlashSuccess, fmt.Sprintf("%s %d credits. %s now has %d available.", verb, amount, u.Name, res.Balance.Available))
			return redirect(c, memberPath(u.ID))
		}
	}
	if fe := fieldErrors(err); fe != nil {
		back.Errors = fe
		return s.renderMemberPage(c, http.StatusUnprocessableEntity, u, back)
	}
	return err
}

func (s *Server) memberAllowance(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	raw := c.FormValue(fields.Monthly)
	monthly, err := credits.ParseMonthly(raw)
	if err == nil {
		err = s.cfg.Allowances.SetAllowance(c.Request().Context(), currentUser(c).ID, u.ID, monthly, c.RealIP())
	}
	if fe := fieldErrors(err); fe != nil {
		return s.renderMemberPage(c, http.StatusUnprocessableEntity, u, views.MemberPage{MonthlyInput: truncate(raw, 40), Errors: fe})
	}
	if err != nil {
		return err
	}
	if monthly == 0 {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("%s has no monthly allowance now.", u.Name))
	} else {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("%s is topped up to %d credits at the start of each month.", u.Name, monthly))
	}
	return redirect(c, memberPath(u.ID))
}

func (s *Server) memberDisable(c echo.Context) error { return s.setDisabled(c, true) }
func (s *Server) memberEnable(c echo.Context) error  { return s.setDisabled(c, false) }

func (s *Server) setDisabled(c echo.Context, disabled bool) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	err = s.cfg.MemberActs.SetMemberDisabled(c.Request().Context(), s.actor(c), u.ID, disabled)
	if fe := fieldErrors(err); fe != nil {
		return s.renderMemberPage(c, http.StatusUnprocessableEntity, u, views.MemberPage{Errors: map[string]string{"account": fe[""]}})
	}
	if err != nil {
		return err
	}
	if disabled {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("%s is disabled and signed out everywhere.", u.Name))
	} else {
		addFlash(c, views.FlashSuccess, fmt.Sprintf("%s can sign in again.", u.Name))
	}
	if disabled && u.ID == currentUser(c).ID {
		return redirect(c, urls.Login())
	}
	return redirect(c, memberPath(u.ID))
}

func (s *Server) memberRole(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	role := c.FormValue(fields.Role)
	err = s.cfg.MemberActs.SetRole(c.Request().Context(), s.actor(c), u.ID, role)
	if fe := fieldErrors(err); fe != nil {
		return s.renderMemberPage(c, http.StatusUnprocessableEntity, u, views.MemberPage{Errors: fe})
	}
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, fmt.Sprintf("%s is now %s.", u.Name, map[string]string{db.RoleAdmin: "an admin", db.RoleMember: "a member"}[role]))
	if u.ID == currentUser(c).ID && role != db.RoleAdmin {
		return redirect(c, urls.Dashboard())
	}
	return redirect(c, memberPath(u.ID))
}

func (s *Server) memberPassword(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	pw, err := s.cfg.MemberActs.ResetPassword(c.Request().Context(), s.actor(c), u.ID)
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, fmt.Sprintf("New password for %s (shown only now; their sessions have ended): %s", u.Email, pw))
	if u.ID == currentUser(c).ID {
		return redirect(c, urls.Login())
	}
	return redirect(c, memberPath(u.ID))
}

func (s *Server) memberUnlock(c echo.Context) error {
	u, err := s.member(c)
	if err != nil {
		return err
	}
	if err := s.cfg.MemberActs.UnlockMember(c.Request().Context(), s.actor(c), u.ID); err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, fmt.Sprintf("%s can try signing in again at once.", u.Name))
	return redirect(c, memberPath(u.ID))
}

// allowanceNotice says how far u is into their allowance this month.
func (s *Server) allowanceNotice(c echo.Context, u *db.User, bal db.Balance) (views.AllowanceNotice, error) {
	ctx := c.Request().Context()
	monthly, err := s.cfg.Members.Allowance(ctx, u.ID)
	if err != nil || monthly == 0 {
		return views.AllowanceNotice{}, err
	}
	team := s.teamZone(ctx)
	spent, err := s.cfg.Members.SpentSince(ctx, u.ID, credits.MonthStart(s.now(), team))
	if err != nil {
		return views.AllowanceNotice{}, err
	}
	n := views.AllowanceNotice{Usage: usageState(credits.AllowanceUsage(monthly, bal, spent)), Monthly: monthly,
		Next: views.When(credits.NextTopUp(s.now(), team), s.viewerZone(c).Loc)}
	if n.Usage == views.UsageBlocked {
		admins, err := s.cfg.Members.ActiveAdmins(ctx)
		if err != nil {
			return views.AllowanceNotice{}, err
		}
		for _, a := range admins {
			n.Admins = append(n.Admins, views.Admin{Name: a.Name, Email: a.Email})
		}
	}
	return n, nil
}

func (s *Server) account(c echo.Context) error {
	return s.renderAccount(c, http.StatusOK, nil, "")
}

func (s *Server) renderAccount(c echo.Context, status int, errs map[string]string, tzInput string) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	team := s.teamZone(ctx)
	bal, err := s.cfg.Members.Balance(ctx, u.ID)
	if err != nil {
		return err
	}
	spent, err := s.cfg.Members.SpentSince(ctx, u.ID, credits.MonthStart(s.now(), team))
	if err != nil {
		return err
	}
	monthly, err := s.cfg.Members.Allowance(ctx, u.ID)
	if err != nil {
		return err
	}
	notice, err := s.allowanceNotice(c, u, bal)
	if err != nil {
		return err
	}
	ledger, err := s.ledgerPage(c, u.ID, urls.Account())
	if err != nil {
		return err
	}
	own, err := s.cfg.Members.TimeZone(ctx, u.ID)
	if err != nil {
		return err
	}
	if errs != nil {
		own = tzInput
	}
	m := views.AccountPage{Zone: s.viewerZone(c), Name: u.Name, Email: u.Email, Available: bal.Available, Held: bal.Held,
		SpentThisMonth: spent, Monthly: monthly, NextTopUp: credits.NextTopUp(s.now(), team), Notice: notice, Ledger: ledger,
		TimeZone: own, TeamZone: team.String(), Zones: views.CommonZones, Errors: errs}
	return render(c, status, views.AccountPageView(s.page(c, "Your account", ""), m))
}

func (s *Server) accountPassword(c echo.Context) error {
	u, err := s.cfg.MemberActs.ChangePassword(c.Request().Context(), s.actor(c), c.FormValue(fields.Current), c.FormValue(fields.New))
	if fe := fieldErrors(err); fe != nil {
		return s.renderAccount(c, http.StatusUnprocessableEntity, fe, "")
	}
	if err != nil {
		return err
	}
	// Every session carrying the old version has ended; this one goes on
	// with the new.
	keepSignedIn(c, u)
	addFlash(c, views.FlashSuccess, "Your password is changed. Your other sessions have ended.")
	return redirect(c, urls.Account())
}

func (s *Server) accountTimeZone(c echo.Context) error {
	tz := c.FormValue(fields.TimeZone)
	err := s.cfg.MemberActs.SetTimeZone(c.Request().Context(), s.actor(c), tz)
	if fe := fieldErrors(err); fe != nil {
		return s.renderAccount(c, http.StatusUnprocessableEntity, fe, truncate(tz, 100))
	}
	if err != nil {
		return err
	}
	addFlash(c, views.FlashSuccess, "Dates are now shown in "+s.viewerZone(c).Name+".")
	return redirect(c, urls.Account())
}

func (s *Server) welcome(c echo.Context) error {
	token := c.Param("token")
	u, err := s.cfg.MemberActs.CheckLink(c.Request().Context(), token)
	var inv *apperr.Invalid
	if errors.As(err, &inv) {
		return render(c, http.StatusGone, views.Welcome(s.page(c, "Sign-in link", ""), views.WelcomePage{Error: inv.Message}))
	}
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.Welcome(s.page(c, "Welcome", ""), views.WelcomePage{Token: token, Name: u.Name, Email: u.Email}))
}

func (s *Server) welcomeSet(c echo.Context) error {
	token := c.Param("token")
	u, err := s.cfg.MemberActs.UseLink(c.Request().Context(), token, c.FormValue(fields.New), c.RealIP())
	var inv *apperr.Invalid
	if errors.As(err, &inv) {
		if len(inv.Fields) > 0 {
			who, _ := s.cfg.MemberActs.CheckLink(c.Request().Context(), token)
			return render(c, http.StatusUnprocessableEntity, views.Welcome(s.page(c, "Welcome", ""),
				views.WelcomePage{Token: token, Name: who.Name, Email: who.Email, Errors: inv.Fields}))
		}
		return render(c, http.StatusGone, views.Welcome(s.page(c, "Sign-in link", ""), views.WelcomePage{Error: inv.Message}))
	}
	if err != nil {
		return err
	}
	signIn(c, u)
	addFlash(c, views.FlashSuccess, "Your password is set. Welcome to Swapdesk.")
	return redirect(c, urls.Dashboard())
}

// keepSignedIn moves this session to u's new session version, keeping its
// id and CSRF token.
func keepSignedIn(c echo.Context, u db.User) {
	sess := sessionOf(c)
	sess.Values[keySessionVer] = u.SessionVersion
	c.Set(ctxUser, &u)
	markDirty(c)
}
