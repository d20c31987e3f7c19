-- Verified webhooks are deduplicated by their signature: a replay, or
-- Akool's retry of one we already answered, changes nothing. Refused
-- webhooks are no longer stored at all (the endpoint is open to anyone).
DELETE FROM webhook_events WHERE verified = 0;
ALTER TABLE webhook_events ADD COLUMN signature TEXT NOT NULL DEFAULT '';
UPDATE webhook_events SET signature = COALESCE(json_extract(body, '$.signature'), '')
    WHERE json_valid(body);
DELETE FROM webhook_events WHERE signature <> '' AND id NOT IN (
    SELECT MIN(id) FROM webhook_events WHERE signature <> '' GROUP BY signature);
CREATE UNIQUE INDEX webhook_events_signature ON webhook_events (signature) WHERE signature <> '';
