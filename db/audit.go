package db

import (
	"context"
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
	AuditCreditsGrant  = "credits_granted"
	AuditCreditsAdjust = "credits_adjusted"
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
	return mapErr(insertAudit(ctx, d.sql, d.Now(), e))
}

// insertAudit appends e at now, inside its caller's transaction when q is
// one.
func insertAudit(ctx context.Context, q queryer, now time.Time, e AuditEntry) error {
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, action, subject, detail, ip) VALUES (?, ?, ?, ?, ?, ?)`,
		ms(now), nullID(e.ActorID), e.Action, e.Subject, e.Detail, e.IP)
	return err
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
