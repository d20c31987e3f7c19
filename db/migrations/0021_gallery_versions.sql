-- A gallery search keeps, between requests, its ranked list of matching
-- job ids and the tile columns of the results it showed (db.searchCache):
-- ranking every match by bm25 is a pass over each word's documents and a
-- length lookup for every match, too slow to repeat for every page and
-- every "load more", and the ranked results lie all over the archive.
-- gallery_versions counts the changes to what they were read from, in the
-- same transaction as the change, whichever process makes it: search, the
-- prompts the index holds (jobs without a prompt change no list); tiles,
-- any column of a job that a tile shows or a filter tests, when its value
-- changes. What was read
-- at an older count is read again.
CREATE TABLE gallery_versions (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    search INTEGER NOT NULL,
    tiles  INTEGER NOT NULL
) STRICT;

INSERT INTO gallery_versions (id, search, tiles) VALUES (1, 0, 0);

CREATE TRIGGER gallery_search_insert AFTER INSERT ON jobs WHEN NEW.prompt <> ''
BEGIN
    UPDATE gallery_versions SET search = search + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_search_update AFTER UPDATE OF prompt ON jobs WHEN OLD.prompt IS NOT NEW.prompt
BEGIN
    UPDATE gallery_versions SET search = search + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_search_delete AFTER DELETE ON jobs WHEN OLD.prompt <> ''
BEGIN
    UPDATE gallery_versions SET search = search + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_tiles_insert AFTER INSERT ON jobs
BEGIN
    UPDATE gallery_versions SET tiles = tiles + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_tiles_update AFTER UPDATE OF user_id, mode, resolution, video_duration, billed_seconds,
    charged_credits, created_at, hidden, archive_state, archive_path, deleted_at ON jobs
    WHEN OLD.user_id IS NOT NEW.user_id
      OR OLD.mode IS NOT NEW.mode
      OR OLD.resolution IS NOT NEW.resolution
      OR OLD.video_duration IS NOT NEW.video_duration
      OR OLD.billed_seconds IS NOT NEW.billed_seconds
      OR OLD.charged_credits IS NOT NEW.charged_credits
      OR OLD.created_at IS NOT NEW.created_at
      OR OLD.hidden IS NOT NEW.hidden
      OR OLD.archive_state IS NOT NEW.archive_state
      OR OLD.archive_path IS NOT NEW.archive_path
      OR OLD.deleted_at IS NOT NEW.deleted_at
BEGIN
    UPDATE gallery_versions SET tiles = tiles + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_tiles_delete AFTER DELETE ON jobs
BEGIN
    UPDATE gallery_versions SET tiles = tiles + 1 WHERE id = 1;
END;
