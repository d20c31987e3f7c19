package akoolsim

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

const (
	testKey    = "0123456789abcdef0123456789abcdef" // API key == clientSecret, 32 bytes -> AES-256
	testClient = "64db241f6d9e5c4bd136c187"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// inputs serves the media a job can point at.
type inputs struct {
	*httptest.Server
	clip []byte
}

func newInputs(t *testing.T) *inputs {
	t.Helper()
	clip, err := os.ReadFile("testdata/plain-3.5s.mp4")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"/img.png":  append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 100)...),
		"/img.jpg":  append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 100)...),
		"/text.txt": []byte("hello, I am not an image or a video"),
		"/clip.mp4": clip,
		"/long.mp4": craftMP4(1000, 130_000),
	}
	in := &inputs{clip: clip}
	in.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(in.Close)
	return in
}

// craftMP4 builds the smallest file our checks accept: ftyp + moov/mvhd v0.
func craftMP4(timescale, duration uint32) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 16})
	b.WriteString("ftypisom")
	b.Write([]byte{0, 0, 2, 0})
	mvhd := make([]byte, 108)
	binary.BigEndian.PutUint32(mvhd[0:], 108)
	copy(mvhd[4:], "mvhd")
	binary.BigEndian.PutUint32(mvhd[20:], timescale)
	binary.BigEndian.PutUint32(mvhd[24:], duration)
	binary.BigEndian.PutUint32(mvhd[28:], 0x00010000)
	binary.BigEndian.PutUint16(mvhd[32:], 0x0100)
	binary.BigEndian.PutUint32(mvhd[104:], 2)
	var moov [8]byte
	binary.BigEndian.PutUint32(moov[0:], 8+108)
	copy(moov[4:], "moov")
	b.Write(moov[:])
	b.Write(mvhd)
	return b.Bytes()
}

type harness struct {
	sim   *Sim
	srv   *httptest.Server
	clock *FakeClock
	in    *inputs
}

// newHarness starts a Sim on a fake clock with 1 min queue and 2 min
// processing, 1000 credits, and the input server.
func newHarness(t *testing.T, mut func(*Config)) *harness {
	t.Helper()
	h := &harness{clock: NewFakeClock(t0), in: newInputs(t)}
	cfg := Config{
		APIKey: testKey, ClientID: testClient, ClientSecret: testKey, Credits: 1000,
		Now: h.clock.Now, QueueDelay: time.Minute, ProcessDelay: 2 * time.Minute,
		Tick: 5 * time.Millisecond, WebhookBackoff: time.Second,
	}
	if mut != nil {
		mut(&cfg)
	}
	h.sim = New(cfg)
	h.srv = httptest.NewServer(h.sim)
	t.Cleanup(h.srv.Close)
	t.Cleanup(h.sim.Close) // runs first: unblocks hanging handlers
	return h
}

type reply struct {
	HTTP  int
	Code  int                        `json:"code"`
	Msg   string                     `json:"msg"`
	Token string                     `json:"token"`
	Data  map[string]json.RawMessage `json:"data"`
	Raw   string
	Keys  []string // top-level keys
}

func (h *harness) call(t *testing.T, method, path string, hdr map[string]string, body string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if hdr == nil {
		hdr = map[string]string{"x-api-key": testKey}
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{HTTP: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r)
	var top map[string]json.RawMessage
	_ = json.Unmarshal(raw, &top)
	for k := range top {
		r.Keys = append(r.Keys, k)
	}
	return r
}

func (h *harness) create(t *testing.T, body string) reply {
	t.Helper()
	return h.call(t, http.MethodPost, "/api/open/v4/characterSwap/create", nil, body)
}

func (h *harness) poll(t *testing.T, id string) reply {
	t.Helper()
	return h.call(t, http.MethodGet, "/api/open/v3/content/video/infobymodelid?video_model_id="+id, nil, "")
}

// okBody is a create body with good inputs on the input server.
func (h *harness) okBody(extra string) string {
	b := `{"image":"` + h.in.URL + `/img.png","video":"` + h.in.URL + `/clip.mp4"`
	if extra != "" {
		b += "," + extra
	}
	return b + "}"
}

func (r reply) str(t *testing.T, key string) string {
	t.Helper()
	var s string
	if v, ok := r.Data[key]; ok {
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatalf("data.%s = %s: not a string", key, v)
		}
	}
	return s
}

func (r reply) num(t *testing.T, key string) float64 {
	t.Helper()
	var f float64
	if v, ok := r.Data[key]; ok {
		if err := json.Unmarshal(v, &f); err != nil {
			t.Fatalf("data.%s = %s: not a number", key, v)
		}
	}
	return f
}

func (r reply) mustOK(t *testing.T) reply {
	t.Helper()
	if r.HTTP != http.StatusOK || r.Code != 1000 {
		t.Fatalf("got HTTP %d code %d (%s), want 200 and code 1000", r.HTTP, r.Code, r.Raw)
	}
	return r
}

// waitFor polls cond until it holds. The bound only stops a broken test
// from hanging; nothing here asserts on elapsed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// finish drives a job to a final status: advance past both delays and wait
// for the input fetch.
func (h *harness) finish(t *testing.T, id string) JobInfo {
	t.Helper()
	h.clock.Advance(3 * time.Minute)
	var info JobInfo
	waitFor(t, "job "+id+" to be final", func() bool {
		info, _ = h.sim.Job(id)
		return info.Status.Final()
	})
	return info
}

// resultURLRE is a result URL's last part: the id, and 128 random bits as 32 hex digits.
var resultURLRE = regexp.MustCompile(`^/results/([0-9a-f]{24})-([0-9a-f]{32})\.mp4$`)

// checkResultURL fails unless u is base + "/results/<id>-<32 hex>.mp4", and
// returns the random part.
func checkResultURL(t *testing.T, u, base, id string) string {
	t.Helper()
	rest, ok := strings.CutPrefix(u, base)
	m := resultURLRE.FindStringSubmatch(rest)
	if !ok || m == nil || m[1] != id {
		t.Fatalf("result URL: got %q, want %s/results/%s-<32 hex digits>.mp4", u, base, id)
	}
	return m[2]
}
