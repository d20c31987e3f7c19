package akool

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Webhook verification failures. They are distinct so the receiver can log
// what was wrong; none of them should be shown to the sender in detail.
var (
	ErrWebhookKey        = errors.New("akool webhook: clientSecret must be 16, 24 or 32 bytes")
	ErrWebhookBody       = errors.New("akool webhook: body is not JSON with signature, dataEncrypt, timestamp and nonce")
	ErrWebhookSignature  = errors.New("akool webhook: signature does not match")
	ErrWebhookBase64     = errors.New("akool webhook: dataEncrypt is not standard base64")
	ErrWebhookCiphertext = errors.New("akool webhook: ciphertext is empty or not a multiple of 16 bytes")
	ErrWebhookPadding    = errors.New("akool webhook: bad PKCS#7 padding")
	ErrWebhookPayload    = errors.New("akool webhook: decrypted payload is not JSON with _id and a status 1-4")
)

// WebhookEvent is the decrypted content of an Akool webhook.
type WebhookEvent struct {
	ID     string // `_id`, the job id from create
	Status Status // 2, 3 or 4 in practice
	Type   string // e.g. "character_swap" (Akool does not document the value for this API)
	URL    string // the result URL when Status is StatusCompleted
}

// WebhookBody is the JSON Akool POSTs. Timestamp and Nonce keep the exact
// text that was signed.
type WebhookBody struct {
	Signature   string
	DataEncrypt string
	Timestamp   string // decimal milliseconds, written as a JSON number
	Nonce       string // written as a JSON string
}

