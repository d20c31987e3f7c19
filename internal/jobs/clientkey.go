package jobs

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// MaxClientKey is the longest Idempotency-Key the JSON API accepts.
const MaxClientKey = 255

// clientKeyPrefix marks a job's idempotency key as an API client's, so it
// can never equal a form's one-time token (base64url, no underscore prefix).
const clientKeyPrefix = "api_"

// ClientKey turns an API client's Idempotency-Key (1 to MaxClientKey
// printable ASCII characters) into the key a job is stored under: the
// prefix and the key's SHA-256 in base64url, 47 characters, which fits the
// jobs table's key column (16 to 64) whatever the client sent. The same
// (member, key) pair is unique in that table, so CreateJobWithHold makes at
// most one job per key even when retries race. A missing, too long or
// non-printable key returns an error whose message may be shown.
func ClientKey(raw string) (string, error) {
	if raw == "" {
		return "", message("Send an Idempotency-Key header: 1 to 255 printable ASCII characters, new for each job (a UUID is fine).")
	}
	if len(raw) > MaxClientKey {
		return "", message(fmt.Sprintf("The Idempotency-Key is %d characters long; it may have at most %d.", len(raw), MaxClientKey))
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] < 0x20 || raw[i] > 0x7e {
			return "", message("The Idempotency-Key may contain only printable ASCII characters.")
		}
	}
	sum := sha256.Sum256([]byte(raw))
	return clientKeyPrefix + base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// message is an error whose text is a whole sentence for people.
type message string

func (m message) Error() string { return string(m) }
