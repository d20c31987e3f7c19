package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// metaSHA256 is the metadata key the checksum is stored under (S3 sends it
// as x-amz-meta-sha256; fileblob keeps it in the object's .attrs sidecar).
const metaSHA256 = "sha256"

// bucketStore is a Store over a gocloud.dev/blob bucket; the file and S3
// stores differ in how they open, sign, sync and clean up.
type bucketStore struct {
	b *blob.Bucket
	// plain, when set, takes the writes that carry no metadata (the file
	// store writes no ".attrs" sidecar for them).
	plain *blob.Bucket
	name  string
	// create starts a write; nil means through the blob bucket.
	create func(ctx context.Context, key, contentType string, meta map[string]string) (rawWriter, error)
	// sign makes a signed URL; nil for stores without one.
	sign func(ctx context.Context, key string, opts SignOptions) (string, error)
	// syncFile is set for the file store: it fsyncs the temp file before the
	// rename that commits it, and the directory after.
	syncFile bool
	dir      string
	// isTemp reports names of this store's unfinished writes.
	isTemp     func(key string) bool
	removeTemp func(ctx context.Context) (int, error)
}

func (s *bucketStore) String() string { return s.name }

func (s *bucketStore) Close() error {
	if s.plain != nil {
		s.plain.Close()
	}
	return s.b.Close()
}

func (s *bucketStore) Create(ctx context.Context, key string, opts WriteOptions) (Writer, error) {
	if err := CleanKey(key); err != nil {
		return nil, err
	}
	want := strings.ToLower(opts.SHA256)
	if want != "" {
		if _, err := hex.DecodeString(want); err != nil || len(want) != 64 {
			return nil, fmt.Errorf("storage: %q is not a hex SHA-256", opts.SHA256)
		}
	}
	var meta map[string]string
	if want != "" {
		meta = map[string]string{metaSHA256: want}
	}
	var raw rawWriter
	var err error
	if s.create != nil {
		raw, err = s.create(ctx, key, opts.ContentType, meta)
	} else {
		raw, err = s.createBlob(ctx, key, opts.ContentType, meta)
	}
	if err != nil {
		return nil, err
	}
	w := &writer{raw: raw, key: key, want: want}
	if want != "" {
		w.h = sha256.New()
	}
	return w, nil
}

// rawWriter is one backend's write in progress.
type rawWriter interface {
	io.Writer
	commit() error
	abort()
}

// writer adds the checksum check and the Commit/Abort rules to a rawWriter.
type writer struct {
	raw  rawWriter
	key  string
	want string
	h    hash.Hash
	done bool
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("storage: write after Commit or Abort")
	}
	n, err := w.raw.Write(p)
	if w.h != nil {
		w.h.Write(p[:n])
	}
	return n, err
}

func (w *writer) Commit() error {
	if w.done {
		return errors.New("storage: Commit after Commit or Abort")
	}
	if w.h != nil {
		if got := hex.EncodeToString(w.h.Sum(nil)); got != w.want {
			_ = w.Abort()
			return fmt.Errorf("%w: %s is %s, want %s", ErrChecksum, w.key, got, w.want)
		}
	}
	w.done = true
	return mapErr(w.raw.commit())
}

func (w *writer) Abort() error {
	if !w.done {
		w.done = true
		w.raw.abort()
	}
	return nil
}

// createBlob writes through gocloud.dev/blob (the file store).
func (s *bucketStore) createBlob(ctx context.Context, key, contentType string, meta map[string]string) (rawWriter, error) {
	// Cancelling this context is how a blob.Writer is aborted.
	wctx, cancel := context.WithCancel(ctx)
	w := &blobWriter{store: s, key: key, cancel: cancel}
	wo := &blob.WriterOptions{
		ContentType:                 contentType,
		DisableContentTypeDetection: contentType == "",
		Metadata:                    meta,
	}
	if s.syncFile {
		wo.BeforeWrite = func(as func(any) bool) error {
			var f *os.File
			if as(&f) {
				w.file = f
			}
			return nil
		}
	}
	b := s.b
	if meta == nil && s.plain != nil {
		b = s.plain
	}
	bw, err := b.NewWriter(wctx, key, wo)
	if err != nil {
		cancel()
		return nil, mapErr(err)
	}
	w.bw = bw
	return w, nil
}

type blobWriter struct {
	store  *bucketStore
	key    string
	bw     *blob.Writer
	cancel context.CancelFunc
	file   *os.File // the file store's temp file, to fsync
}

func (w *blobWriter) Write(p []byte) (int, error) { return w.bw.Write(p) }

func (w *blobWriter) commit() error {
	defer w.cancel()
	if w.file != nil {
		if err := w.file.Sync(); err != nil {
			w.abort()
			return err
		}
	}
	if err := w.bw.Close(); err != nil {
		return err
	}
	if w.store.syncFile {
		syncParents(w.store.dir, w.key)
	}
	return nil
}

func (w *blobWriter) abort() {
	w.cancel()
	// Closing after the cancel discards the write (fileblob removes its
	// temp file); the error only says so.
	_ = w.bw.Close()
}

func (s *bucketStore) Open(ctx context.Context, key string) (Reader, error) {
	if err := CleanKey(key); err != nil {
		return nil, err
	}
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	r, err := s.b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return &reader{Reader: r, info: info}, nil
}

type reader struct {
	*blob.Reader
	info Info
}

func (r *reader) Info() Info { return r.info }

func (s *bucketStore) Stat(ctx context.Context, key string) (Info, error) {
	if err := CleanKey(key); err != nil {
		return Info{}, err
	}
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return Info{}, mapErr(err)
	}
	return Info{Key: key, Size: a.Size, ModTime: a.ModTime, ETag: a.ETag, SHA256: a.Metadata[metaSHA256],
		ContentType: a.ContentType}, nil
}

func (s *bucketStore) Delete(ctx context.Context, key string) error {
	if err := CleanKey(key); err != nil {
		return err
	}
	err := mapErr(s.b.Delete(ctx, key))
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

func (s *bucketStore) List(ctx context.Context, prefix string, fn func(Info) error) error {
	it := s.b.List(&blob.ListOptions{Prefix: prefix})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return mapErr(err)
		}
		if o.IsDir || (s.isTemp != nil && s.isTemp(o.Key)) {
			continue
		}
		if err := fn(Info{Key: o.Key, Size: o.Size, ModTime: o.ModTime}); err != nil {
			return err
		}
	}
}

func (s *bucketStore) SignedURL(ctx context.Context, key string, opts SignOptions) (string, error) {
	if err := CleanKey(key); err != nil {
		return "", err
	}
	if s.sign == nil {
		return "", fmt.Errorf("storage: %s serves no signed URLs: %w", s.name, errors.ErrUnsupported)
	}
	return s.sign(ctx, key, opts)
}

func (s *bucketStore) RemoveTemp(ctx context.Context) (int, error) {
	if s.removeTemp == nil {
		return 0, nil
	}
	return s.removeTemp(ctx)
}

// mapErr turns the blob package's not-found into ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
