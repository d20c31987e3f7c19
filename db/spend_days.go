package db

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Spend by day comes from two aggregates (migration 0015): the charges of
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
