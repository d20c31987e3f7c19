-- Tracking (webhooks and polling), settlement and archiving of results.
ALTER TABLE jobs ADD COLUMN video_duration REAL;          -- Akool's reported length
ALTER TABLE jobs ADD COLUMN next_poll_at INTEGER;         -- when the tracker asks Akool next
ALTER TABLE jobs ADD COLUMN poll_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN archive_state TEXT CHECK (archive_state IN ('pending', 'archived', 'archive_failed', 'expired'));
ALTER TABLE jobs ADD COLUMN archive_path TEXT NOT NULL DEFAULT '';   -- relative to DATA_DIR/media
ALTER TABLE jobs ADD COLUMN archive_sha256 TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN archive_size INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN archive_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN next_archive_at INTEGER;
ALTER TABLE jobs ADD COLUMN result_expires_at INTEGER;    -- Akool deletes the result then
ALTER TABLE jobs ADD COLUMN deleted_at INTEGER;           -- the member deleted it; the ledger keeps its lines

CREATE INDEX jobs_due_poll ON jobs (next_poll_at) WHERE status IN ('queued', 'processing');
CREATE INDEX jobs_due_archive ON jobs (next_archive_at) WHERE archive_state = 'pending';

-- Every change of a job's state, for the status history on its page.
CREATE TABLE job_events (
    id     INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at     INTEGER NOT NULL,
    status TEXT    NOT NULL,
    source TEXT    NOT NULL CHECK (source IN ('submit', 'webhook', 'poll', 'archive', 'system', 'member')),
    detail TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Raw webhooks as received (verified or not), for audit and debugging.
CREATE TABLE webhook_events (
    id          INTEGER PRIMARY KEY,
    received_at INTEGER NOT NULL,
    akool_id    TEXT    NOT NULL DEFAULT '',
    status      INTEGER NOT NULL DEFAULT 0,
    verified    INTEGER NOT NULL CHECK (verified IN (0, 1)),
    outcome     TEXT    NOT NULL DEFAULT '',
    body        TEXT    NOT NULL
) STRICT;
CREATE INDEX webhook_events_received ON webhook_events (received_at);
