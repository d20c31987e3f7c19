package jobstatus

import "testing"

func TestEveryStatusHasItsLabelAndBadge(t *testing.T) {
	tests := []struct {
		s            Status
		label, badge string
		final        bool
	}{
		{Submitting, "Sending to Akool", "badge badge-wait", false},
		{Queued, "Queued", "badge badge-wait", false},
		{Processing, "Processing", "badge badge-run", false},
		{Succeeded, "Done", "badge badge-ok", true},
		{Failed, "Failed", "badge badge-err", true},
		{Rejected, "Not accepted", "badge badge-err", true},
		{Interrupted, "Interrupted", "badge badge-err", true},
	}
	for _, tt := range tests {
		if got := tt.s.Label(); got != tt.label {
			t.Errorf("%s: label %q, want %q", tt.s, got, tt.label)
		}
		if got := tt.s.Badge(); got != tt.badge {
			t.Errorf("%s: badge %q, want %q", tt.s, got, tt.badge)
		}
		if got := tt.s.Final(); got != tt.final {
			t.Errorf("%s: final %v, want %v", tt.s, got, tt.final)
		}
		if !tt.s.Known() {
			t.Errorf("%s: not known", tt.s)
		}
	}
	if s := Status("archive_retry"); s.Known() || s.Label() != "archive_retry" {
		t.Errorf("an unknown state: known %v, label %q", s.Known(), s.Label())
	}
}
