package jobs

import (
	"context"
	"log/slog"
	"time"
)

// SearchIndexStore is what SearchIndex needs from the database.
type SearchIndexStore interface {
	SearchIndexSegments(ctx context.Context) (int, error)
	MergeSearchIndex(ctx context.Context, pages int) error
}

// SearchIndexConfig builds a SearchIndex.
type SearchIndexConfig struct {
	Store SearchIndexStore
	Log   *slog.Logger
	// MaxSegments is how many segments the index may have before Tidy
	// merges them (default 4).
	MaxSegments int
	// Pages bounds one merge step, and so how long it holds the write lock
	// (default 1000 leaf pages of 4 KiB: ≈10–20 ms at 100,000 prompts).
	Pages int
	// Tick is how often the loop looks (default 10 min).
	Tick time.Duration
}

// SearchIndex keeps the prompt search's FTS5 index in few segments. Every
// submission's transaction adds a segment, and FTS5's own automerge leaves
// up to a few on each level; a search seeks each one for every word, so
// their number, not the archive's size, is most of its cost. At start and
// every Tick it merges them into one when there are more than MaxSegments,
// a bounded step (one short write transaction) at a time.
type SearchIndex struct {
	cfg SearchIndexConfig
	log *slog.Logger
	loop
}

// searchIndexMaxSteps bounds one Tidy: an index that needs more steps is
// finished at the next tick.
const searchIndexMaxSteps = 100

// NewSearchIndex returns a SearchIndex; call Run to start it.
func NewSearchIndex(cfg SearchIndexConfig) *SearchIndex {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSegments <= 0 {
		cfg.MaxSegments = 4
	}
	if cfg.Pages <= 0 {
		cfg.Pages = 1000
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Minute
	}
	return &SearchIndex{cfg: cfg, log: cfg.Log, loop: newLoop(cfg.Tick)}
}

// Run tidies the index at once and every Tick until ctx is cancelled.
func (s *SearchIndex) Run(ctx context.Context) {
	s.loop.run(ctx, s.Tidy)
}

// Tidy merges the index's segments into one when there are more than
// MaxSegments, and returns how many merge steps it ran. Errors are logged;
// the next tick tries again.
func (s *SearchIndex) Tidy(ctx context.Context) int {
	before, err := s.cfg.Store.SearchIndexSegments(ctx)
	if err != nil {
		s.log.Error("count search index segments", "err", err)
		return 0
	}
	if before <= s.cfg.MaxSegments {
		return 0
	}
	start, n, after := time.Now(), 0, before
	for after > 1 && n < searchIndexMaxSteps && ctx.Err() == nil {
		if err := s.cfg.Store.MergeSearchIndex(ctx, s.cfg.Pages); err != nil {
			s.log.Error("merge search index", "err", err)
			break
		}
		n++
		if after, err = s.cfg.Store.SearchIndexSegments(ctx); err != nil {
			s.log.Error("count search index segments", "err", err)
			break
		}
	}
	s.log.Info("merged the search index", "segments_before", before, "segments_after", after, "steps", n,
		"took", time.Since(start).Round(time.Millisecond))
	return n
}
