package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestProbeVideo(t *testing.T) {
	fast := readFixture(t, "faststart.mp4")
	end := readFixture(t, "moov_end.mp4")
	want := VideoInfo{Duration: 2, Width: 64, Height: 48, Codec: "avc1", Size: int64(len(fast)), FastStart: true}
	wantEnd := want
	wantEnd.FastStart = false

	tests := []struct {
		name       string
		body       []byte
		want       VideoInfo
		wantRanges []string // with Range support
	}{
		{"faststart", fast, want, []string{"bytes=0-65535"}},
		{"moov at end", end, wantEnd, []string{"bytes=0-65535"}}, // the head holds the whole small file
		{"mpeg4 part 2", readFixture(t, "mpeg4.mp4"), VideoInfo{Duration: 1, Width: 80, Height: 60, Codec: "mp4v", FastStart: true}, []string{"bytes=0-65535"}},
		{"rotated 90°", readFixture(t, "rotated.mp4"), VideoInfo{Duration: 2, Width: 48, Height: 64, Codec: "avc1", FastStart: true}, []string{"bytes=0-65535"}},
	}
	for _, noRange := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if noRange {
				name += " without Range"
			}
			t.Run(name, func(t *testing.T) {
				fs := newFileServer(t, bytesFile(tt.body), noRange)
				p := localProber(t, ProberOptions{})
				got, err := p.ProbeVideo(context.Background(), fs.URL+"/v.mp4")
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				w := tt.want
				w.Size = int64(len(tt.body))
				if got != w {
					t.Errorf("got %+v, want %+v", got, w)
				}
				if r := fs.requestedRanges(); !noRange && fmt.Sprint(r) != fmt.Sprint(tt.wantRanges) {
					t.Errorf("ranges = %q, want %q", r, tt.wantRanges)
				}
			})
		}
	}
}

// moov after a large mdat costs exactly two ranged reads: the head, then
// moov itself at its offset for exactly its size.
func TestProbeVideoMoovAtEndTwoRangedReads(t *testing.T) {
	for _, large := range []bool{false, true} {
		t.Run(fmt.Sprintf("largesize mdat=%v", large), func(t *testing.T) {
			const total = 1 << 30
			open, moovSize := bigMP4(t, total, false, large)
			fs := newFileServer(t, open, false)
			p := localProber(t, ProberOptions{})
			got, err := p.ProbeVideo(context.Background(), fs.URL+"/big.mp4")
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			want := VideoInfo{Duration: 2, Width: 64, Height: 48, Codec: "avc1", Size: total, FastStart: false}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
			wantRanges := []string{"bytes=0-65535", fmt.Sprintf("bytes=%d-%d", total-moovSize, total-1)}
			if r := fs.requestedRanges(); fmt.Sprint(r) != fmt.Sprint(wantRanges) {
				t.Errorf("ranges = %q, want %q", r, wantRanges)
			}
			if n, max := p.Fetcher().Stats().BytesRead, int64(64<<10)+moovSize; n > max {
				t.Errorf("read %d bytes, want at most %d", n, max)
			}
			if n, max := fs.bytesOut.Load(), int64(64<<10)+moovSize; n > max {
				t.Errorf("server sent %d bytes, want at most %d", n, max)
			}
		})
	}
}

// A 1 GiB faststart video: only the 64 KiB head is read.
func TestProbeVideoHugeFastStartReadsOnlyTheHead(t *testing.T) {
	open, _ := bigMP4(t, 1<<30, true, true)
	fs := newFileServer(t, open, false)
	p := localProber(t, ProberOptions{})
	got, err := p.ProbeVideo(context.Background(), fs.URL+"/big.mp4")
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	if got.Duration != 2 || got.Size != 1<<30 || !got.FastStart {
		t.Errorf("got %+v", got)
	}
	if r := fs.requestedRanges(); len(r) != 1 {
		t.Errorf("ranges = %q, want one request", r)
	}
	if n := p.Fetcher().Stats().BytesRead; n > 64<<10 {
		t.Errorf("read %d bytes, want at most 64 KiB", n)
	}
}

