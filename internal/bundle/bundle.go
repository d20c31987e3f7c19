// Package bundle writes a selection of archived results as one zip: each
// video stored as it is (no compression: MP4s do not compress) and streamed
// from the media store, so memory stays flat whatever the sizes, and a
// manifest.csv of each result's settings and prompt at the end. archive/zip
// switches to zip64 by itself when an entry, the archive or the entry count
// outgrows the classic format (4 GiB, 65,535 entries).
package bundle

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"swapdesk/internal/storage"
)

// Opener reads media store objects (storage.Store has it).
type Opener interface {
	Open(ctx context.Context, key string) (storage.Reader, error)
}

// Item is one result to put in the zip.
type Item struct {
	ID         int64
	Created    time.Time
	Finished   time.Time // the entry's modification time
	Member     string
	Mode       string
	Resolution string
	Seconds    float64
	Credits    int64
	Prompt     string
	// Key is the result's media store key; Size its recorded size (a copy
	// of another length fails the zip: the store changed under us).
	Key  string
	Size int64
}

// FileName is the name of a result's video, in the zip and as a download:
// swap-42-720p.mp4.
func FileName(id int64, resolution string) string {
	return fmt.Sprintf("swap-%d-%s.mp4", id, resolution)
}

// ManifestName is the manifest's name inside the zip.
const ManifestName = "manifest.csv"

// ManifestHeader is the manifest's first row.
var ManifestHeader = []string{"id", "created", "member", "mode", "resolution", "seconds", "credits", "prompt", "filename"}

// Result says what Write left out.
type Result struct {
	// Missing are the items whose file the store no longer has: they are
	// left out of the zip and the manifest (the caller logs them; /media
	// answers 410 for them too).
	Missing []int64
}

// Write streams items, then the manifest (dated at), as a zip into w. It returns the
// first error of the store or of w; what was written by then is a zip
// without its central directory, so the caller must make sure the client
// sees the download fail rather than end.
func Write(ctx context.Context, w io.Writer, st Opener, items []Item, at time.Time) (Result, error) {
	var res Result
	zw := zip.NewWriter(w)
	var listed []Item
	for _, it := range items {
		ok, err := writeEntry(ctx, zw, st, it)
		if err != nil {
			return res, fmt.Errorf("zip result %d: %w", it.ID, err)
		}
		if !ok {
			res.Missing = append(res.Missing, it.ID)
			continue
		}
		listed = append(listed, it)
	}
	if err := writeManifest(zw, listed, at); err != nil {
		return res, err
	}
	return res, zw.Close()
}

// writeEntry copies one result into zw; false when the store has no file.
func writeEntry(ctx context.Context, zw *zip.Writer, st Opener, it Item) (bool, error) {
	r, err := st.Open(ctx, it.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer r.Close()
	h := &zip.FileHeader{Name: FileName(it.ID, it.Resolution), Method: zip.Store, Modified: it.Finished.UTC()}
	ew, err := zw.CreateHeader(h)
	if err != nil {
		return false, err
	}
	n, err := io.Copy(ew, r)
	if err != nil {
		return false, err
	}
	if it.Size > 0 && n != it.Size {
		return false, fmt.Errorf("read %d bytes of %s, the database records %d", n, it.Key, it.Size)
	}
	return true, nil
}

func writeManifest(zw *zip.Writer, items []Item, at time.Time) error {
	mw, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Store, Modified: at.UTC()})
	if err != nil {
		return err
	}
	cw := csv.NewWriter(mw)
	if err := cw.Write(ManifestHeader); err != nil {
		return err
	}
	for _, it := range items {
		row := []string{
			strconv.FormatInt(it.ID, 10),
			it.Created.UTC().Format(time.RFC3339),
			it.Member,
			it.Mode,
			it.Resolution,
			strconv.FormatFloat(it.Seconds, 'f', -1, 64),
			strconv.FormatInt(it.Credits, 10),
			it.Prompt,
			FileName(it.ID, it.Resolution),
		}
		for i := range row {
			row[i] = SafeCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SafeCell neutralises a CSV cell a spreadsheet would run as a formula: one
// starting with =, +, -, @, a tab or a carriage return gets a leading
// apostrophe, which spreadsheets show as text (OWASP's advice for CSV
// injection). Members write prompts and names; admins open the manifest.
func SafeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
