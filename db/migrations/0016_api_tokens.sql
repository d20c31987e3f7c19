-- Personal API tokens. Only a token's SHA-256 is kept; prefix is the
-- token's first characters, shown in lists so a member can tell tokens
-- apart. scopes is a space-separated set (jobs:read jobs:write
-- gallery:read). last_used_at is written at most once a minute.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    scopes       TEXT    NOT NULL CHECK (scopes <> ''),
    token_hash   BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    revoked_by   INTEGER REFERENCES users (id)
) STRICT;
CREATE INDEX api_tokens_user ON api_tokens (user_id, id DESC);
