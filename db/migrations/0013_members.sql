-- Members run from the browser: monthly allowances (a ledger kind of their
-- own, applied once per member per month), one-time sign-in links, each
-- person's time zone, and a quick "last sign-in".

-- 1. The ledger learns the kind 'allowance' (a top-up, always > 0). A CHECK
-- cannot be altered in SQLite, so the table is rebuilt with the same rows,
-- ids, indexes and append-only triggers.
CREATE TABLE ledger_new (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('grant', 'adjust', 'allowance', 'hold', 'release', 'charge')),
    amount     INTEGER NOT NULL CHECK (
                   (kind IN ('grant', 'allowance') AND amount > 0) OR
                   (kind = 'adjust' AND amount <> 0) OR
                   (kind IN ('hold', 'charge') AND amount <= 0) OR
                   (kind = 'release' AND amount >= 0)),
    job_id     INTEGER REFERENCES jobs (id),
    actor_id   INTEGER REFERENCES users (id),
    note       TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO ledger_new (id, user_id, kind, amount, job_id, actor_id, note, created_at)
SELECT id, user_id, kind, amount, job_id, actor_id, note, created_at FROM ledger;

-- Dropping the old table drops its indexes and triggers with it (the
-- implicit delete of a DROP fires no trigger).
DROP TABLE ledger;
ALTER TABLE ledger_new RENAME TO ledger;

CREATE INDEX ledger_user ON ledger (user_id, id);
CREATE INDEX ledger_job ON ledger (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX ledger_charges ON ledger (created_at, user_id, amount, job_id) WHERE kind = 'charge';

CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'ledger is append-only');
END;

-- 2. A member's monthly allowance: at the start of each calendar month (in
-- the team's time zone) they are topped up to this many available credits.
-- No row means no allowance.
CREATE TABLE allowances (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id),
    monthly    INTEGER NOT NULL CHECK (monthly > 0 AND monthly <= 1000000),
    updated_at INTEGER NOT NULL
) STRICT;

-- One row per member per month the allowance was applied ('2026-12'),
-- written in the same transaction as its ledger line (or with amount 0
-- when the member already had enough), so no restart or second server can
-- top a member up twice in one month.
CREATE TABLE allowance_periods (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    period     TEXT    NOT NULL CHECK (period GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]'),
    monthly    INTEGER NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount >= 0),
    ledger_id  INTEGER,             -- the allowance line; NULL when amount is 0
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, period)
) STRICT, WITHOUT ROWID;

-- 3. One-time sign-in links: an admin adds a member and hands them a link
-- where they choose their password. Only the SHA-256 of the token is kept.
CREATE TABLE signin_links (
    token_hash TEXT    PRIMARY KEY CHECK (length(token_hash) = 64),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX signin_links_user ON signin_links (user_id);

-- 4. Each person's time zone for showing dates ('' = the team's).
CREATE TABLE user_prefs (
    user_id   INTEGER PRIMARY KEY REFERENCES users (id),
    time_zone TEXT    NOT NULL DEFAULT '' CHECK (length(time_zone) <= 64)
) STRICT;

-- 5. "Last sign-in" per member on the members list: the newest 'login'
-- audit line of an email, one index seek per member.
CREATE INDEX audit_log_logins ON audit_log (subject, at) WHERE action = 'login';

-- 6. What each member was charged per UTC day, kept by a trigger on the
-- ledger, so "spent this month" (a month in any time zone) sums at most a
-- month of day rows plus the charges of one partial day, however long the
-- ledger. day = created_at / 86400000 (days since 1970 in UTC).
CREATE TABLE member_spend_days (
    user_id INTEGER NOT NULL REFERENCES users (id),
    day     INTEGER NOT NULL,
    spent   INTEGER NOT NULL,
    PRIMARY KEY (user_id, day)
) STRICT, WITHOUT ROWID;

CREATE INDEX member_spend_days_day ON member_spend_days (day, user_id, spent);

INSERT INTO member_spend_days (user_id, day, spent)
SELECT user_id, created_at / 86400000, -SUM(amount) FROM ledger WHERE kind = 'charge' GROUP BY 1, 2;

CREATE TRIGGER ledger_spend_days AFTER INSERT ON ledger WHEN NEW.kind = 'charge'
BEGIN
    INSERT INTO member_spend_days (user_id, day, spent) VALUES (NEW.user_id, NEW.created_at / 86400000, -NEW.amount)
    ON CONFLICT (user_id, day) DO UPDATE SET spent = spent + excluded.spent;
END;
