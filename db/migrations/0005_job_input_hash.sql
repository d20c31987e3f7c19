-- The SHA-256 (hex) of the form's normalised inputs, stored with the job its
-- one-time token created: resubmitting that token with the same inputs finds
-- the job, with other inputs is refused. '' for jobs made before.
ALTER TABLE jobs ADD COLUMN input_hash TEXT NOT NULL DEFAULT '';
