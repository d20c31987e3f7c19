package akoolsim

import (
	"errors"
	"strings"
	"testing"

	"swapdesk/internal/akool"
)

// Vectors A and B of AKOOL-API.md §4.5 (cross-checked there with openssl and
// sha1sum): the emulator's own signer and encrypter must produce them byte
// for byte, independently of internal/akool.
func TestWebhookVectors(t *testing.T) {
	ev := webhookEvent{ID: "689174694b4dbdd4ab3d28c9", Status: 3, Type: "character_swap_TEST", URL: "https://example.invalid/result.mp4"}
	const plain = `{"_id":"689174694b4dbdd4ab3d28c9","status":3,"type":"character_swap_TEST","url":"https://example.invalid/result.mp4"}`
	if got := string(marshalEvent(ev)); got != plain {
		t.Fatalf("plaintext:\ngot  %s\nwant %s", got, plain)
	}
	tests := []struct {
		name, clientID, secret, sig, data string
	}{
		{"A AES-192", "TESTCLIENTID0001", "TESTSECRETKEY24CHARSxxxx", "65074cf0211f956ee04f403151bc755ae27d8e22",
			"2Yj0+QKRcXMpq+k++r+7VzUQMk3eS74EjzrSGa5zuMOrVTn8cqMeQjVG+cnW1j3pe4c0jtg2W1pAVUJhGJk6Lcus/4FekoKoX+GNjl6sqEs/bqWzHFUG1FpzhfKZsdD8DzoZi1yS5q50B6swBTT61QgeeaBdRpF8u1rp5athZv8="},
		{"B AES-256, 22-char clientId", "AKDt8rWEczpYPzCGur2xE=", "nmwUjMAK0PJpl0MOiXLOOOwZADm0gkLo", "5ba88d913bf3be2d24a30efa58ad6b7dba0da8f0",
			"4BueQBNMOlehBK6tHAP5CHBZeh0xQf5NV54oR86AI4PAwq4jFnLzObxrN6gn7tThs75XbodvRWARX870LrDeiIibnKwQSVbOS4Da3juisfAkaDWu9GHBDgu3WvwHfzwtYSZjFNs8dqfdolc/EofGzhMm9zbXyZrvlWlD6OIJjBk="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := webhookJSON(ev, tt.clientID, tt.secret, 1710757981609, "1529", false)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"signature":"` + tt.sig + `","dataEncrypt":"` + tt.data + `","timestamp":1710757981609,"nonce":"1529"}`
			if string(body) != want {
				t.Errorf("body:\ngot  %s\nwant %s", body, want)
			}
			// And the other implementation reads it.
			got, err := akool.VerifyWebhook(body, tt.clientID, tt.secret)
			if err != nil || got.ID != ev.ID || int(got.Status) != ev.Status || got.Type != ev.Type || got.URL != ev.URL {
				t.Errorf("akool.VerifyWebhook: got (%+v, %v)", got, err)
			}
			bad, err := webhookJSON(ev, tt.clientID, tt.secret, 1710757981609, "1529", true)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := akool.VerifyWebhook(bad, tt.clientID, tt.secret); !errors.Is(err, akool.ErrWebhookSignature) {
				t.Errorf("corrupted signature: got %v, want ErrWebhookSignature", err)
			}
		})
	}
}

// Every plaintext length pads to whole blocks and round-trips through the
// client, for each AES key size.
func TestWebhookEncryptAllLengthsAndKeys(t *testing.T) {
	for _, secret := range []string{"0123456789abcdef", "0123456789abcdef01234567", "0123456789abcdef0123456789abcdef"} {
		for n := range 40 {
			url := "https://x/" + strings.Repeat("a", n)
			ev := webhookEvent{ID: "id", Status: 3, Type: "character_swap", URL: url}
			body, err := webhookJSON(ev, "short", secret, 1, "1", false)
			if err != nil {
				t.Fatal(err)
			}
			got, err := akool.VerifyWebhook(body, "short", secret)
			if err != nil || got.URL != url {
				t.Fatalf("secret %d bytes, url %d bytes: got (%+v, %v)", len(secret), len(url), got, err)
			}
		}
	}
	if _, err := webhookJSON(webhookEvent{ID: "id", Status: 3}, "c", "fifteen-bytes!!", 1, "1", false); !errors.Is(err, errSecretLength) {
		t.Errorf("15-byte secret: got %v, want errSecretLength", err)
	}
}
