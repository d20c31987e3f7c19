package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Spend by day comes from two aggregates (migration 0014): the charges of
// each day of spend_days, per resolution and per member, kept by a trigger
// on the ledger, so every ledger insert updates them in its own statement,
// whoever writes it. spend_days are the calendar days of the team's time
// zone (UTC until SetTeamZone rebuilds them in another's, with the
// setting, in one transaction). The overview's charts and totals use them
// only when every edge they ask for is a day start there, and read the
// charges themselves otherwise; a member's spend since a time (the members
// list, a member's month) reads whole days from them and the partial day
// from the ledger. So answers are exact in any zone.
//
// Why days in the team's zone, rebuilt on a zone change, and not UTC hours
// that any zone could add up: a zone's midnight is not always on a UTC hour
// (Asia/Kolkata +05:30, Asia/Kathmandu +05:45), and hour sums per member
// are as many rows as the charges themselves (the benchmark's year: 300,000
// charges in 300,000 member-hours, against 73,200 member-days), so 90 days
// by member would add up ~74,000 rows instead of 18,000. A zone changes
// rarely; its rebuild takes about a second.

// SpendDaysFrom and SpendDaysTo bound the days kept (charges outside them
// are read from the ledger).
var (
	SpendDaysFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	SpendDaysTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// In a statement whose ?1 is a time "since" (ms), spendEdge is the first
// kept day's start at or after it, and spendTail where the kept days end
// (or since, if later). What was charged from since on is then the
// charges in [since, spendEdge) and from spendTail on, read from the
// ledger, plus the day sums from spendEdge on: exact for any since, in any
// zone the days are kept in; a since on a kept midnight reads no charge.
const (
	keptEnd   = `COALESCE((SELECT end FROM spend_days ORDER BY start DESC LIMIT 1), ?1)`
	spendEdge = `COALESCE((SELECT MIN(start) FROM spend_days WHERE start >= ?1), ` + keptEnd + `)`
	spendTail = `max(?1, ` + keptEnd + `)`
)

// spentBefore is an SQL expression: what member uid was charged in the
// kept days before x (uid and x are SQL expressions), their running total
// through the last of their days before x (0 with none). A member's spend
// over [a, b) of kept midnights is spentBefore(uid, b) - spentBefore(uid, a):
// two seeks, however many days lie between.
func spentBefore(uid, x string) string {
	return `COALESCE((SELECT through FROM spend_by_day_member INDEXED BY spend_by_day_member_user
		WHERE user_id = ` + uid + ` AND day < ` + x + ` ORDER BY day DESC LIMIT 1), 0)`
}

// allDays is a bound after every kept day, for spentBefore.
const allDays = `9223372036854775807`

// SetSpendDays makes the days those of loc's calendar and rebuilds both
// aggregates from the ledger's charges, in one transaction (about a second
// for a million ledger lines, 300,000 of them charges; a team changes its
// zone rarely). SetTeamZone does the same with the setting.
func (d *DB) SetSpendDays(ctx context.Context, loc *time.Location) error {
	return d.tx(ctx, func(tx *sql.Tx) error { return setSpendDaysTx(ctx, tx, loc) })
}

// SetTeamZone stores loc as the team's time zone (SettingTeamTimeZone),
// writes audit when its Action is set, and rebuilds the spend-by-day sums
// in loc's days, all in one transaction: no reader ever sees the new zone
// with the old zone's days, and a failed rebuild leaves the old zone.
// Ledger writes wait for it (the busy timeout is 10 s).
func (d *DB) SetTeamZone(ctx context.Context, loc *time.Location, audit AuditEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		now := d.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
			SettingTeamTimeZone, loc.String(), ms(now)); err != nil {
			return err
		}
		if audit.Action != "" {
			if err := insertAudit(ctx, tx, now, audit); err != nil {
				return err
			}
		}
		return setSpendDaysTx(ctx, tx, loc)
	})
}

