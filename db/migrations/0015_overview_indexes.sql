-- The admin credit overview, ledger and audit pages (issue 11).
-- The ledger filtered by kind, newest first (keyset on id), and by date.
CREATE INDEX ledger_kind ON ledger (kind, id);
CREATE INDEX ledger_created ON ledger (created_at);
-- The audit log filtered by who and what, newest first (keyset on id).
CREATE INDEX audit_log_actor ON audit_log (actor_id, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
-- "Check Akool" items: the few interrupted jobs, without a scan of jobs.
CREATE INDEX jobs_interrupted ON jobs (id) WHERE status = 'interrupted';
