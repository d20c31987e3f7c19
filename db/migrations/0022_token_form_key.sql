-- The token form's one-time key (internal/tokens.NewFormKey): the same
-- form posted again (a reload of the page that showed the secret) finds
-- the token it made instead of making a second one. NULL for tokens made
-- before, or by a post without a key; unique per member otherwise.
ALTER TABLE api_tokens ADD COLUMN form_key TEXT;
CREATE UNIQUE INDEX api_tokens_form_key ON api_tokens (user_id, form_key) WHERE form_key IS NOT NULL;
