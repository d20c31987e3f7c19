-- The jobs list and the dashboard read a member's newest cards: 21 entries
-- of jobs_user_id, then 21 wide job rows (links, prompt, checksums) for
-- the card's few columns. This index holds exactly those columns (and
-- deleted_at, which SQLite reads even under the index's own WHERE), for jobs
-- not deleted, so a page of cards is one walk of one index (db.JobCard).
CREATE INDEX jobs_member_cards ON jobs (user_id, id DESC, status, mode, resolution, billed_seconds,
    estimate_credits, charged_credits, error_message, created_at, finished_at, archive_state,
    result_url, result_expires_at, image_key, deleted_at)
    WHERE deleted_at IS NULL;