func setSpendDaysTx(ctx context.Context, tx *sql.Tx, loc *time.Location) error {
	for _, q := range []string{`DELETE FROM spend_days`, `DELETE FROM spend_by_day_resolution`, `DELETE FROM spend_by_day_member`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO spend_days (start, end) VALUES (?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	from, to := SpendDaysFrom.In(loc), SpendDaysTo.In(loc)
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	for day.Before(to) {
		next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
		if _, err := ins.ExecContext(ctx, ms(day), ms(next)); err != nil {
			return err
		}
		day = next
	}
	for _, q := range []string{
		`INSERT INTO spend_by_day_resolution (day, resolution, credits)
		SELECT (SELECT MAX(start) FROM spend_days WHERE start <= l.created_at) AS day, COALESCE(j.resolution, ''), -SUM(l.amount)
		FROM ledger l INDEXED BY ledger_charges LEFT JOIN jobs j ON j.id = l.job_id
		WHERE l.kind = 'charge' AND l.amount <> 0 AND l.created_at >= ? AND l.created_at < ?
		GROUP BY 1, 2`,
		`INSERT INTO spend_by_day_member (day, user_id, credits, through)
		SELECT day, user_id, credits, SUM(credits) OVER (PARTITION BY user_id ORDER BY day) FROM (
			SELECT (SELECT MAX(start) FROM spend_days WHERE start <= l.created_at) AS day, l.user_id, -SUM(l.amount) AS credits
			FROM ledger l INDEXED BY ledger_charges
			WHERE l.kind = 'charge' AND l.amount <> 0 AND l.created_at >= ? AND l.created_at < ?
			GROUP BY 1, 2)`,
	} {
		lo := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
		if _, err := tx.ExecContext(ctx, q, ms(lo), ms(day)); err != nil {
			return fmt.Errorf("rebuild spend by day: %w", err)
		}
	}
	return nil
}

// onDayEdges reports whether every edge is the start of a kept day (or the
// end of the last), so the aggregates answer exactly.
func onDayEdges(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, edges []time.Time) (bool, error) {
	if len(edges) == 0 {
		return false, nil
	}
	seen := map[int64]bool{}
	args := make([]any, 0, len(edges))
	for _, e := range edges {
		if !seen[ms(e)] {
			seen[ms(e)] = true
			args = append(args, ms(e))
		}
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM spend_days WHERE start IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...).Scan(&n)
	return n == len(args), err
}

// spendByDays is SpendByRange over the day sums, for edges that are all
// kept days' midnights: one walk of the sums' primary key from the first
// edge to the last, each day added to the range it falls in.
func (d *DB) spendByDays(ctx context.Context, edges []time.Time, by string) ([]RangeSpend, error) {
	query := `SELECT day, resolution, 0, credits FROM spend_by_day_resolution WHERE day >= ? AND day < ?`
	if by == SpendByMember {
		query = `SELECT day, '', user_id, credits FROM spend_by_day_member WHERE day >= ? AND day < ?`
	}
	bounds := make([]int64, len(edges))
	for i, e := range edges {
		bounds[i] = ms(e)
	}
	rows, err := d.sql.QueryContext(ctx, query, bounds[0], bounds[len(bounds)-1])
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type key struct {
		res string
		uid int64
	}
	// Rows come in day order, so ranges come one after another: sum each
	// range's days, then write it out in key order.
	var out []RangeSpend
	cur, sums := -1, map[key]int64{}
	flush := func() {
		first := len(out)
		for k, v := range sums {
			out = append(out, RangeSpend{Range: cur, Resolution: k.res, UserID: k.uid, Credits: v})
		}
		slices.SortFunc(out[first:], func(a, b RangeSpend) int {
			return cmp.Or(cmp.Compare(a.Resolution, b.Resolution), cmp.Compare(a.UserID, b.UserID))
		})
		clear(sums)
	}
	for rows.Next() {
		var day, credits int64
		var k key
		if err := rows.Scan(&day, &k.res, &k.uid, &credits); err != nil {
			return nil, err
		}
		// The range [bounds[i], bounds[i+1]) holding day.
		i, found := slices.BinarySearch(bounds, day)
		if !found {
			i--
		}
		if i < 0 || i >= len(bounds)-1 {
			continue
		}
		if i != cur {
			flush()
			cur = i
		}
		sums[k] += credits
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	flush()
	return out, nil
}

// SpendByRangeTop is SpendByRange by member for the n members (n >= 1)
// charged the most over all the ranges together (ties: the lower id), in
// rows ordered by range then user id, followed in each range by a row
// with UserID 0: what every other member was charged there. Ranges with
// no charges are left out; so is a zero "others" row.
//
// On kept days' midnights it reads each member's spend over the period
// (two seeks: spentBefore), the n members' day sums and each day's total,
// in one statement so all three are of one snapshot, instead of every
// member's every day. Elsewhere it
// folds SpendByRange's rows, as exact and slower.
func (d *DB) SpendByRangeTop(ctx context.Context, edges []time.Time, n int) ([]RangeSpend, error) {
	if n < 1 {
		return nil, fmt.Errorf("spend by range top: n = %d", n)
	}
	if len(edges) < 2 {
		return nil, nil
	}
	ok, err := onDayEdges(ctx, d.sql, edges)
	if err != nil {
		return nil, err
	}
	if !ok {
		all, err := d.SpendByRange(ctx, edges, SpendByMember)
		if err != nil {
			return nil, err
		}
		return foldTop(all, n), nil
	}
	bounds := make([]int64, len(edges))
	for i, e := range edges {
		bounds[i] = ms(e)
	}
	// total = 1 marks a day's total over every member.
	// spent is MATERIALIZED: flattened into top, its seeks would run once
	// for the WHERE and again for the ORDER BY.
	rows, err := d.sql.QueryContext(ctx, `WITH spent (user_id, credits) AS MATERIALIZED (
			SELECT u.id, `+spentBefore("u.id", "?2")+` - `+spentBefore("u.id", "?1")+` FROM users u),
		top (user_id) AS (SELECT user_id FROM spent WHERE credits > 0 ORDER BY credits DESC, user_id LIMIT ?3)
		SELECT day, user_id, credits, 0 AS total FROM spend_by_day_member INDEXED BY spend_by_day_member_user
		WHERE user_id IN top AND day >= ?1 AND day < ?2
		UNION ALL
		SELECT day, 0, SUM(credits), 1 FROM spend_by_day_resolution WHERE day >= ?1 AND day < ?2 GROUP BY day`,
		bounds[0], bounds[len(bounds)-1], n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	nr := len(edges) - 1
	totals := make([]int64, nr)
	tops := make([]map[int64]int64, nr)
	for rows.Next() {
		var day, uid, credits int64
		var total bool
		if err := rows.Scan(&day, &uid, &credits, &total); err != nil {
			return nil, err
		}
		// The range [bounds[i], bounds[i+1]) holding day.
		i, found := slices.BinarySearch(bounds, day)
		if !found {
			i--
		}
		if i < 0 || i >= nr {
			continue
		}
		if total {
			totals[i] += credits
			continue
		}
		if tops[i] == nil {
			tops[i] = map[int64]int64{}
		}
		tops[i][uid] += credits
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []RangeSpend
	for i := range nr {
		rest := totals[i]
		first := len(out)
		for uid, c := range tops[i] {
			out = append(out, RangeSpend{Range: i, UserID: uid, Credits: c})
			rest -= c
		}
		slices.SortFunc(out[first:], func(a, b RangeSpend) int { return cmp.Compare(a.UserID, b.UserID) })
		if rest != 0 {
			out = append(out, RangeSpend{Range: i, Credits: rest})
		}
	}
	return out, nil
}

// foldTop keeps, of SpendByRange's rows by member, those of the n members
// charged the most over all ranges, and folds the rest of each range into
// a row with UserID 0 (SpendByRangeTop's answer).
func foldTop(all []RangeSpend, n int) []RangeSpend {
	sum := map[int64]int64{}
	for _, r := range all {
		sum[r.UserID] += r.Credits
	}
	ids := make([]int64, 0, len(sum))
	for id := range sum {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cmp.Compare(sum[b], sum[a]), cmp.Compare(a, b)) })
	top := map[int64]bool{}
	for _, id := range ids[:min(n, len(ids))] {
		top[id] = true
	}
	var out []RangeSpend
	for i := 0; i < len(all); {
		j, rest := i, int64(0)
		for ; j < len(all) && all[j].Range == all[i].Range; j++ {
			if top[all[j].UserID] {
				out = append(out, all[j])
			} else {
				rest += all[j].Credits
			}
		}
		if rest != 0 {
			out = append(out, RangeSpend{Range: all[i].Range, Credits: rest})
		}
		i = j
	}
	return out
}
