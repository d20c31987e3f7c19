-- The team gallery: visibility, kept inputs, posters and previews,
-- favorites, prompt search and share links. One migration for the whole
-- schema, so the gallery, the poster maker and share links build on the
-- same columns.

-- 1: the owner hid this result from the team gallery (the owner and admins
-- still see it, and so do the media routes for them alone).
ALTER TABLE jobs ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0 CHECK (hidden IN (0, 1));

-- The character image, copied into the media store when the job is
-- submitted ('' when it was not kept: too large, not an image, or the job
-- predates this), so "this character -> this result" outlives the link.
ALTER TABLE jobs ADD COLUMN image_key  TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN image_type TEXT NOT NULL DEFAULT '';   -- image/png or image/jpeg

-- A poster (JPEG) and a short muted preview clip (MP4) made once from the
-- archived result with ffmpeg. poster_state: '' not tried yet, 'done',
-- 'failed' (after retries), 'unavailable' (no ffmpeg on PATH: the backfill
-- tries again once ffmpeg is there).
ALTER TABLE jobs ADD COLUMN poster_key      TEXT    NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN preview_key     TEXT    NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN poster_state    TEXT    NOT NULL DEFAULT ''
    CHECK (poster_state IN ('', 'done', 'failed', 'unavailable'));
ALTER TABLE jobs ADD COLUMN poster_attempts INTEGER NOT NULL DEFAULT 0;

-- A member's stars, one per member per job.
CREATE TABLE favorites (
    user_id    INTEGER NOT NULL REFERENCES users (id),
    job_id     INTEGER NOT NULL REFERENCES jobs (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, job_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX favorites_job ON favorites (job_id);

-- Full-text search over prompts, ranked by bm25. An external-content table
-- over jobs: the triggers keep it in the same transaction as every change
-- to a job's prompt, so search never lags the jobs it finds.
CREATE VIRTUAL TABLE jobs_fts USING fts5(
    prompt,
    content = 'jobs',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO jobs_fts (jobs_fts) VALUES ('rebuild');

CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO jobs_fts (rowid, prompt) VALUES (NEW.id, NEW.prompt);
END;
CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs
BEGIN
    INSERT INTO jobs_fts (jobs_fts, rowid, prompt) VALUES ('delete', OLD.id, OLD.prompt);
END;
CREATE TRIGGER jobs_fts_update AFTER UPDATE OF prompt ON jobs
BEGIN
    INSERT INTO jobs_fts (jobs_fts, rowid, prompt) VALUES ('delete', OLD.id, OLD.prompt);
    INSERT INTO jobs_fts (rowid, prompt) VALUES (NEW.id, NEW.prompt);
END;

-- Share links: a public page for one result. Only a hash of the token is
-- kept (the token itself is shown once), so a copy of the database leaks
-- no working link.
CREATE TABLE shares (
    id         INTEGER PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs (id),
    created_by INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),  -- SHA-256 of the token
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    revoked_by INTEGER REFERENCES users (id)
) STRICT;
CREATE INDEX shares_job ON shares (job_id, id DESC);
