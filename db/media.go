package db

import "context"

// ArchivedFile is what the database records about one archived result.
type ArchivedFile struct {
	JobID  int64
	Key    string // the media store key (archive_path)
	SHA256 string
	Size   int64
}

// ArchivedFiles returns every archived result of a job not deleted, by job
// id: what `swapdesk media migrate` must carry over and check.
func (d *DB) ArchivedFiles(ctx context.Context) ([]ArchivedFile, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, archive_path, archive_sha256, archive_size FROM jobs
		WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var files []ArchivedFile
	for rows.Next() {
		var f ArchivedFile
		if err := rows.Scan(&f.JobID, &f.Key, &f.SHA256, &f.Size); err != nil {
			return nil, mapErr(err)
		}
		files = append(files, f)
	}
	return files, mapErr(rows.Err())
}
