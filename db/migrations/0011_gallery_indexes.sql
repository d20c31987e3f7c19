-- The team gallery's pages: every archived result, newest first, walked in
-- the order shown (no sort of the whole archive), for the team or for one
-- member. Partial indexes over exactly db's archivedResult predicate, so
-- failed, running and deleted jobs cost nothing to skip.
CREATE INDEX jobs_gallery ON jobs (created_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
CREATE INDEX jobs_gallery_member ON jobs (user_id, created_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;

-- A search ranks every prompt that matches (bm25), then keeps the results
-- the filters and the viewer allow: thousands of lookups for a common word.
-- This narrow index answers them (by id) without reading the wide job rows
-- (it holds every column the filters and the archived rule read, so SQLite
-- uses it as a covering index); only the page's results are read in full.
CREATE INDEX jobs_gallery_hits ON jobs (id, user_id, hidden, mode, resolution, created_at,
    archive_state, archive_path, deleted_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
