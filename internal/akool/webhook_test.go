package akool

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// Vectors A and B from AKOOL-API.md §4.5, cross-checked there with openssl.
const (
	vecPlain = `{"_id":"689174694b4dbdd4ab3d28c9","status":3,"type":"character_swap_TEST","url":"https://example.invalid/result.mp4"}`

	vecAClientID = "TESTCLIENTID0001"
	vecASecret   = "TESTSECRETKEY24CHARSxxxx"
	vecASig      = "65074cf0211f956ee04f403151bc755ae27d8e22"
	vecAData     = "2Yj0+QKRcXMpq+k++r+7VzUQMk3eS74EjzrSGa5zuMOrVTn8cqMeQjVG+cnW1j3pe4c0jtg2W1pAVUJhGJk6Lcus/4FekoKoX+GNjl6sqEs/bqWzHFUG1FpzhfKZsdD8DzoZi1yS5q50B6swBTT61QgeeaBdRpF8u1rp5athZv8="

	vecBClientID = "AKDt8rWEczpYPzCGur2xE="
	vecBSecret   = "nmwUjMAK0PJpl0MOiXLOOOwZADm0gkLo"
	vecBSig      = "5ba88d913bf3be2d24a30efa58ad6b7dba0da8f0"
	vecBData     = "4BueQBNMOlehBK6tHAP5CHBZeh0xQf5NV54oR86AI4PAwq4jFnLzObxrN6gn7tThs75XbodvRWARX870LrDeiIibnKwQSVbOS4Da3juisfAkaDWu9GHBDgu3WvwHfzwtYSZjFNs8dqfdolc/EofGzhMm9zbXyZrvlWlD6OIJjBk="

	vecTimestamp = "1710757981609"
	vecNonce     = "1529"
)

func vecBody(sig, data, ts, nonceJSON string) []byte {
	return []byte(`{"signature":"` + sig + `","dataEncrypt":"` + data + `","timestamp":` + ts + `,"nonce":` + nonceJSON + `}`)
}

var vecAWant = WebhookEvent{ID: "689174694b4dbdd4ab3d28c9", Status: StatusCompleted, Type: "character_swap_TEST", URL: "https://example.invalid/result.mp4"}

func TestVerifyWebhookVectors(t *testing.T) {
	tests := []struct {
		name             string
		body             []byte
		clientID, secret string
	}{
		{"A AES-192", vecBody(vecASig, vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret},
		{"B AES-256 long clientId", vecBody(vecBSig, vecBData, vecTimestamp, `"1529"`), vecBClientID, vecBSecret},
		{"A nonce as number", vecBody(vecASig, vecAData, vecTimestamp, `1529`), vecAClientID, vecASecret},
		{"A timestamp as string", vecBody(vecASig, vecAData, `"`+vecTimestamp+`"`, `"1529"`), vecAClientID, vecASecret},
		{"A uppercase signature", vecBody(strings.ToUpper(vecASig), vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret},
		{"A extra fields and whitespace", []byte("{ \"x\":1,\n \"signature\" : \"" + vecASig + "\", \"dataEncrypt\":\"" + vecAData + "\", \"timestamp\": 1710757981609 , \"nonce\":\"1529\"}"), vecAClientID, vecASecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyWebhook(tt.body, tt.clientID, tt.secret)
			if err != nil {
				t.Fatalf("VerifyWebhook: got error %v, want nil", err)
			}
			if *got != vecAWant {
				t.Errorf("event: got %+v, want %+v", *got, vecAWant)
			}
		})
	}
}

// The emulator signs with these helpers, so they must reproduce the vectors byte for byte.
func TestNewWebhookBodyReproducesVectors(t *testing.T) {
	tests := []struct {
		name, clientID, secret, wantSig, wantData string
	}{
		{"A", vecAClientID, vecASecret, vecASig, vecAData},
		{"B", vecBClientID, vecBSecret, vecBSig, vecBData},
	}
	if got := string(MarshalWebhookEvent(vecAWant)); got != vecPlain {
		t.Fatalf("MarshalWebhookEvent: got %s, want %s", got, vecPlain)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewWebhookBody(vecAWant, tt.clientID, tt.secret, 1710757981609, vecNonce)
			if err != nil {
				t.Fatalf("NewWebhookBody: %v", err)
			}
			want := string(vecBody(tt.wantSig, tt.wantData, vecTimestamp, `"1529"`))
			if string(got) != want {
				t.Errorf("body:\ngot  %s\nwant %s", got, want)
			}
		})
	}
}

