package media

import (
	"bufio"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
)

// DefaultImageHeaderBytes caps what an image probe reads. PNG needs 33 bytes;
// a JPEG's size sits after its APPn segments (EXIF thumbnails, ICC
// profiles), which may each be up to 64 KiB, so the cap is a little larger.
const DefaultImageHeaderBytes = 256 << 10

// ImageInfo describes a probed image.
type ImageInfo struct {
	Format string // "png" or "jpeg"
	Width  int
	Height int
	Size   int64 // whole file size in bytes, -1 if the server did not say
}

// probeImage reads only the image's first bytes (a Range request for at
// most maxHeader bytes, and only as far as the header goes).
func probeImage(ctx context.Context, f *Fetcher, rawURL string, maxHeader int64) (ImageInfo, error) {
	resp, err := f.Do(ctx, Request{
		URL:    rawURL,
		Length: maxHeader,
		Accept: "image/png,image/jpeg;q=0.9,*/*;q=0.1",
	})
	if err != nil {
		return ImageInfo{}, err
	}
	defer resp.Body.Close()

	lr := &io.LimitedReader{R: resp.Body, N: maxHeader}
	br := bufio.NewReaderSize(lr, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return ImageInfo{}, readError(err)
	}
	info := ImageInfo{Size: resp.Total}
	var cfg image.Config
	switch kind := sniff(head); kind {
	case "png":
		info.Format = "png"
		cfg, err = png.DecodeConfig(br)
	case "jpeg":
		info.Format = "jpeg"
		cfg, err = jpeg.DecodeConfig(br)
	default:
		return ImageInfo{}, notImageError(kind)
	}
	if err != nil {
		var me *Error
		if errors.As(err, &me) {
			return ImageInfo{}, me
		}
		if ctx.Err() != nil {
			return ImageInfo{}, ctx.Err()
		}
		var unsup png.UnsupportedError
		var junsup jpeg.UnsupportedError
		switch {
		case errors.As(err, &unsup), errors.As(err, &junsup):
			return ImageInfo{}, newErr(ErrUnsupported, "this kind of "+formatName(info.Format)+" image is not supported", err)
		case lr.N == 0:
			return ImageInfo{}, newErr(ErrUnsupported, "could not find the image size in the first "+formatBytes(maxHeader)+" of the file", err)
		}
		return ImageInfo{}, newErr(ErrCorrupt, "the "+formatName(info.Format)+" image is damaged or incomplete", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return ImageInfo{}, newErr(ErrCorrupt, "the "+formatName(info.Format)+" image has no size", nil)
	}
	info.Width, info.Height = cfg.Width, cfg.Height
	return info, nil
}

func formatName(f string) string {
	if f == "png" {
		return "PNG"
	}
	return "JPEG"
}

func readError(err error) error {
	var me *Error
	if errors.As(err, &me) {
		return me
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return newErr(ErrUnreachable, "the server stopped sending the file", err)
}

func notImageError(kind string) *Error {
	msg := "this link does not point to a PNG or JPEG image"
	switch kind {
	case "empty":
		msg = "the link returned an empty file"
	case "webp":
		msg = "WebP images are not supported — use PNG or JPEG"
	case "gif":
		msg = "GIF images are not supported — use PNG or JPEG"
	case "heif":
		msg = "HEIC and AVIF images are not supported — use PNG or JPEG"
	case "svg":
		msg = "SVG images are not supported — use PNG or JPEG"
	case "bmp", "tiff", "ico":
		msg = "this image format is not supported — use PNG or JPEG"
	case "html":
		msg = "this link returns a web page, not an image"
	case "text":
		msg = "this link returns text, not an image"
	case "mp4", "webm", "avi":
		msg = "this link points to a video, not an image"
	case "pdf":
		msg = "this link points to a PDF document, not an image"
	}
	return newErr(ErrUnsupported, msg, nil)
}
