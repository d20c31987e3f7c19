package handlers

import (
	"encoding/json"
	"fmt"

	"swapdesk/views"
)

// flashesKey is where gorilla/sessions keeps flash messages.
const flashesKey = "_flash"

// sessionSerializer stores our session values as compact JSON of one fixed
// shape instead of gob. gob describes its types anew in every cookie, and
// decoding that description was a fifth of a card poll's CPU time; this
// also keeps the cookie small and refuses any value we did not put there.
type sessionSerializer struct{}

type sessionWire struct {
	UID     int64         `json:"u,omitempty"`
	SV      int64         `json:"v,omitempty"`
	SID     string        `json:"s,omitempty"`
	CSRF    string        `json:"c,omitempty"`
	Flashes []views.Flash `json:"f,omitempty"`
}

// Serialize encodes a session's Values map.
func (sessionSerializer) Serialize(src any) ([]byte, error) {
	m, ok := src.(map[any]any)
	if !ok {
		return nil, fmt.Errorf("session: cannot serialize %T", src)
	}
	var w sessionWire
	for k, v := range m {
		switch k {
		case keyUserID:
			w.UID, ok = v.(int64)
		case keySessionVer:
			w.SV, ok = v.(int64)
		case keySessionID:
			w.SID, ok = v.(string)
		case keyCSRF:
			w.CSRF, ok = v.(string)
		case flashesKey:
			var list []any
			if list, ok = v.([]any); ok {
				for _, f := range list {
					fl, isFlash := f.(views.Flash)
					if !isFlash {
						return nil, fmt.Errorf("session: flash of type %T", f)
					}
					w.Flashes = append(w.Flashes, fl)
				}
			}
		default:
			return nil, fmt.Errorf("session: unknown key %v", k)
		}
		if !ok {
			return nil, fmt.Errorf("session: %v has type %T", k, v)
		}
	}
	return json.Marshal(w)
}

// Deserialize decodes into *map[any]any, the type gorilla/sessions passes.
func (sessionSerializer) Deserialize(src []byte, dst any) error {
	p, ok := dst.(*map[any]any)
	if !ok {
		return fmt.Errorf("session: cannot deserialize into %T", dst)
	}
	var w sessionWire
	if err := json.Unmarshal(src, &w); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	m := make(map[any]any, 4)
	if w.UID != 0 {
		m[keyUserID] = w.UID
	}
	if w.SV != 0 {
		m[keySessionVer] = w.SV
	}
	if w.SID != "" {
		m[keySessionID] = w.SID
	}
	if w.CSRF != "" {
		m[keyCSRF] = w.CSRF
	}
	if len(w.Flashes) > 0 {
		list := make([]any, len(w.Flashes))
		for i, f := range w.Flashes {
			list[i] = f
		}
		m[flashesKey] = list
	}
	*p = m
	return nil
}
