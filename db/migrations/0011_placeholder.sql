-- Placeholder: migration 0011 belongs to another branch. Dropped at merge.
SELECT 1;
