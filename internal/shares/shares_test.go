package shares_test

import (
	"errors"
	"testing"

	"swapdesk/internal/apperr"
	"swapdesk/internal/fields"
	"swapdesk/internal/shares"
)

func TestParseDays(t *testing.T) {
	for in, want := range map[string]int{"": 7, " ": 7, "1": 1, "7": 7, " 30 ": 30} {
		if got, err := shares.ParseDays(in); err != nil || got != want {
			t.Errorf("ParseDays(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "-1", "31", "1.5", "7d", "1e1", "99999999999999999999", "<script>"} {
		_, err := shares.ParseDays(in)
		var invalid *apperr.Invalid
		if !errors.As(err, &invalid) || invalid.Fields[fields.ShareDays] == "" {
			t.Errorf("ParseDays(%q): %v, want a message for the days field", in, err)
		}
	}
}
