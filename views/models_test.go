package views

import (
	"encoding/json"
	"testing"
)

func TestHXHeadersIsJSONForAnyToken(t *testing.T) {
	for _, tok := range []string{"", "abc-DEF_123", `a"b\c</script>`, "é"} {
		var got map[string]string
		if err := json.Unmarshal([]byte(hxHeaders(tok)), &got); err != nil || got["X-CSRF-Token"] != tok {
			t.Errorf("hxHeaders(%q) = %s: %v, %v", tok, hxHeaders(tok), got, err)
		}
	}
}
