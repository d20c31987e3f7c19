package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// cappingServer answers Range requests with at most maxBody bytes (a 206
// whose Content-Range says so), as some CDNs do.
func cappingServer(t *testing.T, open func() io.ReadSeeker, size, maxBody int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		var a, b int64
		if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &a, &b); err != nil {
			t.Errorf("bad Range %q", r.Header.Get("Range"))
			return
		}
		b = min(b, size-1, a+maxBody-1)
		f := open()
		f.Seek(a, io.SeekStart)
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", a, b, size))
		w.Header().Set("Content-Length", strconv.FormatInt(b-a+1, 10))
		w.WriteHeader(http.StatusPartialContent)
		io.CopyN(w, f, b-a+1)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A server that sends at most 16 KiB per 206 answer still gives the length
// of a file whose moov is at the end: the known total is kept, not replaced
// by the length of the short head.
func TestProbeVideoServerCapsPartialAnswers(t *testing.T) {
	const total = 8 << 20
	open, _ := bigMP4(t, total, false, false)
	srv, _ := cappingServer(t, open, total, 16<<10)
	got, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), srv.URL+"/v.mp4")
	if err != nil {
		t.Fatalf("error = %v", err)
	}
	want := VideoInfo{Duration: 2, Width: 64, Height: 48, Codec: "avc1", Size: total}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// Every box header far from the last one costs a ranged read; a probe stops
// after maxVideoRequests of them and asks the member for the duration.
func TestProbeVideoRequestCap(t *testing.T) {
	boxes := topBoxes(t, readFixture(t, "faststart.mp4"))
	const freeSize = 1 << 20
	parts := []part{{data: boxes["ftyp"]}}
	for range 20 {
		parts = append(parts, part{data: boxHeader("free", freeSize, false)}, part{zeros: freeSize - 8})
	}
	parts = append(parts, part{data: boxes["moov"]})
	open := func() io.ReadSeeker { return newVirtualFile(parts...) }
	fs := newFileServer(t, open, false)
	_, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), fs.URL+"/v.mp4")
	e := wantKind(t, err, ErrNoDuration)
	if e.Message != msgNoDuration {
		t.Errorf("message = %q", e.Message)
	}
	if n := len(fs.requestedRanges()); n != maxVideoRequests {
		t.Errorf("%d requests, want exactly the cap of %d", n, maxVideoRequests)
	}
}

// A server that honours the first Range but answers a later one with the
// whole file (200) is not read as if the body started at the asked offset.
func TestProbeVideoLaterRangeAnsweredWith200(t *testing.T) {
	const total = 1 << 30
	open, _ := bigMP4(t, total, false, false)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			http.ServeContent(w, r, "", time.Time{}, open())
			return
		}
		w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
		io.Copy(w, open()) // ignores Range from now on
	}))
	defer srv.Close()
	p := localProber(t, ProberOptions{})
	_, err := p.ProbeVideo(context.Background(), srv.URL+"/v.mp4")
	wantKind(t, err, ErrNoDuration)
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	if n := p.Fetcher().Stats().BytesRead; n > 64<<10 {
		t.Errorf("read %d bytes of the 200 answer, want none past the head", n)
	}
}

// A file of thousands of tiny boxes stops at maxTopLevelBoxes.
func TestProbeVideoTooManyBoxes(t *testing.T) {
	boxes := topBoxes(t, readFixture(t, "faststart.mp4"))
	var b bytes.Buffer
	b.Write(boxes["ftyp"])
	for range maxTopLevelBoxes + 10 {
		b.Write(boxHeader("free", 8, false))
	}
	b.Write(boxes["moov"])
	if b.Len() > DefaultVideoHeadBytes {
		t.Fatalf("test file of %d bytes does not fit the head", b.Len())
	}
	for _, noRange := range []bool{false, true} {
		fs := newFileServer(t, bytesFile(b.Bytes()), noRange)
		_, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), fs.URL+"/v.mp4")
		e := wantKind(t, err, ErrCorrupt)
		if want := "the video file has too many parts"; e.Message != want {
			t.Errorf("noRange=%v: message = %q, want %q", noRange, e.Message, want)
		}
	}
}

// An encrypted video track (sample entry encv) is refused as DRM.
func TestProbeVideoEncrypted(t *testing.T) {
	file := readFixture(t, "faststart.mp4")
	boxes := topBoxes(t, file)
	moov := boxes["moov"]
	if n := bytes.Count(moov, []byte("avc1")); n != 1 {
		t.Fatalf("fixture moov has %d avc1 boxes, want 1", n)
	}
	encMoov := bytes.Replace(moov, []byte("avc1"), []byte("encv"), 1)
	enc := bytes.Join([][]byte{boxes["ftyp"], encMoov, boxes["free"], boxes["mdat"]}, nil)
	if len(enc) != len(file) {
		t.Fatalf("rebuilt file has %d bytes, want %d", len(enc), len(file))
	}
	fs := newFileServer(t, bytesFile(enc), false)
	_, err := localProber(t, ProberOptions{}).ProbeVideo(context.Background(), fs.URL+"/v.mp4")
	e := wantKind(t, err, ErrUnsupported)
	if want := "this video is encrypted (DRM) and cannot be used"; e.Message != want {
		t.Errorf("message = %q, want %q", e.Message, want)
	}
}
