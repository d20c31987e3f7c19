-- A gallery page keeps each member's stars between requests (db.DB.starsOf)
-- instead of looking up the viewer's star for every tile it shows.
-- gallery_versions.favorites counts the changes to favorites, in the same
-- transaction as the change, whichever process makes it; stars read at an
-- older count are read again.
ALTER TABLE gallery_versions ADD COLUMN favorites INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER gallery_favorites_insert AFTER INSERT ON favorites
BEGIN
    UPDATE gallery_versions SET favorites = favorites + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_favorites_update AFTER UPDATE OF user_id, job_id ON favorites
BEGIN
    UPDATE gallery_versions SET favorites = favorites + 1 WHERE id = 1;
END;

CREATE TRIGGER gallery_favorites_delete AFTER DELETE ON favorites
BEGIN
    UPDATE gallery_versions SET favorites = favorites + 1 WHERE id = 1;
END;
