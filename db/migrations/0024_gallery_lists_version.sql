-- A dated gallery page walks lists of results kept in memory (db.datedList:
-- the team's, each member's), read again when what they hold changes.
-- gallery_versions.tiles moves on any change to a column a tile shows,
-- the credits settled and the length probed included, so the team's list
-- (a 100,000-result read) was read again several times over each job's
-- life. lists counts only what a list holds: a result entering or leaving
-- the gallery, and the owner, mode, resolution, time or hidden flag of
-- one in it; in the same transaction as the change, whichever process
-- makes it.
ALTER TABLE gallery_versions ADD COLUMN lists INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER gallery_lists_insert AFTER INSERT ON jobs
    WHEN NEW.archive_state = 'archived' AND NEW.archive_path <> '' AND NEW.deleted_at IS NULL
BEGIN
    UPDATE gallery_versions SET lists = lists + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_lists_update AFTER UPDATE OF user_id, mode, resolution, created_at, hidden,
    archive_state, archive_path, deleted_at ON jobs
    WHEN ((OLD.archive_state = 'archived' AND OLD.archive_path <> '' AND OLD.deleted_at IS NULL)
       OR (NEW.archive_state = 'archived' AND NEW.archive_path <> '' AND NEW.deleted_at IS NULL))
     AND (OLD.user_id IS NOT NEW.user_id
       OR OLD.mode IS NOT NEW.mode
       OR OLD.resolution IS NOT NEW.resolution
       OR OLD.created_at IS NOT NEW.created_at
       OR OLD.hidden IS NOT NEW.hidden
       OR OLD.archive_state IS NOT NEW.archive_state
       OR OLD.archive_path IS NOT NEW.archive_path
       OR OLD.deleted_at IS NOT NEW.deleted_at)
BEGIN
    UPDATE gallery_versions SET lists = lists + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_lists_delete AFTER DELETE ON jobs
    WHEN OLD.archive_state = 'archived' AND OLD.archive_path <> '' AND OLD.deleted_at IS NULL
BEGIN
    UPDATE gallery_versions SET lists = lists + 1 WHERE id = 1;
END;
