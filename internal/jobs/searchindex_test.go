package jobs

import (
	"context"
	"errors"
	"testing"
)

// fakeSegments is an index whose segments drop by one per merge step.
type fakeSegments struct {
	n, merges, pages int
	fail             error
}

func (f *fakeSegments) SearchIndexSegments(context.Context) (int, error) { return f.n, nil }

func (f *fakeSegments) MergeSearchIndex(_ context.Context, pages int) error {
	if f.fail != nil {
		return f.fail
	}
	f.merges++
	f.pages = pages
	if f.n > 1 {
		f.n--
	}
	return nil
}

func TestSearchIndexTidy(t *testing.T) {
	tests := []struct {
		name             string
		segments         int
		fail             error
		wantSteps, wantN int
	}{
		{"few segments: left alone", 4, nil, 0, 4},
		{"many: merged into one", 19, nil, 18, 1},
		{"more than one tidy's steps: finished next time", 150, nil, searchIndexMaxSteps, 50},
		{"a failed merge stops it", 19, errors.New("database is locked"), 0, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSegments{n: tt.segments, fail: tt.fail}
			s := NewSearchIndex(SearchIndexConfig{Store: f, Pages: 7})
			if got := s.Tidy(context.Background()); got != tt.wantSteps {
				t.Errorf("got %d steps, want %d", got, tt.wantSteps)
			}
			if f.n != tt.wantN {
				t.Errorf("got %d segments after, want %d", f.n, tt.wantN)
			}
			if f.merges > 0 && f.pages != 7 {
				t.Errorf("merged %d pages a step, want 7", f.pages)
			}
		})
	}
}
