-- The admin credit overview, ledger and audit pages (issue 11).
-- The ledger filtered by kind, newest first (keyset on id), and by date.
CREATE INDEX ledger_kind ON ledger (kind, id);
CREATE INDEX ledger_created ON ledger (created_at);
-- The audit log filtered by who and what, newest first (keyset on id).
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
-- "Check Akool" items: the few interrupted jobs, without a scan of jobs.
CREATE INDEX jobs_interrupted ON jobs (id) WHERE status = 'interrupted';

-- Spend by day without reading every charge. spend_days are the team's
-- calendar days (from 2000 to 2100) as [start, end) in ms, in the zone the
-- aggregates are kept in (UTC here; internal/credits rewrites them, and the
-- aggregates, when an admin changes the team's time zone). Triggers add
-- every charge to its day, per resolution and per member. A query uses
-- the aggregates only when every edge it asks for is a day start here, so
-- the answer is exact; otherwise it reads the charges (db/spend_days.go).
CREATE TABLE spend_days (
    start INTEGER PRIMARY KEY,
    end   INTEGER NOT NULL
) STRICT;

WITH RECURSIVE d(start) AS (SELECT 946684800000 UNION ALL SELECT start + 86400000 FROM d WHERE start < 4102358400000)
INSERT INTO spend_days (start, end) SELECT start, start + 86400000 FROM d;

CREATE TABLE spend_by_day_resolution (
    day        INTEGER NOT NULL,  -- spend_days.start
    resolution TEXT    NOT NULL,  -- the job's; '' for a charge without a job
    credits    INTEGER NOT NULL,
    PRIMARY KEY (day, resolution)
) STRICT, WITHOUT ROWID;

CREATE TABLE spend_by_day_member (
    day     INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    credits INTEGER NOT NULL,
    PRIMARY KEY (day, user_id)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER spend_by_day_charge AFTER INSERT ON ledger WHEN NEW.kind = 'charge' AND NEW.amount <> 0
BEGIN
    INSERT INTO spend_by_day_resolution (day, resolution, credits)
        SELECT d.start, COALESCE((SELECT resolution FROM jobs WHERE id = NEW.job_id), ''), -NEW.amount
        FROM spend_days d
        WHERE d.start = (SELECT MAX(start) FROM spend_days WHERE start <= NEW.created_at) AND d.end > NEW.created_at
        ON CONFLICT (day, resolution) DO UPDATE SET credits = credits + excluded.credits;
    INSERT INTO spend_by_day_member (day, user_id, credits)
        SELECT d.start, NEW.user_id, -NEW.amount
        FROM spend_days d
        WHERE d.start = (SELECT MAX(start) FROM spend_days WHERE start <= NEW.created_at) AND d.end > NEW.created_at
        ON CONFLICT (day, user_id) DO UPDATE SET credits = credits + excluded.credits;
END;
