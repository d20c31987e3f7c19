-- Sign-in attempts counted per client address, per account and address, and
-- per account across addresses, so a restart neither forgets an attacker's
-- attempts nor keeps a lockout an admin cleared. A row counts the attempts
-- of one fixed window that began at window_start (Unix ms); rows whose
-- window has passed are pruned. account is the account's email ('' for a
-- per-address count), so an admin can clear every count of one account.
CREATE TABLE login_attempts (
    key          TEXT    PRIMARY KEY,
    account      TEXT    NOT NULL DEFAULT '',
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL CHECK (count >= 0)
) STRICT, WITHOUT ROWID;

CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
CREATE INDEX login_attempts_account ON login_attempts (account) WHERE account <> '';
