package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"

	"gocloud.dev/blob/fileblob"
)

// tempName matches the files an interrupted write leaves in a file store:
// fileblob's "<name>.<hex nanoseconds>.tmp" (it writes next to the final
// file, then renames), and ".incoming-*.mp4" from the archiver before this
// package existed.
var tempName = regexp.MustCompile(`(\.[0-9a-f]{8,}\.tmp|^\.incoming-.*\.mp4)$`)

func isTempKey(key string) bool { return tempName.MatchString(path.Base(key)) }

// openFile opens a store rooted at l.Dir, creating it if needed. Files are
// the keys' paths under the root, so an archive written before this package
// existed (DATA_DIR/media/YYYY-MM/<job>.mp4) stays readable under the keys
// the database holds. A checksum given at write time is kept in a
// "<file>.attrs" sidecar; writes without one leave just the file.
func openFile(l Location) (Store, error) {
	dir := filepath.FromSlash(l.Dir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("media store %s: %w", dir, unwrapPath(err))
	}
	opts := fileblob.Options{
		DirFileMode: 0o750,
		// Temp files next to the final file: a rename within one file
		// system (os.TempDir may be another), and ours to clean up.
		NoTempDir: true,
	}
	b, err := fileblob.OpenBucket(dir, &opts)
	if err != nil {
		return nil, fmt.Errorf("media store %s: %w", dir, err)
	}
	// Writes without a checksum to keep (the archiver's) leave just the
	// file, as before this package existed.
	// (A new Options: fileblob keeps the pointer it was given.)
	plainOpts := opts
	plainOpts.Metadata = fileblob.MetadataDontWrite
	plain, err := fileblob.OpenBucket(dir, &plainOpts)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("media store %s: %w", dir, err)
	}
	s := &bucketStore{b: b, plain: plain, name: l.String(), syncFile: true, dir: dir, isTemp: isTempKey}
	s.removeTemp = func(ctx context.Context) (int, error) { return removeTempFiles(ctx, dir) }
	return s, nil
}

// removeTempFiles deletes every unfinished write under dir.
func removeTempFiles(ctx context.Context, dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.Type().IsRegular() && tempName.MatchString(d.Name()) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// syncParents makes the rename that committed key durable: it fsyncs the
// directories from the key's up to the root. Failures only cost durability.
func syncParents(root, key string) {
	dir := path.Dir(key)
	for {
		if d, err := os.Open(filepath.Join(root, filepath.FromSlash(dir))); err == nil {
			_ = d.Sync()
			d.Close()
		}
		if dir == "." {
			return
		}
		dir = path.Dir(dir)
	}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
