-- Placeholder on branch fix-fair only, so this branch's 0009 has no gap:
-- the migration runner requires versions 1..N without holes. Drop this
-- file when the real 0008 migration is merged.
SELECT 1;
