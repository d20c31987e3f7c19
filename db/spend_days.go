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
// on the ledger. spend_days are the calendar days of one time zone (UTC
// until SetSpendDays is called with another's). A query uses them only
// when every edge it asks for is a day start there, so answers are exact
// in any zone: in another zone (or for edges that are not midnights) it
// reads the charges themselves, as before.

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

// SetSpendDays makes the days those of loc's calendar and rebuilds both
// aggregates from the ledger's charges, in one transaction (a second or
// two for a million ledger lines; a team changes its zone rarely).
func (d *DB) SetSpendDays(ctx context.Context, loc *time.Location) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
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
			`INSERT INTO spend_by_day_member (day, user_id, credits)
			SELECT (SELECT MAX(start) FROM spend_days WHERE start <= l.created_at) AS day, l.user_id, -SUM(l.amount)
			FROM ledger l INDEXED BY ledger_charges
			WHERE l.kind = 'charge' AND l.amount <> 0 AND l.created_at >= ? AND l.created_at < ?
			GROUP BY 1, 2`,
		} {
			lo := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
			if _, err := tx.ExecContext(ctx, q, ms(lo), ms(day)); err != nil {
				return fmt.Errorf("rebuild spend by day: %w", err)
			}
		}
		return nil
	})
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
// On kept days' midnights it reads one sum per member (inside SQLite), the
// n members' day sums and each day's total, in one statement so all three
// are of one snapshot, instead of every member's every day. Elsewhere it
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
	rows, err := d.sql.QueryContext(ctx, `WITH top (user_id) AS (
			SELECT user_id FROM spend_by_day_member WHERE day >= ?1 AND day < ?2
			GROUP BY user_id ORDER BY SUM(credits) DESC, user_id LIMIT ?3)
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
