package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"swapdesk/db"
	"swapdesk/internal/jobs"
	"swapdesk/internal/poster"
	"swapdesk/internal/storage"
)

const postersUsage = `Usage: swapdesk media posters [--all] [--data-dir DIR]

Makes a poster image and a short preview clip (with ffmpeg, which must be on
PATH) for every archived result that has none: results archived before
posters existed, or while ffmpeg was missing, or whose poster failed.
--all makes them again for every result. serve does the same in the
background; this runs it now, one result at a time, and says how it went.
`

// mediaPosters runs `swapdesk media posters`.
func mediaPosters(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	fs := newFlags("media posters", stdout)
	fs.Usage = func() { fmt.Fprint(stdout, postersUsage) }
	dataDir := dataDirFlag(fs, getenv)
	all := fs.Bool("all", false, "make posters again for every archived result")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := needDatabase(*dataDir); err != nil {
		return err
	}
	maker, err := poster.New(2 * time.Minute)
	if err != nil {
		return fmt.Errorf("media posters: %w (install ffmpeg, e.g. apt-get install ffmpeg)", err)
	}
	loc, err := mediaLocation(getenv("SWAPDESK_MEDIA_URL"), *dataDir)
	if err != nil {
		return usagef("SWAPDESK_MEDIA_URL: %v", err)
	}
	creds := awsCredentials(getenv)
	store, err := db.Open(ctx, dbPath(*dataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	media, err := storage.Open(ctx, loc, creds)
	if err != nil {
		return usagef("SWAPDESK_MEDIA_URL: %v", err)
	}
	defer media.Close()
	// Beside serve's working copies (serve clears what killed runs left),
	// never on a /tmp that may be a small tmpfs.
	tmp := filepath.Join(*dataDir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return err
	}
	p := jobs.NewPosters(jobs.PostersConfig{Store: store, Maker: maker, Media: media, Log: log.With("component", "posters"),
		TempDir: tmp})
	queued, err := p.RequeuePosters(ctx, *all)
	if err != nil {
		return err
	}
	start := time.Now()
	tried := p.MakeDue(ctx)
	counts, err := store.PosterCounts(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tried %d results (%d put back in line) in %s: %d with a poster, %d waiting for a retry, %d failed\n",
		tried, queued, time.Since(start).Round(time.Millisecond), counts[db.PosterDone], counts[db.PosterNone], counts[db.PosterFailed])
	if counts[db.PosterFailed] > 0 || counts[db.PosterNone] > 0 {
		return fmt.Errorf("media posters: %d results have no poster; see the log above", counts[db.PosterFailed]+counts[db.PosterNone])
	}
	return nil
}
