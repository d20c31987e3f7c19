package db

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// LoginLimit is one count a sign-in attempt is taken from.
type LoginLimit struct {
	// Key names the count, e.g. "ip:192.0.2.1".
	Key string
	// Account is the email of the account the count belongs to, so
	// ClearLoginAttempts can find it; "" for a count of no one account.
	Account string
	// Max is how many attempts one window allows.
	Max int
}

// LoginTicket is an attempt TakeLoginAttempt counted: each key with the
// window it was counted in, so giving it back never uncounts an attempt of
// a later window.
type LoginTicket struct {
	keys   []string
	starts []int64
}

// TakeLoginAttempt counts one attempt against every limit, all or none, in
// one transaction, so parallel attempts cannot slip past a limit. A count's
// window begins at its first attempt and lasts window; once it has passed,
// the count starts afresh. When any limit has used up its Max in its
// current window nothing is counted, ok is false and wait is how long until
// every such window ends. Counts whose window has passed are pruned here.
func (d *DB) TakeLoginAttempt(ctx context.Context, limits []LoginLimit, now time.Time, window time.Duration) (t LoginTicket, ok bool, wait time.Duration, err error) {
	nowMS, winMS := ms(now), window.Milliseconds()
	err = d.tx(ctx, func(tx *sql.Tx) error {
		t, ok, wait = LoginTicket{}, false, 0
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE window_start <= ?`, nowMS-winMS); err != nil {
			return err
		}
		starts := make([]int64, len(limits))
		for i, l := range limits {
			var n int
			err := tx.QueryRowContext(ctx, `SELECT window_start, count FROM login_attempts WHERE key = ?`, l.Key).Scan(&starts[i], &n)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				starts[i] = nowMS
			case err != nil:
				return err
			}
			if n >= l.Max {
				wait = max(wait, time.Duration(starts[i]+winMS-nowMS)*time.Millisecond)
			}
		}
		if wait > 0 {
			return nil
		}
		for i, l := range limits {
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (key, account, window_start, count) VALUES (?, ?, ?, 1)
				ON CONFLICT (key) DO UPDATE SET count = count + 1`, l.Key, l.Account, starts[i]); err != nil {
				return err
			}
			t.keys = append(t.keys, l.Key)
		}
		t.starts, ok = starts, true
		return nil
	})
	if err != nil {
		return LoginTicket{}, false, 0, err
	}
	return t, ok, wait, nil
}

// GiveBackLoginAttempt uncounts the attempt t (one that turned out not to
// count), in each count whose window is still the one t was counted in.
func (d *DB) GiveBackLoginAttempt(ctx context.Context, t LoginTicket) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		for i, key := range t.keys {
			if _, err := tx.ExecContext(ctx, `UPDATE login_attempts SET count = count - 1
				WHERE key = ? AND window_start = ? AND count > 0`, key, t.starts[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// ResetLoginAttempts forgets the count under key.
func (d *DB) ResetLoginAttempts(ctx context.Context, key string) error {
	_, err := d.sql.ExecContext(ctx, `DELETE FROM login_attempts WHERE key = ?`, key)
	return mapErr(err)
}

// ClearLoginAttempts forgets every count that belongs to the account with
// email, and returns how many there were.
func (d *DB) ClearLoginAttempts(ctx context.Context, email string) (int64, error) {
	if email == "" {
		return 0, nil
	}
	res, err := d.sql.ExecContext(ctx, `DELETE FROM login_attempts WHERE account = ?`, email)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
