-- The poster maker asks, after every archive and on a timer, which archived
-- results still need a poster: this partial index holds exactly those, so
-- the question stays cheap however many results the team has.
CREATE INDEX jobs_poster_due ON jobs (id)
    WHERE poster_state = '' AND archive_state = 'archived' AND deleted_at IS NULL;
