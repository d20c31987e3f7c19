-- Jobs and the credit ledger.
CREATE TABLE jobs (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id),
    -- The form's one-time token: a double-click or resubmit finds the job
    -- it already created instead of creating a second.
    idempotency_key    TEXT    NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 64),
    status             TEXT    NOT NULL CHECK (status IN
                           ('submitting', 'queued', 'processing', 'succeeded', 'failed', 'rejected', 'interrupted')),
    image_url          TEXT    NOT NULL,
    video_url          TEXT    NOT NULL,
    mode               TEXT    NOT NULL CHECK (mode IN ('animate', 'replace')),
    resolution         TEXT    NOT NULL CHECK (resolution IN ('480p', '720p', '1080p')),
    duration_requested REAL,
    duration_detected  REAL,
    billed_seconds     REAL    NOT NULL CHECK (billed_seconds > 0 AND billed_seconds <= 120),
    estimate_credits   INTEGER NOT NULL CHECK (estimate_credits > 0),
    charged_credits    INTEGER,
    prompt             TEXT    NOT NULL DEFAULT '',
    akool_id           TEXT UNIQUE,
    error_message      TEXT    NOT NULL DEFAULT '',
    result_url         TEXT    NOT NULL DEFAULT '',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    finished_at        INTEGER,
    UNIQUE (user_id, idempotency_key)
) STRICT;

CREATE INDEX jobs_user_id ON jobs (user_id, id DESC);
CREATE INDEX jobs_open ON jobs (status) WHERE status IN ('submitting', 'queued', 'processing');

-- Append-only. amount is the signed effect on the member's available
-- balance: grant +, adjust +/-, hold -, release +, charge -. The balance is
-- the sum; nothing stores it.
CREATE TABLE ledger (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('grant', 'adjust', 'hold', 'release', 'charge')),
    amount     INTEGER NOT NULL CHECK (
                   (kind = 'grant' AND amount > 0) OR
                   (kind = 'adjust' AND amount <> 0) OR
                   (kind IN ('hold', 'charge') AND amount <= 0) OR
                   (kind = 'release' AND amount >= 0)),
    job_id     INTEGER REFERENCES jobs (id),
    actor_id   INTEGER REFERENCES users (id),
    note       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX ledger_user ON ledger (user_id, id);
CREATE INDEX ledger_job ON ledger (job_id) WHERE job_id IS NOT NULL;

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