// Without Range support, a huge file is read only up to StreamBytes: enough
// for a faststart file, and for moov at the end a typed ErrNoDuration.
func TestProbeVideoHugeWithoutRange(t *testing.T) {
	const streamCap = 1 << 20
	t.Run("moov at end", func(t *testing.T) {
		open, _ := bigMP4(t, 1<<30, false, false)
		fs := newFileServer(t, open, true)
		p := localProber(t, ProberOptions{StreamBytes: streamCap})
		_, err := p.ProbeVideo(context.Background(), fs.URL+"/big.mp4")
		e := wantKind(t, err, ErrNoDuration)
		if want := "could not read the video's length — enter the duration"; e.Message != want {
			t.Errorf("message = %q, want %q", e.Message, want)
		}
		if n := p.Fetcher().Stats().BytesRead; n > streamCap {
			t.Errorf("read %d bytes, want at most %d", n, streamCap)
		}
	})
	t.Run("faststart", func(t *testing.T) {
		open, _ := bigMP4(t, 1<<30, true, false)
		fs := newFileServer(t, open, true)
		p := localProber(t, ProberOptions{StreamBytes: streamCap})
		got, err := p.ProbeVideo(context.Background(), fs.URL+"/big.mp4")
		if err != nil {
			t.Fatalf("error = %v", err)
		}
		if got.Duration != 2 || got.Width != 64 || got.Size != 1<<30 {
			t.Errorf("got %+v", got)
		}
		if n := p.Fetcher().Stats().BytesRead; n > 64<<10 {
			t.Errorf("read %d bytes, want at most 64 KiB", n)
		}
	})
}

// A faststart file whose moov straddles the end of the head: the second
// read fetches only the missing part.
func TestProbeVideoMoovStraddlesHead(t *testing.T) {
	boxes := topBoxes(t, readFixture(t, "faststart.mp4"))
	pad := make([]byte, 65536-len(boxes["ftyp"])-1000) // moov starts 1000 bytes before the head ends
	free := append(boxHeader("free", int64(len(pad)+8), false), pad...)
	file := bytes.Join([][]byte{boxes["ftyp"], free, boxes["moov"], boxHeader("mdat", 8+5000, false), make([]byte, 5000)}, nil)
	moovEnd := len(boxes["ftyp"]) + len(free) + len(boxes["moov"])
	fs := newFileServer(t, bytesFile(file), false)
	p := localProber(t, ProberOptions{})
	got, err := p.ProbeVideo(context.Background(), fs.URL+"/v.mp4")
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	if got.Duration != 2 || !got.FastStart {
		t.Errorf("got %+v", got)
	}
	want := []string{"bytes=0-65535", fmt.Sprintf("bytes=65536-%d", moovEnd-1)}
	if r := fs.requestedRanges(); fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("ranges = %q, want %q", r, want)
	}
}

func TestProbeVideoBadInput(t *testing.T) {
	fast := readFixture(t, "faststart.mp4")
	end := readFixture(t, "moov_end.mp4")
	boxes := topBoxes(t, fast)
	ftyp, moov := boxes["ftyp"], boxes["moov"]

	tests := []struct {
		name    string
		body    []byte
		opts    ProberOptions
		kind    error
		message string
	}{
		{name: "html", body: []byte("<!doctype html><html><body>Video player</body></html>"), kind: ErrUnsupported, message: "this link returns a web page, not a video"},
		{name: "png", body: readFixture(t, "image.png"), kind: ErrUnsupported, message: "this link points to an image, not a video"},
		{name: "webm", body: []byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01}, kind: ErrUnsupported, message: "WebM and MKV videos are not supported — use MP4"},
		{name: "random", body: bytes.Repeat([]byte{0xAB}, 100), kind: ErrUnsupported, message: "this link does not point to an MP4 video"},
		{name: "empty", body: []byte{}, kind: ErrUnsupported, message: "the link returned an empty file"},
		{name: "audio only", body: readFixture(t, "audio_only.mp4"), kind: ErrUnsupported, message: "this MP4 contains only sound, no video"},
		{name: "truncated in moov (faststart)", body: fast[:1000], kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "truncated in moov (at end)", body: end[:8000], kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "truncated in mdat", body: end[:5000], kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "no moov", body: bytes.Join([][]byte{ftyp, boxHeader("mdat", 108, false), make([]byte, 100)}, nil), kind: ErrCorrupt, message: "the video has no index (moov box) — it may be incomplete"},
		{name: "mdat to end of file before moov", body: bytes.Join([][]byte{ftyp, boxHeader("mdat", 0, false), make([]byte, 100), moov}, nil), kind: ErrCorrupt, message: "the video has no index (moov box) — it may be incomplete"},
		{name: "garbage box after ftyp", body: bytes.Join([][]byte{ftyp, {0, 0, 0, 16, 0xff, 0, 0x01, 0x02}, make([]byte, 8)}, nil), kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "box smaller than its header", body: bytes.Join([][]byte{ftyp, {0, 0, 0, 4, 'f', 'r', 'e', 'e'}}, nil), kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "damaged moov", body: bytes.Join([][]byte{ftyp, boxHeader("moov", 24, false), {0, 0, 0, 200, 'm', 'v', 'h', 'd'}, make([]byte, 8)}, nil), kind: ErrCorrupt, message: "the video file is incomplete or damaged"},
		{name: "moov over the cap", body: fast, opts: ProberOptions{MaxMoovBytes: 1000}, kind: ErrNoDuration, message: "could not read the video's length — enter the duration"},
	}
	for _, noRange := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if noRange {
				name += " without Range"
			}
			t.Run(name, func(t *testing.T) {
				fs := newFileServer(t, bytesFile(tt.body), noRange)
				p := localProber(t, tt.opts)
				_, err := p.ProbeVideo(context.Background(), fs.URL+"/v.mp4")
				e := wantKind(t, err, tt.kind)
				if e.Message != tt.message {
					t.Errorf("message = %q, want %q", e.Message, tt.message)
				}
			})
		}
	}
}

