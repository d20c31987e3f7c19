-- The team gallery's pages: every archived result, newest first, walked in
-- the order shown (no sort of the whole archive), for the team or for one
-- member. Partial indexes over exactly db's archivedResult predicate, so
-- failed, running and deleted jobs cost nothing to skip.
CREATE INDEX jobs_gallery ON jobs (created_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
CREATE INDEX jobs_gallery_member ON jobs (user_id, created_at)
    WHERE archive_state = 'archived' AND archive_path <> '' AND deleted_at IS NULL;
