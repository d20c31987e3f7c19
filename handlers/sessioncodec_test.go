package handlers

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"swapdesk/views"
)

func TestSessionSerializerRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[any]any{
		keyUserID:     int64(42),
		keySessionVer: int64(3),
		keySessionID:  "sid",
		keyCSRF:       "tok",
		flashesKey:    []any{views.Flash{Kind: views.FlashSuccess, Message: "Swap started <b>"}},
	}
	b, err := sessionSerializer{}.Serialize(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[any]any
	if err := (sessionSerializer{}).Deserialize(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip: got %#v, want %#v", out, in)
	}
	empty, _ := sessionSerializer{}.Serialize(map[any]any{})
	if string(empty) != "{}" {
		t.Errorf("empty session serializes to %s", empty)
	}
}

func TestSessionSerializerRefusesWhatItDidNotWrite(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]any{
		"unknown key":       map[any]any{"admin": true},
		"wrong type":        map[any]any{keyUserID: "42"},
		"foreign flash":     map[any]any{flashesKey: []any{"text"}},
		"not a session map": map[string]string{},
	} {
		if _, err := (sessionSerializer{}).Serialize(in); err == nil {
			t.Errorf("%s: serialized", name)
		}
	}
	var out map[any]any
	for _, raw := range []string{"", "not json", `{"u":"x"}`} {
		if err := (sessionSerializer{}).Deserialize([]byte(raw), &out); err == nil {
			t.Errorf("deserialized %q", raw)
		}
	}
}

// A cookie from another key (or the old gob format) is a fresh session,
// not an error page.
func TestForeignCookieStartsAFreshSession(t *testing.T) {
	t.Parallel()
	a := newCookieStore([]byte("key-one-key-one-key-one-key-one-!"), false)
	b := newCookieStore([]byte("key-two-key-two-key-two-key-two-!"), false)
	req := httptest.NewRequest("GET", "/", nil)
	rec := httptest.NewRecorder()
	sess, _ := a.New(req, sessionCookie)
	sess.Values[keyUserID] = int64(7)
	if err := sess.Save(req, rec); err != nil {
		t.Fatal(err)
	}
	// gorilla caches sessions per request, so each lookup gets its own.
	withCookie := func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		for _, c := range rec.Result().Cookies() {
			r.AddCookie(c)
		}
		return r
	}
	if got, err := b.Get(withCookie(), sessionCookie); err == nil || got.Values[keyUserID] != nil {
		t.Fatalf("a cookie signed with another key was accepted: %v, %v", got.Values, err)
	}
	got, err := a.Get(withCookie(), sessionCookie)
	if err != nil || got.Values[keyUserID] != int64(7) {
		t.Errorf("own cookie: %v, %v", got.Values, err)
	}
}