// MarshalJSON writes {"signature","dataEncrypt","timestamp" (number),"nonce" (string)}.
// It returns an error if Timestamp is not a JSON number.
func (b WebhookBody) MarshalJSON() ([]byte, error) {
	if !isJSONNumber(b.Timestamp) {
		return nil, fmt.Errorf("akool webhook: timestamp %q is not a number", b.Timestamp)
	}
	sig, _ := json.Marshal(b.Signature)
	data, _ := json.Marshal(b.DataEncrypt)
	nonce, _ := json.Marshal(b.Nonce)
	var buf bytes.Buffer
	buf.WriteString(`{"signature":`)
	buf.Write(sig)
	buf.WriteString(`,"dataEncrypt":`)
	buf.Write(data)
	buf.WriteString(`,"timestamp":`)
	buf.WriteString(b.Timestamp)
	buf.WriteString(`,"nonce":`)
	buf.Write(nonce)
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// SignWebhook returns lowercase hex SHA-1 of the four strings sorted
// bytewise and concatenated (AKOOL-API.md §4.3).
func SignWebhook(clientID, timestamp, nonce, dataEncrypt string) string {
	parts := []string{clientID, timestamp, nonce, dataEncrypt}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// EncryptWebhook returns base64(AES-CBC(PKCS#7-16(plaintext))) with key =
// clientSecret and IV = the first 16 bytes of clientID, zero-padded.
// It returns ErrWebhookKey for a secret that is not 16, 24 or 32 bytes.
func EncryptWebhook(plaintext []byte, clientID, clientSecret string) (string, error) {
	block, err := webhookCipher(clientSecret)
	if err != nil {
		return "", err
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	buf := make([]byte, len(plaintext)+pad)
	copy(buf, plaintext)
	for i := len(plaintext); i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, webhookIV(clientID)).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// MarshalWebhookEvent writes the plaintext Akool encrypts, with keys in
// Akool's order: {"_id","status","type","url"}.
func MarshalWebhookEvent(ev WebhookEvent) []byte {
	b, _ := marshalJSON(struct {
		ID     string `json:"_id"`
		Status int    `json:"status"`
		Type   string `json:"type"`
		URL    string `json:"url"`
	}{ev.ID, int(ev.Status), ev.Type, ev.URL})
	return b
}

// NewWebhookBody encrypts and signs ev as Akool would, for the given
// millisecond timestamp and nonce, and returns the JSON body to POST.
// It returns ErrWebhookKey for a bad secret length.
func NewWebhookBody(ev WebhookEvent, clientID, clientSecret string, timestampMillis int64, nonce string) ([]byte, error) {
	enc, err := EncryptWebhook(MarshalWebhookEvent(ev), clientID, clientSecret)
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(timestampMillis, 10)
	// JSON cannot carry invalid UTF-8: sign what the receiver will read.
	nonce = strings.ToValidUTF8(nonce, "\uFFFD")
	return json.Marshal(WebhookBody{
		Signature:   SignWebhook(clientID, ts, nonce, enc),
		DataEncrypt: enc,
		Timestamp:   ts,
		Nonce:       nonce,
	})
}

// ParseWebhookBody reads the outer JSON without checking anything else.
// nonce may be a JSON string or number, timestamp a number or string; both
// keep their exact text (no float rounding). It returns ErrWebhookBody.
func ParseWebhookBody(body []byte) (WebhookBody, error) {
	var raw struct {
		Signature   json.RawMessage `json:"signature"`
		DataEncrypt json.RawMessage `json:"dataEncrypt"`
		Timestamp   json.RawMessage `json:"timestamp"`
		Nonce       json.RawMessage `json:"nonce"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return WebhookBody{}, fmt.Errorf("%w: %v", ErrWebhookBody, err)
	}
	var b WebhookBody
	var ok [4]bool
	b.Signature, ok[0] = rawString(raw.Signature)
	b.DataEncrypt, ok[1] = rawString(raw.DataEncrypt)
	b.Timestamp, ok[2] = scalarText(raw.Timestamp)
	b.Nonce, ok[3] = scalarText(raw.Nonce)
	if !ok[0] || !ok[1] || !ok[2] || !ok[3] || b.Signature == "" || b.DataEncrypt == "" || b.Timestamp == "" || b.Nonce == "" {
		return WebhookBody{}, fmt.Errorf("%w: a field is missing, empty or of the wrong type", ErrWebhookBody)
	}
	return b, nil
}

// VerifyWebhook checks an Akool webhook body and decrypts it. The signature
// is checked (in constant time) before anything is decrypted.
// Errors: ErrWebhookKey, ErrWebhookBody, ErrWebhookSignature,
// ErrWebhookBase64, ErrWebhookCiphertext, ErrWebhookPadding,
// ErrWebhookPayload (wrapped; test with errors.Is). It never panics.
func VerifyWebhook(body []byte, clientID, clientSecret string) (*WebhookEvent, error) {
	block, err := webhookCipher(clientSecret)
	if err != nil {
		return nil, err
	}
	b, err := ParseWebhookBody(body)
	if err != nil {
		return nil, err
	}
	want := SignWebhook(clientID, b.Timestamp, b.Nonce, b.DataEncrypt)
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(b.Signature))) != 1 {
		return nil, ErrWebhookSignature
	}
	ct, err := base64.StdEncoding.Strict().DecodeString(b.DataEncrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookBase64, err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, ErrWebhookCiphertext
	}
	cipher.NewCBCDecrypter(block, webhookIV(clientID)).CryptBlocks(ct, ct)
	plain, err := unpadPKCS7(ct)
	if err != nil {
		return nil, err
	}
	return parseWebhookEvent(plain)
}

func parseWebhookEvent(plain []byte) (*WebhookEvent, error) {
	if !utf8.Valid(plain) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrWebhookPayload)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(plain, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: not a JSON object", ErrWebhookPayload)
	}
	ev := &WebhookEvent{}
	ev.ID, _ = rawString(m["_id"])
	st, ok := rawInt(m["status"])
	if ev.ID == "" || !ok || !Status(st).Valid() {
		return nil, fmt.Errorf("%w: missing _id or status", ErrWebhookPayload)
	}
	ev.Status = Status(st)
	ev.Type, _ = rawString(m["type"])
	ev.URL, _ = rawString(m["url"])
	return ev, nil
}

// unpadPKCS7 removes PKCS#7 padding for 16-byte blocks, checking every
// padding byte. It returns ErrWebhookPadding.
func unpadPKCS7(b []byte) ([]byte, error) {
	if len(b) == 0 || len(b)%aes.BlockSize != 0 {
		return nil, ErrWebhookPadding
	}
	n := int(b[len(b)-1])
	if n < 1 || n > aes.BlockSize {
		return nil, ErrWebhookPadding
	}
	bad := 0
	for _, c := range b[len(b)-n:] {
		bad |= int(c) ^ n
	}
	if bad != 0 {
		return nil, ErrWebhookPadding
	}
	return b[:len(b)-n], nil
}

func webhookCipher(secret string) (cipher.Block, error) {
	switch len(secret) {
	case 16, 24, 32:
	default:
		return nil, ErrWebhookKey
	}
	block, err := aes.NewCipher([]byte(secret))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWebhookKey, err)
	}
	return block, nil
}

// webhookIV is the first 16 bytes of clientID, NUL-padded (the docs' Python
// sample; one official demo pads with spaces, which only differs for
// clientIds under 16 bytes, and real ones are 24).
func webhookIV(clientID string) []byte {
	iv := make([]byte, aes.BlockSize)
	copy(iv, clientID)
	return iv
}

// scalarText returns the text of a JSON string's content or a JSON number's
// literal, which is what Akool's sender stringifies before signing.
func scalarText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	if raw[0] == '"' {
		return rawString(raw)
	}
	if isJSONNumber(string(raw)) {
		return string(raw), true
	}
	return "", false
}

func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}
