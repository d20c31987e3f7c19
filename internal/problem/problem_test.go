package problem_test

import (
	"strings"
	"testing"

	"swapdesk/internal/problem"
)

func TestTypesAreStableAndUnique(t *testing.T) {
	want := []string{"bad-request", "idempotency-key", "unauthorized", "forbidden", "not-found", "method-not-allowed",
		"idempotency-conflict", "conflict", "too-large", "invalid", "insufficient-credits", "rate-limited", "internal"}
	if len(problem.Types) != len(want) {
		t.Fatalf("got %d types, want %d", len(problem.Types), len(want))
	}
	seen := map[string]bool{}
	for i, ty := range problem.Types {
		if ty.Slug != want[i] {
			t.Errorf("type %d: got slug %q, want %q", i, ty.Slug, want[i])
		}
		if seen[ty.Slug] {
			t.Errorf("slug %q twice", ty.Slug)
		}
		seen[ty.Slug] = true
		if got := ty.URI(); got != "/docs/api#problem-"+want[i] {
			t.Errorf("URI: got %q", got)
		}
		if ty.Status < 400 || ty.Title == "" || !strings.HasSuffix(ty.Doc, ".") {
			t.Errorf("type %q: status %d, title %q, doc %q", ty.Slug, ty.Status, ty.Title, ty.Doc)
		}
	}
}
