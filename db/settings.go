package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting returns the value stored under key, or an error wrapping
// apperr.ErrNotFound.
func (d *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, mapErr(err)
}

// SettingOrCreate returns the value under key; when there is none it stores
// the value gen returns and returns that. Two processes racing to create it
// agree on one value.
func (d *DB) SettingOrCreate(ctx context.Context, key string, gen func() (string, error)) (string, error) {
	var out string
	err := d.tx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&out)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		v, err := gen()
		if err != nil {
			return fmt.Errorf("generate setting %s: %w", key, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)`, key, v, ms(d.Now())); err != nil {
			return err
		}
		out = v
		return nil
	})
	return out, err
}
