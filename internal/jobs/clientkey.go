package jobs

import (
	"crypto/sha256"
	"encoding/base64"

	"swapdesk/internal/apperr"
)

// MaxClientKey is the longest Idempotency-Key the JSON API accepts.
const MaxClientKey = 255

// clientKeyPrefix marks a job's idempotency key as an API client's (the
// form's one-time tokens are 43 base64url characters, these 47, so the two
// never meet).
const clientKeyPrefix = "api_"

// ClientKey turns an API client's Idempotency-Key (1 to MaxClientKey
// printable ASCII characters) into the key a job is stored under: the
// prefix and the key's SHA-256 in base64url, 47 characters, which fits the
// jobs table's key column (16 to 64) whatever the client sent. The same
// (member, key) pair is unique in that table, so CreateJobWithHold makes at
// most one job per key even when retries race. A missing, too long or
// non-printable key returns an *apperr.Invalid saying what is wrong.
func ClientKey(raw string) (string, error) {
	if raw == "" {
		return "", apperr.Invalidf("Send an Idempotency-Key header: 1 to %d printable ASCII characters, new for each job (a UUID is fine).", MaxClientKey)
	}
	if len(raw) > MaxClientKey {
		return "", apperr.Invalidf("The Idempotency-Key is %d characters long; it may have at most %d.", len(raw), MaxClientKey)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] > 0x7e {
			return "", apperr.Invalidf("The Idempotency-Key may contain only printable ASCII characters.")
		}
	}
	sum := sha256.Sum256([]byte(raw))
	return clientKeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
