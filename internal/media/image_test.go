package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// jpegWithAPP inserts APP segments totalling about extra bytes after SOI,
// as a camera's EXIF thumbnail and ICC profile do.
func jpegWithAPP(tb testing.TB, extra int) []byte {
	tb.Helper()
	src := readFixture(tb, "image.jpg")
	var out bytes.Buffer
	out.Write(src[:2])
	for extra > 0 {
		n := min(extra, 65533)
		seg := make([]byte, 4+n)
		seg[0], seg[1] = 0xFF, 0xE1
		binary.BigEndian.PutUint16(seg[2:], uint16(n+2))
		out.Write(seg)
		extra -= n
	}
	out.Write(src[2:])
	return out.Bytes()
}

func TestProbeImage(t *testing.T) {
	png := readFixture(t, "image.png")
	jpg := readFixture(t, "image.jpg")
	tests := []struct {
		name        string
		body        []byte
		contentType string
		want        ImageInfo
		kind        error
		message     string
	}{
		{name: "png", body: png, contentType: "image/png", want: ImageInfo{Format: "png", Width: 64, Height: 32, Size: int64(len(png))}},
		{name: "jpeg", body: jpg, contentType: "image/jpeg", want: ImageInfo{Format: "jpeg", Width: 48, Height: 40, Size: int64(len(jpg))}},
		{name: "png served as text/html", body: png, contentType: "text/html", want: ImageInfo{Format: "png", Width: 64, Height: 32, Size: int64(len(png))}},
		{name: "jpeg with 120 KiB of EXIF", body: jpegWithAPP(t, 120<<10), contentType: "image/jpeg", want: ImageInfo{Format: "jpeg", Width: 48, Height: 40, Size: int64(len(jpg) + 120<<10 + 8)}},
		{name: "jpeg size beyond the cap", body: jpegWithAPP(t, 300<<10), contentType: "image/jpeg", kind: ErrUnsupported, message: "could not find the image size in the first 256 KiB of the file"},
		{name: "webp", body: readFixture(t, "image.webp"), contentType: "image/png", kind: ErrUnsupported, message: "WebP images are not supported — use PNG or JPEG"},
		{name: "gif named png", body: readFixture(t, "image.gif"), contentType: "image/png", kind: ErrUnsupported, message: "GIF images are not supported — use PNG or JPEG"},
		{name: "html", body: []byte("<!DOCTYPE html><html><head><title>Photo</title></head><body><img src=x.png></body></html>"), contentType: "image/png", kind: ErrUnsupported, message: "this link returns a web page, not an image"},
		{name: "svg", body: []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>`), contentType: "image/svg+xml", kind: ErrUnsupported, message: "SVG images are not supported — use PNG or JPEG"},
		{name: "json", body: []byte(`{"error":"nope"}`), contentType: "application/json", kind: ErrUnsupported, message: "this link returns text, not an image"},
		{name: "mp4", body: readFixture(t, "faststart.mp4"), contentType: "image/png", kind: ErrUnsupported, message: "this link points to a video, not an image"},
		{name: "random bytes", body: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 0xfe}, contentType: "image/png", kind: ErrUnsupported, message: "this link does not point to a PNG or JPEG image"},
		{name: "empty", body: []byte{}, contentType: "image/png", kind: ErrUnsupported, message: "the link returned an empty file"},
		{name: "truncated png", body: png[:20], contentType: "image/png", kind: ErrCorrupt, message: "the PNG image is damaged or incomplete"},
		{name: "truncated jpeg", body: jpg[:30], contentType: "image/jpeg", kind: ErrCorrupt, message: "the JPEG image is damaged or incomplete"},
	}
	for _, noRange := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if noRange {
				name += " without Range"
			}
			t.Run(name, func(t *testing.T) {
				fs := newFileServer(t, bytesFile(tt.body), noRange)
				fs.contentType = tt.contentType
				p := localProber(t, ProberOptions{})
				got, err := p.ProbeImage(context.Background(), fs.URL+"/picture.png")
				if tt.kind != nil {
					e := wantKind(t, err, tt.kind)
					if e.Message != tt.message {
						t.Errorf("message = %q, want %q", e.Message, tt.message)
					}
					return
				}
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				if got != tt.want {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
				if r := fs.requestedRanges(); len(r) != 1 || r[0] != "bytes=0-262143" {
					t.Errorf("requests = %q, want one with bytes=0-262143", r)
				}
			})
		}
	}
}

// A 1 GiB "PNG" costs a few KiB, with or without Range support.
func TestProbeImageReadsOnlyTheHeader(t *testing.T) {
	png := readFixture(t, "image.png")
	open := func() io.ReadSeeker { return newVirtualFile(part{data: png[:33]}, part{zeros: 1 << 30}) }
	for _, noRange := range []bool{false, true} {
		fs := newFileServer(t, open, noRange)
		p := localProber(t, ProberOptions{})
		got, err := p.ProbeImage(context.Background(), fs.URL+"/huge.png")
		if err != nil {
			t.Fatalf("noRange=%v: %v", noRange, err)
		}
		if got.Width != 64 || got.Height != 32 || got.Size != 1<<30+33 {
			t.Errorf("noRange=%v: got %+v", noRange, got)
		}
		if n := p.Fetcher().Stats().BytesRead; n > 4096 {
			t.Errorf("noRange=%v: read %d bytes, want at most 4096", noRange, n)
		}
	}
}

func TestProbeImageHTTPErrors(t *testing.T) {
	for _, tt := range []struct {
		code int
		want string
	}{{404, "the server answered 404 Not Found"}, {403, "the server answered 403 Forbidden"}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>nope</html>", tt.code)
		}))
		p := localProber(t, ProberOptions{})
		_, err := p.ProbeImage(context.Background(), srv.URL+"/a.png")
		srv.Close()
		e := wantKind(t, err, ErrHTTPStatus)
		if e.Message != tt.want {
			t.Errorf("message = %q, want %q", e.Message, tt.want)
		}
	}
}
