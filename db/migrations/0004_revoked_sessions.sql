-- Sessions ended by signing out. A session cookie cannot be taken back, so
-- its id is refused instead: a copy of the cookie made before sign-out stops
-- working too. A row is needed only until the cookie would have expired
-- anyway (expires_at); older rows are pruned.
CREATE TABLE revoked_sessions (
    id         TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX revoked_sessions_expires_at ON revoked_sessions (expires_at);
