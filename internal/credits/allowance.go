package credits

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"swapdesk/db"
	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
)

// FieldMonthly is the allowance form's field.
const FieldMonthly = fields.Monthly

// AllowanceStore is what allowances need from the database.
type AllowanceStore interface {
	UserByID(ctx context.Context, id int64) (db.User, error)
	Setting(ctx context.Context, key string) (string, error)
	SetAllowance(ctx context.Context, userID, monthly int64, period string, audit db.AuditEntry) error
	AllowancesDue(ctx context.Context, period string) ([]int64, error)
	ApplyAllowance(ctx context.Context, userID int64, period, note string, decide db.TopUp) (int64, bool, error)
}

// Allowances applies monthly allowances: at the start of each calendar
// month in the team's time zone, a member with an allowance A is topped up
// to A available credits, never taking any away. Each member's month is
// recorded with its ledger line in one transaction, so it happens once
// however often (or however late) Apply runs.
type Allowances struct {
	store AllowanceStore
	now   func() time.Time
	log   *slog.Logger
}

// NewAllowances returns Allowances over store; now may be nil (time.Now).
func NewAllowances(store AllowanceStore, now func() time.Time, log *slog.Logger) *Allowances {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Allowances{store: store, now: now, log: log}
}

// TeamLocation reads the team's time zone (setting db.SettingTeamTimeZone,
// an IANA name). Absent, empty or unknown means UTC; an unknown one is
// logged, as it should never have been stored.
func TeamLocation(ctx context.Context, store interface {
	Setting(ctx context.Context, key string) (string, error)
}) *time.Location {
	name, err := store.Setting(ctx, db.SettingTeamTimeZone)
	if err != nil || strings.TrimSpace(name) == "" {
		return time.UTC
	}
	loc, err := LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// locations caches LoadLocation: time.LoadLocation reads and parses the
// zone's file on every call, and every page asks for one or two zones.
var locations sync.Map // name -> *time.Location

// LoadLocation is time.LoadLocation with a cache (failures are not cached).
func LoadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// Period names the calendar month of t in loc, as allowances record it:
// "2026-12".
func Period(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

// NextTopUp is when allowances are next applied after t: the start of the
// next calendar month in loc.
func NextTopUp(t time.Time, loc *time.Location) time.Time {
	m := MonthStart(t, loc)
	return time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc)
}

// TopUpTo is the allowance rule: enough to bring available up to monthly,
// never a negative amount.
func TopUpTo(monthly int64, bal db.Balance) int64 { return max(monthly-bal.Available, 0) }

// Apply tops up every member due for this month (in the team's time zone)
// and returns how many it topped up. Safe to run at any time, as often as
// wanted, from several processes.
func (a *Allowances) Apply(ctx context.Context) (int, error) {
	loc := TeamLocation(ctx, a.store)
	period := Period(a.now(), loc)
	ids, err := a.store.AllowancesDue(ctx, period)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		amount, _, err := a.store.ApplyAllowance(ctx, id, period, "Monthly allowance "+period, TopUpTo)
		if err != nil {
			return n, err
		}
		if amount > 0 {
			n++
		}
	}
	return n, nil
}

// maxWait bounds the loop's sleep, so a changed team time zone (or a
// suspended machine's clock) is noticed within the hour.
const maxWait = time.Hour

// Run applies allowances now, then at each month start, until ctx ends.
func (a *Allowances) Run(ctx context.Context) {
	for {
		if _, err := a.Apply(ctx); err != nil && ctx.Err() == nil {
			a.log.Error("apply monthly allowances", "err", err)
		}
		now := a.now()
		wait := min(NextTopUp(now, TeamLocation(ctx, a.store)).Sub(now)+time.Second, maxWait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// SetAllowance sets a member's monthly allowance (0 removes it), audited
// with the admin and address. The first top-up comes at the start of the
// next month in the team's time zone. Errors: *apperr.Invalid (FieldMonthly) for a
// value outside 0..MaxChange, apperr.ErrNotFound for an unknown member.
func (a *Allowances) SetAllowance(ctx context.Context, actorID, memberID, monthly int64, ip string) error {
	if monthly < 0 || monthly > MaxChange {
		return apperr.Fields(apperr.FieldErrors{FieldMonthly: fmt.Sprintf(
			"Enter a whole number of credits from 0 (no allowance) to %s.", thousands(MaxChange))})
	}
	m, err := a.store.UserByID(ctx, memberID)
	if err != nil {
		return err
	}
	// The first top-up is at the next month start, as the pages say: not
	// now, which would hand out a whole month's credits mid-month.
	period := Period(a.now(), TeamLocation(ctx, a.store))
	return a.store.SetAllowance(ctx, memberID, monthly, period, db.AuditEntry{ActorID: actorID, Action: db.AuditAllowanceSet,
		Subject: m.Email, IP: ip, Detail: fmt.Sprintf("member=%d monthly=%d", memberID, monthly)})
}

// ParseMonthly reads an allowance as typed: a whole number, "" meaning 0.
func ParseMonthly(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > MaxChange {
		if errors.Is(err, strconv.ErrRange) || err == nil {
			return 0, apperr.Fields(apperr.FieldErrors{FieldMonthly: fmt.Sprintf(
				"Enter a whole number of credits from 0 (no allowance) to %s.", thousands(MaxChange))})
		}
		return 0, apperr.Fields(apperr.FieldErrors{FieldMonthly: "Enter a whole number of credits, such as 200, or 0 for none."})
	}
	return n, nil
}

// Usage is how far a member is into their allowance this month.
type Usage int

// Usage states.
const (
	UsageOK      Usage = iota
	UsageWarning       // 80 % of the allowance used
	UsageBlocked       // nothing available and the allowance used up
)

// WarnAt is the share of an allowance used (in percent) from which a member
// is warned.
const WarnAt = 80

// AllowanceUsage says how far a member with allowance monthly, balance bal
// and spentThisMonth is: "used" counts this month's charges and what is
// held now. Members without an allowance are always UsageOK.
func AllowanceUsage(monthly int64, bal db.Balance, spentThisMonth int64) Usage {
	if monthly <= 0 {
		return UsageOK
	}
	used := spentThisMonth + bal.Held
	switch {
	case bal.Available <= 0 && used >= monthly:
		return UsageBlocked
	case used*100 >= monthly*WarnAt:
		return UsageWarning
	}
	return UsageOK
}
