package media

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
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
