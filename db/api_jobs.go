package db

import "context"

// StatusJobQuery selects one page of a member's jobs (not deleted), newest
// first, optionally in one status.
type StatusJobQuery struct {
	UserID int64
	Status JobStatus // "" for any
	Before int64     // keyset: only jobs with id < Before; 0 for the first page
	Limit  int
}

// listMemberJobsByStatus walks jobs_user_id (user_id, id DESC) like the
// jobs list, filtering on the status as it goes.
const listMemberJobsByStatus = `FROM jobs INDEXED BY jobs_user_id
	WHERE user_id = ? AND id < ? AND deleted_at IS NULL AND (? = '' OR status = ?) ORDER BY id DESC LIMIT ?`

// JobsByStatus returns one page of q.UserID's jobs, newest first (the JSON
// API's jobs list).
func (d *DB) JobsByStatus(ctx context.Context, q StatusJobQuery) ([]Job, error) {
	before := q.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	return d.jobsFrom(ctx, listMemberJobsByStatus, q.UserID, before, string(q.Status), string(q.Status), q.Limit)
}
