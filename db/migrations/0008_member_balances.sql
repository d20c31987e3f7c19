-- One balance row per member, kept equal to the sum of that member's ledger
-- lines: every ledger insert updates it in the same transaction
-- (db/ledger.go insertLedger), so reading a balance is one primary-key
-- lookup instead of a scan of the member's whole ledger. `swapdesk doctor`
-- checks it against the ledger. available = granted - held - spent.
CREATE TABLE member_balances (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    granted INTEGER NOT NULL DEFAULT 0,  -- grants and adjustments
    held    INTEGER NOT NULL DEFAULT 0,  -- -(holds + releases)
    spent   INTEGER NOT NULL DEFAULT 0   -- -(charges)
) STRICT;

INSERT INTO member_balances (user_id, granted, held, spent)
SELECT user_id,
       COALESCE(SUM(CASE WHEN kind IN ('grant', 'adjust') THEN amount END), 0),
       COALESCE(-SUM(CASE WHEN kind IN ('hold', 'release') THEN amount END), 0),
       COALESCE(-SUM(CASE WHEN kind = 'charge' THEN amount END), 0)
FROM ledger GROUP BY user_id;

-- Spend over a period (this month, by day, per member): a covering index of
-- the charges alone, so a range of days never touches grants or holds.
CREATE INDEX ledger_charges ON ledger (created_at, user_id, amount, job_id) WHERE kind = 'charge';
