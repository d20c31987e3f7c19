package handlers

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

// decodedCookies wraps the session cookie's codec so that a cookie seen
// before is not verified and decrypted again. Every signed-in request
// carries the same cookie until its session changes, and decoding it
// (base64 twice, an HMAC, AES-CTR and JSON) was about 12 us of every page.
//
// An entry is keyed by the cookie's exact value, which the wrapped codec
// accepted (its MAC verified) when the entry was made, and holds what it
// decoded to and the cookie's own timestamp; a hit is refused once that
// timestamp is older than maxAge, as the codec would refuse it. Nothing
// about who the session belongs to is cached: loadSession still loads the
// user and checks the session id against revoked sessions on every
// request. Sessions carrying flash messages are not cached (they change on
// the next page anyway). The cache holds at most maxDecodedCookies
// entries, dropping an arbitrary one when full, so fresh cookies cannot
// grow it without bound.
type decodedCookies struct {
	codec  securecookie.Codec
	maxAge int64 // seconds; 0: no expiry
	now    func() time.Time

	mu sync.Mutex
	m  map[string]decodedCookie
}

type decodedCookie struct {
	values    map[any]any // no flashes: only int64 and string values
	timestamp int64       // the cookie's, in Unix seconds
}

const maxDecodedCookies = 4096

func newDecodedCookies(codec securecookie.Codec, maxAge int64, now func() time.Time) *decodedCookies {
	return &decodedCookies{codec: codec, maxAge: maxAge, now: now, m: map[string]decodedCookie{}}
}

// Encode is the wrapped codec's.
func (d *decodedCookies) Encode(name string, value any) (string, error) {
	return d.codec.Encode(name, value)
}

// Decode decodes value into dst (a *map[any]any, as gorilla/sessions
// passes): from the cache when this exact value was decoded before and has
// not expired, else with the wrapped codec.
func (d *decodedCookies) Decode(name, value string, dst any) error {
	p, ok := dst.(*map[any]any)
	if !ok {
		return d.codec.Decode(name, value, dst)
	}
	key := name + "\x00" + value
	d.mu.Lock()
	e, hit := d.m[key]
	d.mu.Unlock()
	if hit && (d.maxAge == 0 || e.timestamp >= d.now().Unix()-d.maxAge) {
		m := make(map[any]any, len(e.values))
		for k, v := range e.values {
			m[k] = v
		}
		*p = m
		return nil
	}
	if err := d.codec.Decode(name, value, dst); err != nil {
		return err
	}
	if _, flashes := (*p)[flashesKey]; flashes {
		return nil
	}
	ts, ok := cookieTimestamp(value)
	if !ok {
		return nil
	}
	e = decodedCookie{values: make(map[any]any, len(*p)), timestamp: ts}
	for k, v := range *p {
		e.values[k] = v
	}
	d.mu.Lock()
	if len(d.m) >= maxDecodedCookies {
		for k := range d.m {
			delete(d.m, k)
			break
		}
	}
	d.m[key] = e
	d.mu.Unlock()
	return nil
}

// cookieTimestamp reads the timestamp securecookie put in an encoded
// value ("date|value|mac", base64): only for a value the codec has just
// accepted.
func cookieTimestamp(value string) (int64, bool) {
	b, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return 0, false
	}
	date, _, ok := bytes.Cut(b, []byte("|"))
	if !ok {
		return 0, false
	}
	ts, err := strconv.ParseInt(string(date), 10, 64)
	return ts, err == nil
}
