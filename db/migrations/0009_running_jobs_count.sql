-- Every signed-in page shows how many of the member's jobs are running.
-- Counting them walked jobs_open, the whole team's open jobs, reading each
-- row to check its owner. running_jobs keeps the count per member instead,
-- updated by triggers in the same transaction as every change to a job, so
-- a page reads one row. A job is running while its status is one of the
-- open ones and it is not deleted (db.JobSubmitting, JobQueued,
-- JobProcessing; the same list as the jobs_open index).
CREATE TABLE running_jobs (
    user_id INTEGER PRIMARY KEY,
    n       INTEGER NOT NULL CHECK (n >= 0)
) STRICT;

INSERT INTO running_jobs (user_id, n)
    SELECT user_id, COUNT(*) FROM jobs
    WHERE status IN ('submitting', 'queued', 'processing') AND deleted_at IS NULL
    GROUP BY user_id;

CREATE TRIGGER running_jobs_insert AFTER INSERT ON jobs
    WHEN NEW.status IN ('submitting', 'queued', 'processing') AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO running_jobs (user_id, n) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER running_jobs_update_was AFTER UPDATE OF status, deleted_at, user_id ON jobs
    WHEN OLD.status IN ('submitting', 'queued', 'processing') AND OLD.deleted_at IS NULL
BEGIN
    UPDATE running_jobs SET n = n - 1 WHERE user_id = OLD.user_id;
END;

CREATE TRIGGER running_jobs_update_is AFTER UPDATE OF status, deleted_at, user_id ON jobs
    WHEN NEW.status IN ('submitting', 'queued', 'processing') AND NEW.deleted_at IS NULL
BEGIN
    INSERT INTO running_jobs (user_id, n) VALUES (NEW.user_id, 1)
        ON CONFLICT (user_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER running_jobs_delete AFTER DELETE ON jobs
    WHEN OLD.status IN ('submitting', 'queued', 'processing') AND OLD.deleted_at IS NULL
BEGIN
    UPDATE running_jobs SET n = n - 1 WHERE user_id = OLD.user_id;
END;
