package akoolsim

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// The emulator signs and encrypts webhooks with its own code, written from
// AKOOL-API.md §4.3–4.4 apart from internal/akool's verifier on purpose: an
// emulator sharing the client's crypto could not catch a bug in it. The
// tests make the two check each other (vectors A and B of §4.5, and the
// client verifying every webhook the emulator sends).

var errSecretLength = errors.New("akoolsim: clientSecret must be 16, 24 or 32 bytes (the webhook AES key)")

// webhookEvent is the plaintext Akool encrypts, keys in Akool's order.
type webhookEvent struct {
	ID     string `json:"_id"`
	Status int    `json:"status"`
	Type   string `json:"type"`
	URL    string `json:"url"`
}

// webhookEnvelope is the body Akool POSTs: timestamp a JSON number, nonce a
// JSON string (§4.2).
type webhookEnvelope struct {
	Signature   string `json:"signature"`
	DataEncrypt string `json:"dataEncrypt"`
	Timestamp   int64  `json:"timestamp"`
	Nonce       string `json:"nonce"`
}

// sign is lowercase hex SHA-1 of clientId, timestamp, nonce and dataEncrypt
// sorted as strings and concatenated.
func sign(clientID, timestamp, nonce, dataEncrypt string) string {
	parts := []string{clientID, timestamp, nonce, dataEncrypt}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// encrypt is base64(AES-CBC(PKCS#7 to 16 bytes)) with the clientSecret as
// key (its length picks AES-128/192/256) and the first 16 bytes of the
// clientId, NUL-padded, as IV.
func encrypt(plain []byte, clientID, clientSecret string) (string, error) {
	if n := len(clientSecret); n != 16 && n != 24 && n != 32 {
		return "", errSecretLength
	}
	block, err := aes.NewCipher([]byte(clientSecret))
	if err != nil {
		return "", err
	}
	iv := make([]byte, aes.BlockSize)
	copy(iv, clientID)
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(slices.Clone(plain), bytes.Repeat([]byte{byte(n)}, n)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// marshalEvent writes the plaintext without HTML escaping, as Akool's Node
// sender (JSON.stringify) would.
func marshalEvent(ev webhookEvent) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(ev) // strings and an int cannot fail
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// webhookJSON encrypts and signs ev and returns the body to POST. With
// badSig the signature is corrupted (one hex digit changed).
func webhookJSON(ev webhookEvent, clientID, clientSecret string, timestampMillis int64, nonce string, badSig bool) ([]byte, error) {
	data, err := encrypt(marshalEvent(ev), clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	sig := sign(clientID, strconv.FormatInt(timestampMillis, 10), nonce, data)
	if badSig {
		flipped := byte('0')
		if sig[0] == '0' {
			flipped = '1'
		}
		sig = string(flipped) + sig[1:]
	}
	return json.Marshal(webhookEnvelope{Signature: sig, DataEncrypt: data, Timestamp: timestampMillis, Nonce: nonce})
}
