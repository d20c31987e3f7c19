-- A gallery page read its 25 tiles' wide job rows (links, prompt,
-- checksums) after walking jobs_gallery or jobs_gallery_member, and a
-- filtered page (one member, a mode and a resolution) read six rows for
-- each one it showed, to test mode and resolution. The same indexes, under
-- the same names, now hold every column a tile shows and every filter
-- tests (db.galleryColumns; the archived rule's columns too, which SQLite
-- reads even under the index's own WHERE), so a page is one walk of one
-- index; id follows created_at, as the order shown breaks ties by id. A
-- search walks the FTS index newest first and checks each match in
-- jobs_gallery_hits, which now holds the tile's columns as well.
DROP INDEX jobs_gallery;
DROP INDEX jobs_gallery_member;
DROP INDEX jobs_gallery_hits;

CREATE INDEX jobs_gallery ON jobs (created_at, id, user_id, hidden, mode, resolution, video_duration,
    billed_seconds, charged_credits, archive_state, archive_path, deleted_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
CREATE INDEX jobs_gallery_member ON jobs (user_id, created_at, id, hidden, mode, resolution, video_duration,
    billed_seconds, charged_credits, archive_state, archive_path, deleted_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
CREATE INDEX jobs_gallery_hits ON jobs (id, user_id, hidden, mode, resolution, created_at, video_duration,
    billed_seconds, charged_credits, archive_state, archive_path, deleted_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