// The last box may run to the end of the file (size 0), and boxes may use
// 64-bit sizes.
func TestProbeVideoBoxSizeForms(t *testing.T) {
	boxes := topBoxes(t, readFixture(t, "faststart.mp4"))
	ftyp, moov := boxes["ftyp"], boxes["moov"]
	payload := make([]byte, 3000)
	tests := []struct {
		name string
		body []byte
		fast bool
	}{
		{"mdat to EOF after moov", bytes.Join([][]byte{ftyp, moov, boxHeader("mdat", 0, false), payload}, nil), true},
		{"largesize mdat before moov", bytes.Join([][]byte{ftyp, boxHeader("mdat", 16+3000, true), payload, moov}, nil), false},
		{"moov to EOF", bytes.Join([][]byte{ftyp, boxHeader("mdat", 8+3000, false), payload, append([]byte{0, 0, 0, 0}, moov[4:]...)}, nil), false},
	}
	for _, noRange := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s noRange=%v", tt.name, noRange), func(t *testing.T) {
				fs := newFileServer(t, bytesFile(tt.body), noRange)
				got, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), fs.URL+"/v.mp4")
				if err != nil {
					t.Fatalf("error = %v", err)
				}
				if got.Duration != 2 || got.Width != 64 || got.FastStart != tt.fast {
					t.Errorf("got %+v", got)
				}
			})
		}
	}
}

// Reads of a 1 GiB file never go beyond what the probe asked for.
func TestVirtualFile(t *testing.T) {
	v := newVirtualFile(part{data: []byte("abc")}, part{zeros: 5}, part{data: []byte("xyz")})
	b, err := io.ReadAll(v)
	if err != nil || string(b) != "abc\x00\x00\x00\x00\x00xyz" {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	v.Seek(6, io.SeekStart)
	b, _ = io.ReadAll(v)
	if string(b) != "\x00\x00xyz" {
		t.Errorf("after Seek(6) = %q", b)
	}
}

// Some servers answer ranges without the total size ("bytes 0-65535/*").
func TestProbeVideoUnknownTotalSize(t *testing.T) {
	const total = 1 << 30
	open, moovSize := bigMP4(t, total, false, false)
	var ranges []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range"))
		var a, b int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil {
			t.Errorf("bad Range %q", r.Header.Get("Range"))
			return
		}
		b = min(b, total-1)
		f := open()
		f.Seek(a, io.SeekStart)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", a, b))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		io.CopyN(w, f, b-a+1)
	}))
	defer srv.Close()
	p := localProber(t, ProberOptions{})
	got, err := p.ProbeVideo(context.Background(), srv.URL+"/v.mp4")
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	want := VideoInfo{Duration: 2, Width: 64, Height: 48, Codec: "avc1", Size: -1}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if len(ranges) != 2 {
		t.Errorf("ranges = %q, want 2 requests", ranges)
	}
	if n, max := p.Fetcher().Stats().BytesRead, int64(64<<10)+moovSize; n > max {
		t.Errorf("read %d bytes, want at most %d", n, max)
	}
}
