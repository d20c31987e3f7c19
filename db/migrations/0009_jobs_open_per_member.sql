-- Every signed-in page shows how many of the member's jobs are running.
-- jobs_open holds the whole team's open jobs, so that count visited each
-- of them and looked up its owner in the table; this index holds one entry
-- per open job keyed by its owner, so the count reads only the member's own
-- entries, from the index alone: status and deleted_at are in it so the
-- query's own copies of the WHERE (which a partial index needs) are checked
-- without reading the table.
CREATE INDEX jobs_open_user ON jobs (user_id, status, deleted_at)
    WHERE status IN ('submitting', 'queued', 'processing') AND deleted_at IS NULL;
