package storage

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// defaultRegion signs requests to S3-compatible services that ignore the
// region (MinIO, Ceph) when none is given.
const defaultRegion = "us-east-1"

// openS3 opens bucket l.Bucket through gocloud.dev's s3blob driver. A
// custom endpoint means an S3-compatible service: path-style addressing
// (http://host:9000/bucket/key), which MinIO, Ceph and most others expect,
// over http or https as the endpoint says.
func openS3(ctx context.Context, l Location, creds Credentials) (Store, error) {
	opts := []func(*config.LoadOptions) error{
		// Third-party S3 services do not all accept the SDK's newer default
		// checksum headers; send and verify them only where S3 requires.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	region := l.Region
	if region == "" && l.Endpoint != "" {
		region = defaultRegion
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if creds.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("media store %s: %w", l, err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if l.Endpoint != "" {
			o.BaseEndpoint = aws.String(l.Endpoint)
			o.UsePathStyle = true
		}
	})
	b, err := s3blob.OpenBucket(ctx, client, l.Bucket, &s3blob.Options{
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	if err != nil {
		return nil, fmt.Errorf("media store %s: %w", l, err)
	}
	ok, err := b.IsAccessible(ctx)
	if err == nil && !ok {
		err = fmt.Errorf("bucket %q does not exist or cannot be reached with these credentials", l.Bucket)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("media store %s: %w", l, err)
	}
	s := &bucketStore{b: b, name: l.String()}
	s.create = func(ctx context.Context, key, contentType string, meta map[string]string) (rawWriter, error) {
		return newS3Writer(ctx, client, l.Bucket, key, contentType, meta), nil
	}
	s.sign = func(ctx context.Context, key string, o SignOptions) (string, error) {
		if o.Expiry <= 0 {
			o.Expiry = 10 * time.Minute
		}
		return b.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: o.Expiry, BeforeSign: func(as func(any) bool) error {
			var in *s3.GetObjectInput
			if as(&in) {
				if o.ContentType != "" {
					in.ResponseContentType = aws.String(o.ContentType)
				}
				if o.ContentDisposition != "" {
					in.ResponseContentDisposition = aws.String(o.ContentDisposition)
				}
			}
			return nil
		}})
	}
	opened := time.Now()
	s.removeTemp = func(ctx context.Context) (int, error) {
		return abortStaleUploads(ctx, client, l.Bucket, opened)
	}
	return s, nil
}

// abortStaleUploads aborts the bucket's incomplete multipart uploads
// started before `before`: what a killed process's writes left (an
// interrupted upload is never visible as an object, but S3 keeps, and
// bills, its parts). The bucket is Swapdesk's media store: every upload in
// it is ours.
func abortStaleUploads(ctx context.Context, client *s3.Client, bucket string, before time.Time) (int, error) {
	n := 0
	pages := s3.NewListMultipartUploadsPaginator(client, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return n, err
		}
		for _, u := range page.Uploads {
			if u.Initiated != nil && u.Initiated.After(before) {
				continue
			}
			if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key,
				UploadId: u.UploadId}); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// partSize is the size of one part of a multipart upload: S3's minimum, and
// the only buffer a write holds.
const partSize = 5 << 20

// s3Writer uploads an object in parts of partSize, one at a time, from one
// buffer, so a write's memory stays at partSize however large the object.
// (gocloud.dev's s3blob writer, through the SDK's transfer manager, reads
// the first 16 MiB into memory and keeps Concurrency+1 more parts: 40-50 MB
// of RSS for a 200 MB result, measured.) Until CompleteMultipartUpload
// nothing is visible under the key; an aborted upload is discarded.
type s3Writer struct {
	ctx         context.Context
	client      *s3.Client
	bucket, key string
	contentType string
	meta        map[string]string
	buf         []byte
	uploadID    *string
	parts       []types.CompletedPart
	err         error
}

func newS3Writer(ctx context.Context, client *s3.Client, bucket, key, contentType string, meta map[string]string) *s3Writer {
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	return &s3Writer{ctx: ctx, client: client, bucket: bucket, key: key, contentType: contentType, meta: meta,
		buf: make([]byte, 0, partSize)}
}

func (w *s3Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), partSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(w.buf) == partSize {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flush uploads the buffer as the next part, starting the multipart upload
// with the first.
func (w *s3Writer) flush() error {
	if w.uploadID == nil {
		out, err := w.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{
			Bucket: &w.bucket, Key: &w.key, ContentType: &w.contentType, Metadata: w.meta})
		if err != nil {
			w.err = err
			return err
		}
		w.uploadID = out.UploadId
	}
	num := int32(len(w.parts) + 1)
	out, err := w.client.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: &w.bucket, Key: &w.key, UploadId: w.uploadID,
		PartNumber: &num, Body: bytes.NewReader(w.buf), ContentLength: aws.Int64(int64(len(w.buf)))})
	if err != nil {
		w.err = err
		return err
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: &num})
	w.buf = w.buf[:0]
	return nil
}

func (w *s3Writer) commit() error {
	if w.err != nil {
		w.abort()
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.abort()
		return err
	}
	if w.uploadID == nil {
		// Smaller than one part: one PUT, visible only once complete.
		_, err := w.client.PutObject(w.ctx, &s3.PutObjectInput{Bucket: &w.bucket, Key: &w.key,
			ContentType: &w.contentType, Metadata: w.meta, Body: bytes.NewReader(w.buf),
			ContentLength: aws.Int64(int64(len(w.buf)))})
		w.buf = nil
		return err
	}
	if len(w.buf) > 0 {
		if err := w.flush(); err != nil {
			w.abort()
			return err
		}
	}
	_, err := w.client.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: &w.bucket, Key: &w.key,
		UploadId: w.uploadID, MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.abort()
	}
	w.buf = nil
	return err
}

// abort discards the upload's parts, even when the write's context is
// already cancelled (the usual reason to abort).
func (w *s3Writer) abort() {
	w.buf = nil
	if w.uploadID == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	_, _ = w.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &w.bucket, Key: &w.key, UploadId: w.uploadID})
	w.uploadID = nil
}
