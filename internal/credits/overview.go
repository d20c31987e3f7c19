package credits

import (
	"context"
	"fmt"
	"time"

	"swapdesk/db"
)

// Groupings for SpendByDay.
const (
	ByResolution = db.SpendByResolution
	ByMember     = db.SpendByMember
)

// MaxDays bounds SpendByDay's period.
const MaxDays = 366

// Totals are the team's credits.
type Totals struct {
	Granted        int64 // grants and adjustments, all time
	Held           int64 // reserved for jobs not settled yet
	Available      int64 // Granted - Held - SpentAllTime
	SpentThisMonth int64 // since the start of this calendar month in the team's time zone
	SpentAllTime   int64
}

// TeamTotals returns the team's totals now, "this month" being the
// calendar month in loc.
func (s *Service) TeamTotals(ctx context.Context, loc *time.Location) (Totals, error) {
	t, err := s.store.TeamTotals(ctx, MonthStart(s.now(), loc))
	if err != nil {
		return Totals{}, err
	}
	return Totals{Granted: t.Granted, Held: t.Held, Available: t.Available, SpentThisMonth: t.SpentSince, SpentAllTime: t.Spent}, nil
}

// MemberBalances returns every member's balance (available, held, spent in
// all) and what each spent in [from, to).
func (s *Service) MemberBalances(ctx context.Context, from, to time.Time) ([]db.MemberBalance, error) {
	return s.store.MemberBalances(ctx, from, to)
}

// MonthStart returns midnight on the first of t's month in loc.
func MonthStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc)
}

// DayStart returns the midnight that starts t's day in loc.
func DayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// DaySpend is what was charged on one calendar day.
type DaySpend struct {
	Day   time.Time // the midnight that starts it, in the time zone asked for
	Total int64
	// Parts split Total by resolution or by member, as asked; days without
	// charges have none.
	Parts []Part
	// Others is, from TopSpendByDay, what the members not among the top
	// ones spent that day (Total is Parts' sum plus Others).
	Others int64
}

// Part is one resolution's or one member's share of a day.
type Part struct {
	Resolution string // ByResolution; "" for a charge not tied to a job
	UserID     int64  // ByMember
	Credits    int64
}

// SpendByDay returns the charges of each of the days calendar days ending
// with today in loc (today included), oldest first, split by resolution
// or by member (by is ByResolution or ByMember). Days are calendar days in
// loc, so one may last 23 or 25 hours where clocks change.
func (s *Service) SpendByDay(ctx context.Context, days int, loc *time.Location, by string) ([]DaySpend, error) {
	if days < 1 || days > MaxDays {
		return nil, fmt.Errorf("spend by day: %d days (1 to %d)", days, MaxDays)
	}
	edges := s.dayEdges(days, loc)
	spend, err := s.store.SpendByRange(ctx, edges, by)
	if err != nil {
		return nil, err
	}
	return daySpends(edges, spend, false), nil
}

// TopSpendByDay is SpendByDay by member for the top members who spent the
// most over the whole period (ties: the lower id; fewer when fewer spent),
// the rest of each day being its Others. A chart that names a handful of
// members reads a handful of members' days, not every member's.
func (s *Service) TopSpendByDay(ctx context.Context, days int, loc *time.Location, top int) ([]DaySpend, error) {
	if days < 1 || days > MaxDays {
		return nil, fmt.Errorf("spend by day: %d days (1 to %d)", days, MaxDays)
	}
	if top < 1 {
		return nil, fmt.Errorf("spend by day: top %d members", top)
	}
	edges := s.dayEdges(days, loc)
	spend, err := s.store.SpendByRangeTop(ctx, edges, top)
	if err != nil {
		return nil, err
	}
	return daySpends(edges, spend, true), nil
}

// dayEdges are the midnights of the days calendar days in loc ending with
// today, and the one after.
func (s *Service) dayEdges(days int, loc *time.Location) []time.Time {
	today := DayStart(s.now(), loc)
	edges := make([]time.Time, days+1)
	for i := range edges {
		edges[i] = time.Date(today.Year(), today.Month(), today.Day()-days+1+i, 0, 0, 0, 0, loc)
	}
	return edges
}

// daySpends puts the store's sums by range into days; with others, a row
// of no member (SpendByRangeTop's rest) is the day's Others.
func daySpends(edges []time.Time, spend []db.RangeSpend, others bool) []DaySpend {
	out := make([]DaySpend, len(edges)-1)
	for i := range out {
		out[i].Day = edges[i]
	}
	for _, r := range spend {
		d := &out[r.Range]
		d.Total += r.Credits
		if others && r.UserID == 0 {
			d.Others += r.Credits
			continue
		}
		d.Parts = append(d.Parts, Part{Resolution: r.Resolution, UserID: r.UserID, Credits: r.Credits})
	}
	return out
}