func flipByte(s string, i int) string {
	b := []byte(s)
	if b[i] == 'a' {
		b[i] = 'b'
	} else {
		b[i] = 'a'
	}
	return string(b)
}

func TestVerifyWebhookRefusesTampering(t *testing.T) {
	ct, _ := base64.StdEncoding.DecodeString(vecAData)
	ct[20] ^= 0x01
	tamperedCT := base64.StdEncoding.EncodeToString(ct)
	tests := []struct {
		name    string
		body    []byte
		id, key string
		want    error
	}{
		{"signature byte", vecBody(flipByte(vecASig, 0), vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"signature last byte", vecBody(flipByte(vecASig, 39), vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"signature truncated", vecBody(vecASig[:39], vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"ciphertext byte", vecBody(vecASig, tamperedCT, vecTimestamp, `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"timestamp digit", vecBody(vecASig, vecAData, "1710757981608", `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"timestamp as float", vecBody(vecASig, vecAData, "1.710757981609e12", `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"nonce", vecBody(vecASig, vecAData, vecTimestamp, `"1528"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"wrong clientId", vecBody(vecASig, vecAData, vecTimestamp, `"1529"`), "TESTCLIENTID0002", vecASecret, ErrWebhookSignature},
		{"other vector's signature", vecBody(vecBSig, vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret, ErrWebhookSignature},
		{"key 23 bytes", vecBody(vecASig, vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret[:23], ErrWebhookKey},
		{"key empty", vecBody(vecASig, vecAData, vecTimestamp, `"1529"`), vecAClientID, "", ErrWebhookKey},
		{"not JSON", []byte("signature=x"), vecAClientID, vecASecret, ErrWebhookBody},
		{"JSON array", []byte("[]"), vecAClientID, vecASecret, ErrWebhookBody},
		{"missing nonce", []byte(`{"signature":"` + vecASig + `","dataEncrypt":"` + vecAData + `","timestamp":1}`), vecAClientID, vecASecret, ErrWebhookBody},
		{"nonce object", vecBody(vecASig, vecAData, vecTimestamp, `{}`), vecAClientID, vecASecret, ErrWebhookBody},
		{"timestamp bool", vecBody(vecASig, vecAData, "true", `"1529"`), vecAClientID, vecASecret, ErrWebhookBody},
		{"signature number", []byte(`{"signature":1,"dataEncrypt":"` + vecAData + `","timestamp":1,"nonce":"1"}`), vecAClientID, vecASecret, ErrWebhookBody},
		{"empty", nil, vecAClientID, vecASecret, ErrWebhookBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := VerifyWebhook(tt.body, tt.id, tt.key)
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyWebhook: got (%v, %v), want error %v", ev, err, tt.want)
			}
			if ev != nil {
				t.Errorf("event: got %+v, want nil", ev)
			}
		})
	}
}

// encryptRaw encrypts already-padded blocks so tests can build bad padding.
func encryptRaw(t *testing.T, padded []byte, clientID, secret string) string {
	t.Helper()
	block, err := aes.NewCipher([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, webhookIV(clientID)).CryptBlocks(out, padded)
	return base64.StdEncoding.EncodeToString(out)
}

// signedBody builds a correctly signed body around any dataEncrypt, so the
// checks after the signature are reached.
func signedBody(data string) []byte {
	return vecBody(SignWebhook(vecAClientID, vecTimestamp, vecNonce, data), data, vecTimestamp, `"1529"`)
}

func TestVerifyWebhookAfterSignature(t *testing.T) {
	block16 := func(fill byte, last ...byte) []byte {
		b := make([]byte, 16)
		for i := range b {
			b[i] = fill
		}
		copy(b[16-len(last):], last)
		return b
	}
	payload := []byte(`{"_id":"a","status":4,"type":"t","url":""}`) // 42 bytes
	padTo := func(p []byte, pad byte) []byte {
		out := append([]byte{}, p...)
		for len(out)%16 != 0 || len(out) == len(p) {
			out = append(out, pad)
		}
		return out
	}
	tests := []struct {
		name string
		data func(t *testing.T) string
		want error
		ev   *WebhookEvent
	}{
		{"pad 0", func(t *testing.T) string { return encryptRaw(t, block16('x', 0), vecAClientID, vecASecret) }, ErrWebhookPadding, nil},
		{"pad 17", func(t *testing.T) string { return encryptRaw(t, block16(17), vecAClientID, vecASecret) }, ErrWebhookPadding, nil},
		{"pad 24 (docs' wrong block size)", func(t *testing.T) string {
			return encryptRaw(t, append(block16(24), block16(24)...), vecAClientID, vecASecret)
		}, ErrWebhookPadding, nil},
		{"inconsistent pad bytes", func(t *testing.T) string { return encryptRaw(t, block16('x', 3, 2, 3), vecAClientID, vecASecret) }, ErrWebhookPadding, nil},
		{"full block of 16 pad, empty payload", func(t *testing.T) string { return encryptRaw(t, block16(16), vecAClientID, vecASecret) }, ErrWebhookPayload, nil},
		{"pad 4", func(t *testing.T) string {
			p := append([]byte(`{"_id":"a","status":2,"type":"t","url":""}`), "  "...) // 44 bytes -> pad 4
			return encryptRaw(t, padTo(p, 4), vecAClientID, vecASecret)
		}, nil, &WebhookEvent{ID: "a", Status: StatusProcessing, Type: "t"}},
		{"valid pad 6", func(t *testing.T) string { return encryptRaw(t, padTo(payload, 6), vecAClientID, vecASecret) }, nil, &WebhookEvent{ID: "a", Status: StatusFailed, Type: "t"}},
		{"not base64", func(*testing.T) string { return "!!!!" }, ErrWebhookBase64, nil},
		{"base64 URL alphabet", func(*testing.T) string { return strings.NewReplacer("+", "-", "/", "_").Replace(vecAData) }, ErrWebhookBase64, nil},
		{"ciphertext 15 bytes", func(*testing.T) string { return base64.StdEncoding.EncodeToString(make([]byte, 15)) }, ErrWebhookCiphertext, nil},
		{"wrong key decrypts to garbage", func(t *testing.T) string {
			return encryptRaw(t, padTo(payload, 6), vecAClientID, "0123456789abcdef0123456789abcdef")
		}, ErrWebhookPadding, nil},
		{"payload without _id", func(t *testing.T) string {
			d, _ := EncryptWebhook([]byte(`{"status":3}`), vecAClientID, vecASecret)
			return d
		}, ErrWebhookPayload, nil},
		{"payload status 9", func(t *testing.T) string {
			d, _ := EncryptWebhook([]byte(`{"_id":"x","status":9}`), vecAClientID, vecASecret)
			return d
		}, ErrWebhookPayload, nil},
		{"payload status as string", func(t *testing.T) string {
			d, _ := EncryptWebhook([]byte(`{"_id":"x","status":"3","url":"u"}`), vecAClientID, vecASecret)
			return d
		}, nil, &WebhookEvent{ID: "x", Status: StatusCompleted, URL: "u"}},
		{"payload not UTF-8", func(t *testing.T) string {
			d, _ := EncryptWebhook([]byte("{\"_id\":\"\xff\",\"status\":3}"), vecAClientID, vecASecret)
			return d
		}, ErrWebhookPayload, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyWebhook(signedBody(tt.data(t)), vecAClientID, vecASecret)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("error: got %v (event %+v), want %v", err, got, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: got %v, want nil", err)
			}
			if *got != *tt.ev {
				t.Errorf("event: got %+v, want %+v", *got, *tt.ev)
			}
		})
	}
}

func TestEncryptWebhookRoundTripAllKeySizes(t *testing.T) {
	for _, n := range []int{16, 24, 32} {
		for _, plainLen := range []int{0, 1, 15, 16, 17, 100} {
			secret := strings.Repeat("k", n)
			plain := []byte(strings.Repeat("p", plainLen))
			t.Run("", func(t *testing.T) {
				enc, err := EncryptWebhook(plain, "short-id", secret)
				if err != nil {
					t.Fatalf("EncryptWebhook(key %d): %v", n, err)
				}
				ct, _ := base64.StdEncoding.DecodeString(enc)
				if got, want := len(ct), (plainLen/16+1)*16; got != want {
					t.Errorf("ciphertext length: got %d, want %d", got, want)
				}
				block, _ := aes.NewCipher([]byte(secret))
				cipher.NewCBCDecrypter(block, webhookIV("short-id")).CryptBlocks(ct, ct)
				got, err := unpadPKCS7(ct)
				if err != nil || string(got) != string(plain) {
					t.Errorf("round trip: got (%q, %v), want %q", got, err, plain)
				}
			})
		}
	}
	if _, err := EncryptWebhook([]byte("x"), "id", "short"); !errors.Is(err, ErrWebhookKey) {
		t.Errorf("EncryptWebhook short key: got %v, want ErrWebhookKey", err)
	}
}

func TestWebhookIVShortClientIDIsZeroPadded(t *testing.T) {
	got := webhookIV("abc")
	want := []byte{'a', 'b', 'c', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if string(got) != string(want) {
		t.Errorf("IV: got %q, want %q", got, want)
	}
}

func FuzzVerifyWebhook(f *testing.F) {
	f.Add(vecBody(vecASig, vecAData, vecTimestamp, `"1529"`), vecAClientID, vecASecret)
	f.Add(vecBody(vecBSig, vecBData, vecTimestamp, `1529`), vecBClientID, vecBSecret)
	f.Add(signedBody(base64.StdEncoding.EncodeToString(make([]byte, 32))), vecAClientID, vecASecret)
	f.Add([]byte(`{"signature":"","dataEncrypt":"","timestamp":-0,"nonce":1e99}`), "", "")
	f.Add([]byte(`null`), "x", strings.Repeat("s", 16))
	f.Fuzz(func(t *testing.T, body []byte, clientID, secret string) {
		ev, err := VerifyWebhook(body, clientID, secret)
		if (ev == nil) == (err == nil) {
			t.Fatalf("got event %v and error %v: exactly one must be nil", ev, err)
		}
		if ev != nil && !ev.Status.Valid() {
			t.Fatalf("accepted status %d", ev.Status)
		}
	})
}

// A body we sign ourselves must always verify, whatever the event holds.
func FuzzWebhookRoundTrip(f *testing.F) {
	f.Add("689174694b4dbdd4ab3d28c9", 3, "character_swap", "https://x/y.mp4", int64(1710757981609), "1529")
	f.Add("a\"b<&>\u2028", 4, "", "", int64(0), "")
	f.Fuzz(func(t *testing.T, id string, status int, typ, url string, ts int64, nonce string) {
		if id == "" || !Status(status).Valid() || nonce == "" || ts < 0 {
			return
		}
		ev := WebhookEvent{ID: id, Status: Status(status), Type: typ, URL: url}
		body, err := NewWebhookBody(ev, vecBClientID, vecBSecret, ts, nonce)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifyWebhook(body, vecBClientID, vecBSecret)
		if err != nil {
			t.Fatalf("VerifyWebhook(%s): %v", body, err)
		}
		// JSON cannot carry invalid UTF-8; only valid strings must come back intact.
		if utf8.ValidString(id) && utf8.ValidString(typ) && utf8.ValidString(url) && *got != ev {
			t.Fatalf("got %+v, want %+v", *got, ev)
		}
	})
}

// webhookErrKinds are VerifyWebhook's failure kinds; each failure must be
// exactly one of them.
var webhookErrKinds = []error{ErrWebhookKey, ErrWebhookBody, ErrWebhookSignature, ErrWebhookBase64,
	ErrWebhookCiphertext, ErrWebhookPadding, ErrWebhookPayload}

// errKind returns the one kind err is, failing the test when it is none or several.
func errKind(t *testing.T, err error) error {
	t.Helper()
	var kinds []error
	for _, k := range webhookErrKinds {
		if errors.Is(err, k) {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) != 1 {
		t.Fatalf("error %v is %d kinds, want exactly one", err, len(kinds))
	}
	return kinds[0]
}

// Arbitrary ciphertext, base64'd and properly signed, so every input gets
// past the signature to the decrypter, the PKCS#7 check and the payload
// decoder (FuzzVerifyWebhook almost never does).
func FuzzVerifyWebhookCiphertext(f *testing.F) {
	vecA, _ := base64.StdEncoding.DecodeString(vecAData)
	f.Add(vecA)
	f.Add(vecA[:len(vecA)-16])
	f.Add(vecA[:len(vecA)-1])
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, ct []byte) {
		ev, err := VerifyWebhook(signedBody(base64.StdEncoding.EncodeToString(ct)), vecAClientID, vecASecret)
		if (ev == nil) == (err == nil) {
			t.Fatalf("got event %v and error %v: exactly one must be nil", ev, err)
		}
		if err == nil {
			if ev.ID == "" || !ev.Status.Valid() {
				t.Fatalf("accepted %+v", *ev)
			}
			return
		}
		kind := errKind(t, err)
		switch {
		case len(ct) == 0: // an empty dataEncrypt is a malformed body
			if kind != ErrWebhookBody {
				t.Fatalf("empty ciphertext: got %v, want ErrWebhookBody", err)
			}
		case len(ct)%16 != 0:
			if kind != ErrWebhookCiphertext {
				t.Fatalf("%d-byte ciphertext: got %v, want ErrWebhookCiphertext", len(ct), err)
			}
		default:
			if kind != ErrWebhookPadding && kind != ErrWebhookPayload {
				t.Fatalf("%d-byte ciphertext: got %v, want a padding or payload error", len(ct), err)
			}
		}
	})
}

// Arbitrary plaintext, encrypted and signed properly, so the payload decoder
// sees every input: it either returns a valid event or ErrWebhookPayload.
func FuzzVerifyWebhookPlaintext(f *testing.F) {
	for _, s := range []string{vecPlain, `{}`, `null`, `[]`, `"x"`, `{"_id":"a","status":"3"}`, `{"_id":"a","status":3.0}`,
		`{"_id":"a","status":5}`, `{"_id":1,"status":3}`, `{"_id":"a","status":3,"url":7}`, "{\"_id\":\"\xff\",\"status\":3}",
		`{"_id":"a","status":1e400}`, `{"_id":"a","status":3} trailing`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, plain []byte) {
		data, err := EncryptWebhook(plain, vecAClientID, vecASecret)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := VerifyWebhook(signedBody(data), vecAClientID, vecASecret)
		if (ev == nil) == (err == nil) {
			t.Fatalf("got event %v and error %v: exactly one must be nil", ev, err)
		}
		if err != nil {
			if kind := errKind(t, err); kind != ErrWebhookPayload {
				t.Fatalf("plaintext %q: got %v, want ErrWebhookPayload", plain, err)
			}
			return
		}
		var obj map[string]any
		if !utf8.Valid(plain) || json.Unmarshal(plain, &obj) != nil || obj == nil {
			t.Fatalf("accepted a plaintext that is not a UTF-8 JSON object: %q", plain)
		}
		if ev.ID == "" || !ev.Status.Valid() {
			t.Fatalf("accepted %+v from %q", *ev, plain)
		}
	})
}
