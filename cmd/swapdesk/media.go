package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"swapdesk/db"
	"swapdesk/internal/storage"
)

const mediaUsage = `Usage: swapdesk media migrate --to URL [--dry-run] [--data-dir DIR]
       swapdesk media posters [--all] [--data-dir DIR]

posters makes the missing posters and preview clips now (see
'swapdesk media posters --help'). migrate:

Copies every file in the media store (SWAPDESK_MEDIA_URL, default
DATA_DIR/media) to the store at URL (file:///path or
s3://bucket?endpoint=…&region=…), checking each copy's SHA-256 against the
database and reading it back. Files already there with the same size and
checksum are skipped, so an interrupted run is simply run again. The
database holds store keys only: when the copy is done, set
SWAPDESK_MEDIA_URL to URL and restart. The source is left as it was.
`

// mediaCommand runs `swapdesk media ...`.
func mediaCommand(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer, log *slog.Logger) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, mediaUsage)
		return nil
	}
	if args[0] == "posters" {
		return mediaPosters(ctx, args[1:], getenv, stdout, log)
	}
	if args[0] != "migrate" {
		return usagef("media: unknown subcommand %q (try 'swapdesk media migrate --to URL')", args[0])
	}
	fs := newFlags("media migrate", stdout)
	fs.Usage = func() { fmt.Fprint(stdout, mediaUsage) }
	dataDir := dataDirFlag(fs, getenv)
	to := fs.String("to", "", "the store to copy to: file:///path or s3://bucket?endpoint=…&region=…")
	dryRun := fs.Bool("dry-run", false, "list what would be copied; copy nothing")
	if err := parseFlags(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *to == "" {
		return usagef("media migrate: --to URL is required")
	}
	if err := needDatabase(*dataDir); err != nil {
		return err
	}
	from, err := mediaLocation(getenv("SWAPDESK_MEDIA_URL"), *dataDir)
	if err != nil {
		return usagef("SWAPDESK_MEDIA_URL: %v", err)
	}
	dest, err := storage.ParseURL(*to)
	if err != nil {
		return usagef("--to: %v", err)
	}
	if dest == from {
		return usagef("--to: %s is where the media already are (SWAPDESK_MEDIA_URL)", dest)
	}
	creds := awsCredentials(getenv)
	if (creds.AccessKeyID == "") != (creds.SecretAccessKey == "") {
		return usagef("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither")
	}

	store, err := db.Open(ctx, dbPath(*dataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	files, err := store.ArchivedFiles(ctx)
	if err != nil {
		return err
	}
	src, err := storage.Open(ctx, from, creds)
	if err != nil {
		return usagef("SWAPDESK_MEDIA_URL: %v", err)
	}
	defer src.Close()
	dst, err := storage.Open(ctx, dest, creds)
	if err != nil {
		return usagef("--to: %v", err)
	}
	defer dst.Close()

	m := migration{src: src, dst: dst, known: map[string]db.ArchivedFile{}, dryRun: *dryRun, out: stdout}
	for _, f := range files {
		m.known[f.Key] = f
	}
	err = m.run(ctx)
	verb := "copied"
	if *dryRun {
		verb = "would copy"
	}
	fmt.Fprintf(stdout, "%s %d files (%d bytes), %d already there, %d failed: %s -> %s\n",
		verb, m.copied, m.bytes, m.skipped, m.failed, src, dst)
	if err != nil {
		return err
	}
	if !*dryRun {
		fmt.Fprintf(stdout, "Every file is in %s. Set SWAPDESK_MEDIA_URL=%s and restart swapdesk serve.\n", dst, dest)
	}
	return nil
}

// migration copies one store's files to another.
type migration struct {
	src, dst storage.Store
	// known is what the database recorded, by key: the checksum a copy
	// must have.
	known  map[string]db.ArchivedFile
	dryRun bool
	out    io.Writer

	copied, skipped, failed int
	bytes                   int64
}

// run copies every file of src missing from dst. A file that fails is
// reported and the others still go; the error then says how many failed.
// Every key the database records must be in src.
func (m *migration) run(ctx context.Context) error {
	var infos []storage.Info
	if err := m.src.List(ctx, "", func(i storage.Info) error {
		infos = append(infos, i)
		return nil
	}); err != nil {
		return fmt.Errorf("list %s: %w", m.src, err)
	}
	listed := map[string]bool{}
	for _, info := range infos {
		listed[info.Key] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := m.one(ctx, info); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.failed++
			fmt.Fprintf(m.out, "FAILED %s: %v\n", info.Key, err)
		}
	}
	for key, f := range m.known {
		if !listed[key] {
			m.failed++
			fmt.Fprintf(m.out, "FAILED %s: job %d's archived video is not in %s\n", key, f.JobID, m.src)
		}
	}
	if m.failed > 0 {
		return fmt.Errorf("media migrate: %d files failed; fix what is reported and run it again (copied files are skipped)", m.failed)
	}
	return nil
}

// one copies info's object unless dst already has it, checked.
func (m *migration) one(ctx context.Context, info storage.Info) error {
	want := m.known[info.Key].SHA256
	if f, ok := m.known[info.Key]; ok && f.Size != info.Size {
		return fmt.Errorf("%s holds %d bytes, the database recorded %d", m.src, info.Size, f.Size)
	}
	if want == "" {
		// Not an archived result the database knows (a future poster, say):
		// its checksum is what the source holds now.
		sum, err := checksum(ctx, m.src, info.Key)
		if err != nil {
			return err
		}
		want = sum
	}
	if there, err := m.dst.Stat(ctx, info.Key); err == nil && there.Size == info.Size {
		sum := there.SHA256
		if sum == "" {
			if sum, err = checksum(ctx, m.dst, info.Key); err != nil {
				return err
			}
		}
		if sum == want {
			m.skipped++
			return nil
		}
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if m.dryRun {
		fmt.Fprintf(m.out, "would copy %s (%d bytes)\n", info.Key, info.Size)
		m.copied++
		m.bytes += info.Size
		return nil
	}
	if err := copyObject(ctx, m.src, m.dst, info.Key, want); err != nil {
		return err
	}
	// Read the copy back: the checksum of what the destination serves.
	got, err := checksum(ctx, m.dst, info.Key)
	if err != nil {
		return err
	}
	if got != want {
		_ = m.dst.Delete(ctx, info.Key)
		return fmt.Errorf("the copy reads back with SHA-256 %s, want %s; removed it", got, want)
	}
	m.copied++
	m.bytes += info.Size
	fmt.Fprintf(m.out, "copied %s (%d bytes)\n", info.Key, info.Size)
	return nil
}

// copyObject streams key from src to dst; dst commits it only when its
// SHA-256 is sum.
func copyObject(ctx context.Context, src, dst storage.Store, key, sum string) error {
	r, err := src.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	ctype := r.Info().ContentType
	if ctype == "" || ctype == "application/octet-stream" {
		ctype = contentTypeOf(key)
	}
	w, err := dst.Create(ctx, key, storage.WriteOptions{ContentType: ctype, SHA256: sum})
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return w.Commit()
}

func contentTypeOf(key string) string {
	if strings.HasSuffix(key, ".mp4") {
		return "video/mp4"
	}
	return "application/octet-stream"
}

// checksum reads key whole and returns its SHA-256.
func checksum(ctx context.Context, st storage.Store, key string) (string, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
