package handlers

import (
	"crypto/sha256"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"swapdesk/views"
)

// The decoded-cookie cache answers as the codec does: the same values for
// the same cookie, each caller its own copy; a changed cookie refused; an
// expired one refused even when it was decoded before; flashes never kept.
func TestDecodedCookiesAnswerAsTheCodec(t *testing.T) {
	t.Parallel()
	key := sha256.Sum256([]byte("hash"))
	block := sha256.Sum256([]byte("block"))
	sc := securecookie.New(key[:], block[:])
	sc.SetSerializer(sessionSerializer{})
	sc.MaxAge(60)
	d := newDecodedCookies(sc, 60, time.Now)

	values := map[any]any{keyUserID: int64(7), keySessionVer: int64(2), keySessionID: "sid", keyCSRF: "tok"}
	cookie, err := d.Encode(sessionCookie, values)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		var got map[any]any
		if err := d.Decode(sessionCookie, cookie, &got); err != nil {
			t.Fatalf("decode %d: %v", i, err)
		}
		if len(got) != len(values) || got[keyUserID] != int64(7) || got[keySessionID] != "sid" || got[keyCSRF] != "tok" || got[keySessionVer] != int64(2) {
			t.Fatalf("decode %d: %v, want %v", i, got, values)
		}
		// A handler changing its session must not change the next one's.
		got[keyUserID] = int64(99)
		delete(got, keyCSRF)
	}
	if len(d.m) != 1 {
		t.Errorf("%d entries, want 1", len(d.m))
	}

	// Another name, or the value changed: the codec decides (and refuses).
	var got map[any]any
	if err := d.Decode("other", cookie, &got); err == nil {
		t.Error("a cookie was accepted under another name")
	}
	flip := []byte(cookie)
	flip[len(flip)/2] ^= 1
	if err := d.Decode(sessionCookie, string(flip), &got); err == nil {
		t.Error("a changed cookie was accepted")
	}

	// Past maxAge the cached entry is not used, and the codec refuses it
	// (securecookie reads the real clock, in whole seconds).
	sc.MaxAge(1)
	d = newDecodedCookies(sc, 1, time.Now)
	short, err := d.Encode(sessionCookie, values)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(sessionCookie, short, &got); err != nil || len(d.m) != 1 {
		t.Fatalf("fresh cookie: %v, %d entries", err, len(d.m))
	}
	time.Sleep(2100 * time.Millisecond)
	if err := d.Decode(sessionCookie, short, &got); err == nil {
		t.Errorf("an expired cookie was accepted: %v", got)
	}

	// Flash messages are not kept.
	d = newDecodedCookies(sc, 0, time.Now)
	withFlash, err := d.Encode(sessionCookie, map[any]any{keyCSRF: "tok", flashesKey: []any{views.Flash{Kind: "success", Message: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Decode(sessionCookie, withFlash, &got); err != nil || len(got[flashesKey].([]any)) != 1 {
		t.Fatalf("flash cookie: %v, %v", got, err)
	}
	if len(d.m) != 0 {
		t.Error("a session with flashes was cached")
	}
}
