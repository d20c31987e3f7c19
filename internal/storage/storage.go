// Package storage keeps every file Swapdesk stores (archived results now;
// posters, archived character images and uploads next) behind one
// interface, on local disk (file://) or any S3-compatible service (s3://),
// chosen by one URL (SWAPDESK_MEDIA_URL). Nothing else in Swapdesk touches
// media files directly.
//
// Keys are store-relative, slash-separated paths such as
// "results/2026-12/42.mp4". The database holds keys only, never a location,
// so the same rows work against any store that holds the same keys.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"
)

// Store is where Swapdesk keeps its files.
type Store interface {
	// Create starts writing key. Nothing is visible under key (and an
	// earlier object there stays as it was) until Commit returns nil; Abort,
	// a cancelled ctx or a failed Commit leaves nothing behind.
	Create(ctx context.Context, key string, opts WriteOptions) (Writer, error)
	// Open reads key. The Reader seeks without reading what it skips (a
	// seek costs one ranged request on S3), so it suits http.ServeContent.
	// A missing key is ErrNotFound.
	Open(ctx context.Context, key string) (Reader, error)
	// Stat describes key; a missing key is ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; a key that is already gone is not an error.
	Delete(ctx context.Context, key string) error
	// List calls fn for every committed object whose key starts with
	// prefix, in key order; an error from fn stops the walk and is
	// returned. Listed Infos carry no SHA256 or ContentType (Stat has them).
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// SignedURL returns a URL that lets anyone holding it GET key directly
	// from the service for expiry, with the given response headers. Stores
	// without one (local disk) return an error matching
	// errors.ErrUnsupported: serve the bytes through Open instead.
	SignedURL(ctx context.Context, key string, opts SignOptions) (string, error)
	// RemoveTemp deletes what interrupted writes of this store left behind
	// (a kill -9 mid-write) and returns how many it removed. Call it at
	// start-up, before any write begins.
	RemoveTemp(ctx context.Context) (int, error)
	// String names the store for logs and messages, without credentials.
	String() string
	Close() error
}

// Writer is an object being written. Call Commit to publish it, or Abort;
// Abort after Commit does nothing, so `defer w.Abort()` is the usual form.
type Writer interface {
	io.Writer
	// Commit makes the object visible under its key. With
	// WriteOptions.SHA256 set, an object whose bytes do not match is not
	// committed (ErrChecksum).
	Commit() error
	// Abort discards what was written.
	Abort() error
}

// Reader reads an object: a io.ReadSeekCloser that knows its Info.
type Reader interface {
	io.ReadSeekCloser
	Info() Info
}

// WriteOptions describe an object being written.
type WriteOptions struct {
	ContentType string
	// SHA256, in lower-case hex, when known up front: it is stored with the
	// object (Stat returns it) and checked before the object is committed.
	SHA256 string
}

// SignOptions shape a signed URL.
type SignOptions struct {
	Expiry             time.Duration
	ContentType        string // the response's Content-Type
	ContentDisposition string // the response's Content-Disposition
}

// Info describes a stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
	// ETag is the store's own validator (quoted); it changes when the
	// object does.
	ETag string
	// SHA256 is the lower-case hex checksum recorded when the object was
	// written with one; empty when unknown (objects written before the store
	// recorded it, or listed rather than stat'ed).
	SHA256      string
	ContentType string
}

// Errors the stores return.
var (
	// ErrNotFound: no object under that key.
	ErrNotFound = errors.New("storage: object not found")
	// ErrChecksum: the bytes written do not match WriteOptions.SHA256.
	ErrChecksum = errors.New("storage: checksum mismatch")
	// ErrInvalidKey: the key is empty, absolute, or leaves the store.
	ErrInvalidKey = errors.New("storage: invalid key")
)

// Location is a parsed SWAPDESK_MEDIA_URL.
type Location struct {
	// Scheme is "file" or "s3".
	Scheme string
	// Dir is the root directory of a file store.
	Dir string
	// Bucket, Endpoint and Region address an S3 store; an Endpoint means an
	// S3-compatible service reached with path-style addressing.
	Bucket, Endpoint, Region string
}

// String is the location as a URL, canonical and without credentials.
func (l Location) String() string {
	switch l.Scheme {
	case "file":
		return (&url.URL{Scheme: "file", Path: l.Dir}).String()
	case "s3":
		// Written out as an operator types it (the endpoint is a checked
		// scheme://host, safe unescaped), so it can be pasted back.
		var q []string
		if l.Endpoint != "" {
			q = append(q, "endpoint="+l.Endpoint)
		}
		if l.Region != "" {
			q = append(q, "region="+url.QueryEscape(l.Region))
		}
		s := "s3://" + l.Bucket
		if len(q) > 0 {
			s += "?" + strings.Join(q, "&")
		}
		return s
	}
	return ""
}

// ParseURL checks a store URL without touching the store:
// file:///absolute/path, or s3://bucket[?endpoint=http(s)://host[:port]][&region=R].
// Its errors are one line fit to show an operator.
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("%q is not a URL like file:///var/lib/swapdesk/media or s3://bucket?region=eu-west-1", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return Location{}, fmt.Errorf("%q: leave out credentials and fragment (S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", raw)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return Location{}, fmt.Errorf("%q: use file:///absolute/path (three slashes)", raw)
		}
		if u.RawQuery != "" {
			return Location{}, fmt.Errorf("%q: a file URL takes no query", raw)
		}
		if !path.IsAbs(u.Path) || path.Clean(u.Path) == "/" {
			return Location{}, fmt.Errorf("%q: give an absolute directory other than /, like file:///var/lib/swapdesk/media", raw)
		}
		return Location{Scheme: "file", Dir: path.Clean(u.Path)}, nil
	case "s3":
		if u.Host == "" || (u.Path != "" && u.Path != "/") {
			return Location{}, fmt.Errorf("%q: name the bucket as the host, like s3://bucket?region=eu-west-1", raw)
		}
		l := Location{Scheme: "s3", Bucket: u.Host}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return Location{}, fmt.Errorf("%q: bad query: %v", raw, err)
		}
		for k, v := range q {
			switch k {
			case "endpoint":
				e, err := url.Parse(v[0])
				if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" || e.User != nil ||
					(e.Path != "" && e.Path != "/") || e.RawQuery != "" {
					return Location{}, fmt.Errorf("%q: endpoint %q is not an http(s) URL like http://127.0.0.1:9000", raw, v[0])
				}
				l.Endpoint = e.Scheme + "://" + e.Host
			case "region":
				l.Region = v[0]
			default:
				return Location{}, fmt.Errorf("%q: unknown parameter %q (use endpoint and region)", raw, k)
			}
		}
		return l, nil
	}
	return Location{}, fmt.Errorf("%q: use a file:/// or s3:// URL", raw)
}

// Credentials sign requests to an S3 store. Empty means the AWS SDK's
// default chain (environment, shared config, instance role).
type Credentials struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

// Open opens the store at l. An S3 bucket must exist and be reachable.
func Open(ctx context.Context, l Location, creds Credentials) (Store, error) {
	switch l.Scheme {
	case "file":
		return openFile(l)
	case "s3":
		return openS3(ctx, l, creds)
	}
	return nil, fmt.Errorf("storage: unknown scheme %q", l.Scheme)
}

// CleanKey checks a key: relative, slash-separated, no "." or ".." parts,
// no empty parts.
func CleanKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "\\") {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	for part := range strings.SplitSeq(key, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	return nil
}
