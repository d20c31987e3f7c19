// Package storagetest starts an S3-compatible server inside the test
// process (github.com/johannesboyne/gofakes3), so the S3 store is tested
// with no internet and nothing installed by hand.
package storagetest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/spf13/afero"

	"swapdesk/internal/storage"
)

// Test credentials: gofakes3 accepts any, the store signs with these.
const (
	AccessKeyID     = "SWAPDESKTESTKEY"
	SecretAccessKey = "swapdesk-test-secret-key"
)

// S3 is a running in-memory S3-compatible server with one bucket.
type S3 struct {
	// URL is the store URL: s3://bucket?endpoint=http://127.0.0.1:port&region=us-east-1.
	URL      string
	Endpoint string
	Bucket   string
	backend  *s3mem.Backend
	received atomic.Int64
}

// NewS3 starts a server with bucket and stops it when t ends.
func NewS3(t testing.TB, bucket string) *S3 {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog()))
	s := &S3{Bucket: bucket, backend: backend}
	h := faker.Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = &counting{r: r.Body, n: &s.received}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.Endpoint = srv.URL
	s.URL = "s3://" + bucket + "?endpoint=" + srv.URL + "&region=us-east-1"
	return s
}

// Location is the parsed URL.
func (s *S3) Location(t testing.TB) storage.Location {
	t.Helper()
	l, err := storage.ParseURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Creds are the credentials to open the store with.
func (s *S3) Creds() storage.Credentials {
	return storage.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
}

// Open opens the bucket as a Store, closed when t ends.
func (s *S3) Open(t testing.TB) storage.Store {
	t.Helper()
	st, err := storage.Open(t.Context(), s.Location(t), s.Creds())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Received is how many request-body bytes the server has read so far.
func (s *S3) Received() int64 { return s.received.Load() }

// Keys lists the bucket's objects as the server sees them.
func (s *S3) Keys(t testing.TB) []string {
	t.Helper()
	list, err := s.backend.ListBucket(s.Bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, o.Key)
	}
	return keys
}

type counting struct {
	r io.ReadCloser
	n *atomic.Int64
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *counting) Close() error { return c.r.Close() }

// ServeOnDisk serves an S3-compatible API on ln with bucket kept as files
// under dir, until ln is closed. Benchmarks run it in a child process, so
// the server's own buffers (gofakes3 assembles multipart uploads in memory)
// do not count in the measured process, as a real S3 service would not.
func ServeOnDisk(ln net.Listener, dir, bucket string) error {
	backend, err := s3afero.MultiBucket(afero.NewBasePathFs(afero.NewOsFs(), dir))
	if err != nil {
		return err
	}
	if err := backend.CreateBucket(bucket); err != nil {
		return err
	}
	return http.Serve(ln, gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
}

// Uploads counts the multipart uploads in progress in the bucket.
func (s *S3) Uploads(t testing.TB) int {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(s.Endpoint)
		o.UsePathStyle = true
	})
	out, err := client.ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: &s.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}
