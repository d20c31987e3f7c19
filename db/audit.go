package db

import (
	"context"
	"database/sql"
	"time"
)

// Audit actions.
const (
	AuditLogin         = "login"
	AuditLoginFailed   = "login_failed"
	AuditLogout        = "logout"
	AuditUserCreated   = "user_created"
	AuditPasswordReset = "password_changed"
	AuditUserDisabled  = "user_disabled"
	AuditUserEnabled   = "user_enabled"
	AuditLoginUnlocked = "login_unlocked"
)

// AuditEntry is one line of the audit log. ActorID 0 means the system or the
// command line.
type AuditEntry struct {
	ID      int64
	At      time.Time
	ActorID int64
	Action  string
	Subject string
	Detail  string
	IP      string
}

// Audit appends e to the audit log, stamping it with the store's clock.
func (d *DB) Audit(ctx context.Context, e AuditEntry) error {
	var actor sql.NullInt64
	if e.ActorID != 0 {
		actor = sql.NullInt64{Int64: e.ActorID, Valid: true}
	}
	_, err := d.sql.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, action, subject, detail, ip) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(d.Now()), actor, e.Action, e.Subject, e.Detail, e.IP)
	return mapErr(err)
}

// RecentAudit returns the newest limit audit entries, newest first.
func (d *DB) RecentAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, at, COALESCE(actor_id, 0), action, subject, detail, ip
		FROM audit_log ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Action, &e.Subject, &e.Detail, &e.IP); err != nil {
			return nil, err
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
