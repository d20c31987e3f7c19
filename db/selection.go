package db

import (
	"context"
	"encoding/json"
)

// SelectedResult is one result of a selection, with its member's name.
type SelectedResult struct {
	Job
	Member string
}

// VisibleArchivedIn returns, newest first, the jobs among ids that
// VisibleArchived would return to v (archived, not deleted, visible to v
// by visibleToViewer), with their members' names. Ids that are not, or do
// not exist, are left out without saying which. The caller bounds and
// deduplicates ids; they travel as one JSON array parameter.
func (d *DB) VisibleArchivedIn(ctx context.Context, v Viewer, ids []int64) ([]SelectedResult, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := d.sql.QueryContext(ctx, `SELECT `+jobColumns+`,
			COALESCE((SELECT u.name FROM users u WHERE u.id = jobs.user_id), '')
		FROM jobs
		WHERE id IN (SELECT value FROM json_each(?)) AND `+archivedResult+` AND `+visibleToViewer+`
		ORDER BY id DESC`, string(list), v.UserID, v.Admin)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []SelectedResult
	for rows.Next() {
		var r SelectedResult
		j, err := scanJob(withExtra{rows, []any{&r.Member}})
		if err != nil {
			return nil, err
		}
		r.Job = j
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

// withExtra scans a row of jobColumns followed by more columns into extra.
type withExtra struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }
