package akoolsim

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/akool"
)

const quotaPath = "/api/open/v3/faceswap/quota/info"

func (h *harness) token(t *testing.T) string {
	t.Helper()
	r := h.call(t, http.MethodPost, "/api/open/v3/getToken", map[string]string{"Content-Type": "application/json"},
		`{"clientId":"`+testClient+`","clientSecret":"`+testKey+`"}`).mustOK(t)
	return r.Token
}

func TestGetToken(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name     string
		body     string
		banned   bool
		wantCode int
	}{
		{"valid", `{"clientId":"` + testClient + `","clientSecret":"` + testKey + `"}`, false, 1000},
		{"wrong secret", `{"clientId":"` + testClient + `","clientSecret":"nope"}`, false, 1101},
		{"wrong clientId", `{"clientId":"x","clientSecret":"` + testKey + `"}`, false, 1101},
		{"empty secret", `{"clientId":"` + testClient + `"}`, false, 1102},
		{"not JSON", `clientId=x`, false, 1102},
		{"banned", `{"clientId":"` + testClient + `","clientSecret":"` + testKey + `"}`, true, 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.sim.SetBanned(tt.banned)
			defer h.sim.SetBanned(false)
			r := h.call(t, http.MethodPost, "/api/open/v3/getToken", map[string]string{}, tt.body)
			if r.HTTP != 200 || r.Code != tt.wantCode {
				t.Fatalf("got HTTP %d code %d, want 200 code %d (%s)", r.HTTP, r.Code, tt.wantCode, r.Raw)
			}
			if tt.wantCode == 1000 {
				slices.Sort(r.Keys)
				if got, want := strings.Join(r.Keys, ","), "code,token"; got != want || r.Token == "" {
					t.Errorf("keys: got %s (token %q), want %s with the token at the top level", got, r.Token, want)
				}
			}
		})
	}
}

func TestAuthPrecedence(t *testing.T) {
	h := newHarness(t, nil)
	tok := h.token(t)
	tests := []struct {
		name     string
		hdr      map[string]string
		banned   bool
		wantCode int
	}{
		{"neither header", map[string]string{}, false, 1102},
		{"empty x-api-key", map[string]string{"x-api-key": ""}, false, 1102},
		{"valid key", map[string]string{"x-api-key": testKey}, false, 1000},
		{"unknown key", map[string]string{"x-api-key": "nope"}, false, 1101},
		{"key is clientId", map[string]string{"x-api-key": testClient}, false, 1101},
		{"valid bearer", map[string]string{"Authorization": "Bearer " + tok}, false, 1000},
		{"bad bearer beats valid key", map[string]string{"Authorization": "Bearer nope", "x-api-key": testKey}, false, 1101},
		{"valid bearer ignores bad key", map[string]string{"Authorization": "Bearer " + tok, "x-api-key": "nope"}, false, 1000},
		{"not a bearer scheme", map[string]string{"Authorization": "Basic " + tok, "x-api-key": testKey}, false, 1101},
		{"bare token", map[string]string{"Authorization": tok}, false, 1101},
		{"banned with valid key", map[string]string{"x-api-key": testKey}, true, 1200},
		{"banned with bad key is still 1101", map[string]string{"x-api-key": "nope"}, true, 1101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.sim.SetBanned(tt.banned)
			defer h.sim.SetBanned(false)
			for _, path := range []string{quotaPath, "/api/open/v3/content/video/infobymodelid?video_model_id=x"} {
				r := h.call(t, http.MethodGet, path, tt.hdr, "")
				want := tt.wantCode
				if want == 1000 && strings.Contains(path, "infobymodelid") {
					want = 1008 // authorized, but the id is unknown
				}
				if r.HTTP != 200 || r.Code != want {
					t.Errorf("%s: got HTTP %d code %d, want 200 code %d (%s)", path, r.HTTP, r.Code, want, r.Raw)
				}
			}
		})
	}
}

func TestTokenExpiryAndRevocation(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.TokenTTL = time.Hour })
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	tok := h.token(t)
	if r := h.call(t, http.MethodGet, quotaPath, bearer(tok), ""); r.Code != 1000 {
		t.Fatalf("fresh token: got code %d, want 1000", r.Code)
	}
	h.clock.Advance(time.Hour)
	if r := h.call(t, http.MethodGet, quotaPath, bearer(tok), ""); r.Code != 1101 {
		t.Errorf("expired token: got code %d, want 1101", r.Code)
	}
	tok = h.token(t)
	h.sim.RevokeTokens()
	if r := h.call(t, http.MethodGet, quotaPath, bearer(tok), ""); r.Code != 1101 {
		t.Errorf("revoked token: got code %d, want 1101", r.Code)
	}
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, nil)
	img, vid := `"image":"`+h.in.URL+`/img.png"`, `"video":"`+h.in.URL+`/clip.mp4"`
	both := img + "," + vid
	tests := []struct {
		name     string
		body     string
		wantCode int
	}{
		{"minimal", "{" + both + "}", 1000},
		{"missing image", "{" + vid + "}", 1003},
		{"missing video", "{" + img + "}", 1003},
		{"empty image", `{"image":"",` + vid + "}", 1003},
		{"blank video", `{` + img + `,"video":"  "}`, 1003},
		{"image not a string", `{"image":1,` + vid + "}", 1003},
		{"image_url and video_url names", `{"image_url":"` + h.in.URL + `/img.png","video_url":"` + h.in.URL + `/clip.mp4"}`, 1003},
		{"not JSON", `image=x`, 1003},
		{"JSON array", `[]`, 1003},
		{"duration 1", "{" + both + `,"duration":1}`, 1000},
		{"duration 120", "{" + both + `,"duration":120}`, 1000},
		{"duration 10.5", "{" + both + `,"duration":10.5}`, 1000},
		{"duration null", "{" + both + `,"duration":null}`, 1000},
		{"duration 0", "{" + both + `,"duration":0}`, 1003},
		{"duration 0.5", "{" + both + `,"duration":0.5}`, 1003},
		{"duration 121", "{" + both + `,"duration":121}`, 1003},
		{"duration -5", "{" + both + `,"duration":-5}`, 1003},
		{"duration string", "{" + both + `,"duration":"10"}`, 1003},
		{"resolution 480p", "{" + both + `,"resolution":"480p"}`, 1000},
		{"resolution 1080p", "{" + both + `,"resolution":"1080p"}`, 1000},
		{"resolution 4k", "{" + both + `,"resolution":"4k"}`, 1003},
		{"resolution 720P", "{" + both + `,"resolution":"720P"}`, 1003},
		{"mode replace", "{" + both + `,"mode":"replace"}`, 1000},
		{"mode swap", "{" + both + `,"mode":"swap"}`, 1003},
		{"prompt 500 runes", "{" + both + `,"prompt":"` + strings.Repeat("é", 500) + `"}`, 1000},
		{"prompt 501 runes", "{" + both + `,"prompt":"` + strings.Repeat("a", 501) + `"}`, 1003},
		{"model_name default", "{" + both + `,"model_name":"wavespeed-ai/wan-2.2/animate"}`, 1000},
		{"model_name empty", "{" + both + `,"model_name":""}`, 1000},
		{"model_name kling", "{" + both + `,"model_name":"kwaivgi/kling-v2.6-pro/motion-control"}`, 1003},
		{"webhookurl empty", "{" + both + `,"webhookurl":""}`, 1000},
		{"unknown fields ignored", "{" + both + `,"negative_prompt":"x","foo":[1]}`, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.create(t, tt.body)
			if r.HTTP != 200 || r.Code != tt.wantCode {
				t.Errorf("got HTTP %d code %d, want 200 code %d (%s)", r.HTTP, r.Code, tt.wantCode, r.Raw)
			}
			if tt.wantCode != 1000 && r.Data != nil {
				t.Errorf("error envelope has data: %s", r.Raw)
			}
		})
	}
}

func TestCreateResponseShape(t *testing.T) {
	h := newHarness(t, nil)
	tests := []struct {
		name           string
		extra          string
		wantRes        string
		wantMode       string
		wantWebhook    string
		wantDuration   float64
		wantDeduction  float64
		wantPromptEcho string
	}{
		{"defaults", "", "720p", "animate", "", 10, 20, ""},
		{"docs example", `"duration":10,"resolution":"720p","mode":"animate","prompt":"Smooth","webhookurl":"https://cb.example/webhook"`, "720p", "animate", "https://cb.example/webhook", 10, 20, "Smooth"},
		{"camelCase webhookUrl accepted", `"webhookUrl":"https://cb.example/w2"`, "720p", "animate", "https://cb.example/w2", 10, 20, ""},
		{"lowercase wins over camelCase", `"webhookurl":"https://a.example","webhookUrl":"https://b.example"`, "720p", "animate", "https://a.example", 10, 20, ""},
		{"12 s at 720p is 30 (docs' pricing note)", `"duration":12`, "720p", "animate", "", 12, 30, ""},
		{"480p 5 s", `"duration":5,"resolution":"480p"`, "480p", "animate", "", 5, 5, ""},
		{"1080p 120 s", `"duration":120,"resolution":"1080p","mode":"replace"`, "1080p", "replace", "", 120, 360, ""},
		{"10.5 s rounds up", `"duration":10.5`, "720p", "animate", "", 10.5, 30, ""},
	}
	idRE := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.create(t, h.okBody(tt.extra)).mustOK(t)
			if r.Msg != "OK" {
				t.Errorf("msg: got %q, want OK", r.Msg)
			}
			if id := r.str(t, "_id"); !idRE.MatchString(id) {
				t.Errorf("_id: got %q, want 24 lowercase hex", id)
			}
			ct := int64(r.num(t, "create_time"))
			if ct != t0.UnixMilli() {
				t.Errorf("create_time: got %d, want %d (ms)", ct, t0.UnixMilli())
			}
			if got, want := r.str(t, "file_name"), "CharacterSwap_"+strconv.FormatInt(ct, 10)+".mp4"; got != want {
				t.Errorf("file_name: got %q, want %q", got, want)
			}
			checks := []struct {
				key       string
				got, want any
			}{
				{"status", r.num(t, "status"), 1.0},
				{"resolution", r.str(t, "resolution"), tt.wantRes},
				{"mode", r.str(t, "mode"), tt.wantMode},
				{"webhookUrl", r.str(t, "webhookUrl"), tt.wantWebhook},
				{"video_duration", r.num(t, "video_duration"), tt.wantDuration},
				{"deduction_credit", r.num(t, "deduction_credit"), tt.wantDeduction},
				{"prompt", r.str(t, "prompt"), tt.wantPromptEcho},
				{"model_name", r.str(t, "model_name"), akool.ModelWan},
				{"image_url", r.str(t, "image_url"), h.in.URL + "/img.png"},
				{"video_url", r.str(t, "video_url"), h.in.URL + "/clip.mp4"},
				{"uid", r.num(t, "uid"), 101400.0},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.key, c.got, c.want)
				}
			}
			for _, k := range []string{"team_id", "_id", "create_time"} {
				if _, ok := r.Data[k]; !ok {
					t.Errorf("data.%s missing", k)
				}
			}
			for _, k := range []string{"video", "video_status", "update_time"} {
				if _, ok := r.Data[k]; ok {
					t.Errorf("create data has %s; Akool's create response does not", k)
				}
			}
		})
	}
}

func TestBalanceAndInsufficientCredit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Credits = 25 })
	quota := func() float64 {
		r := h.call(t, http.MethodGet, quotaPath, nil, "").mustOK(t)
		return r.num(t, "credit")
	}
	if got := quota(); got != 25 {
		t.Fatalf("quota: got %v, want 25", got)
	}
	h.create(t, h.okBody(`"duration":10`)).mustOK(t) // 20
	if got, want := h.sim.Balance(), 5; got != want {
		t.Errorf("balance after 20-credit job: got %d, want %d", got, want)
	}
	r := h.create(t, h.okBody(`"duration":6,"resolution":"480p"`)) // 10 > 5
	if r.Code != 1104 {
		t.Errorf("short balance: got code %d, want 1104 (%s)", r.Code, r.Raw)
	}
	if got := quota(); got != 5 {
		t.Errorf("quota after refused create: got %v, want 5", got)
	}
	h.create(t, h.okBody(`"duration":5,"resolution":"480p"`)).mustOK(t) // exactly 5
	if got := h.sim.Balance(); got != 0 {
		t.Errorf("balance: got %d, want 0", got)
	}
	h.sim.SetBalance(100)
	if got := quota(); got != 100 {
		t.Errorf("quota after SetBalance: got %v, want 100", got)
	}
}

func TestLifecycleWithFakeClock(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ResultTTL = 24 * time.Hour })
	id := h.create(t, h.okBody(`"duration":10`)).mustOK(t).str(t, "_id")

	r := h.poll(t, id).mustOK(t)
	if got := r.num(t, "video_status"); got != 1 {
		t.Fatalf("at create: video_status got %v, want 1", got)
	}
	if _, ok := r.Data["update_time"]; ok {
		t.Errorf("queued job has update_time: %s", r.Raw)
	}
	h.clock.Advance(time.Minute - time.Millisecond)
	if got := h.poll(t, id).num(t, "video_status"); got != 1 {
		t.Errorf("just before QueueDelay: got %v, want 1", got)
	}
	h.clock.Advance(time.Millisecond)
	if got := h.poll(t, id).num(t, "video_status"); got != 2 {
		t.Errorf("at QueueDelay: got %v, want 2", got)
	}
	info := h.finish(t, id)
	if info.Status != akool.StatusCompleted {
		t.Fatalf("status: got %v (%s), want completed", info.Status, info.FailReason)
	}
	r = h.poll(t, id).mustOK(t)
	doneAt := t0.Add(3 * time.Minute)
	if got, want := int64(r.num(t, "update_time")), doneAt.UnixMilli(); got != want {
		t.Errorf("update_time: got %d, want %d", got, want)
	}
	if got := r.num(t, "video_duration"); got != 3.5 {
		t.Errorf("video_duration: got %v, want the detected 3.5", got)
	}
	if got := r.num(t, "deduction_credit"); got != 20 {
		t.Errorf("deduction_credit: got %v, want 20 (priced on the requested 10 s)", got)
	}
	video := r.str(t, "video")
	checkResultURL(t, video, h.srv.URL, id)
	if r.str(t, "video_url") != h.in.URL+"/clip.mp4" {
		t.Errorf("video_url must stay the input: got %q", r.str(t, "video_url"))
	}
	if _, ok := r.Data["faceswap_fail_reason"]; ok {
		t.Errorf("completed job has faceswap_fail_reason: %s", r.Raw)
	}

	get := func(rng string) (int, []byte, http.Header) {
		req, _ := http.NewRequest(http.MethodGet, video, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}
	status, body, hdr := get("")
	if status != 200 || !bytes.Equal(body, h.in.clip) || hdr.Get("Content-Type") != "video/mp4" {
		t.Errorf("result: got %d %s %d bytes, want 200 video/mp4 with the input video (%d bytes)", status, hdr.Get("Content-Type"), len(body), len(h.in.clip))
	}
	status, body, hdr = get("bytes=4-7")
	if status != 206 || string(body) != "ftyp" || !strings.HasPrefix(hdr.Get("Content-Range"), "bytes 4-7/") {
		t.Errorf("range: got %d %q %q, want 206 \"ftyp\"", status, body, hdr.Get("Content-Range"))
	}
	if want := doneAt.Add(24 * time.Hour); !info.Expires.Equal(want) {
		t.Errorf("expires: got %v, want %v", info.Expires, want)
	}
	h.clock.Advance(info.Expires.Sub(h.clock.Now()) - time.Millisecond)
	if status, _, _ = get(""); status != 200 {
		t.Errorf("just before ResultTTL: got %d, want 200", status)
	}
	h.clock.Advance(time.Millisecond)
	if status, _, _ = get(""); status != 404 {
		t.Errorf("after ResultTTL: got %d, want 404", status)
	}
	if got := h.poll(t, id).num(t, "video_status"); got != 3 {
		t.Errorf("poll after expiry: got %v, want 3 (the record stays)", got)
	}
}

func TestUnknownJobAndMissingID(t *testing.T) {
	h := newHarness(t, nil)
	if r := h.poll(t, "689174694b4dbdd4ab3d28c9"); r.Code != 1008 {
		t.Errorf("unknown id: got code %d, want 1008", r.Code)
	}
	if r := h.call(t, http.MethodGet, "/api/open/v3/content/video/infobymodelid", nil, ""); r.Code != 1003 {
		t.Errorf("missing id: got code %d, want 1003", r.Code)
	}
	for _, p := range []string{"/results/689174694b4dbdd4ab3d28c9.mp4", "/results/x", "/api/open/v5/characterSwap/create"} {
		if r := h.call(t, http.MethodGet, p, nil, ""); r.HTTP != 404 {
			t.Errorf("GET %s: got HTTP %d, want 404", p, r.HTTP)
		}
	}
}

// Result URLs need no credentials, like Akool's CDN links, so they must be
// as unguessable: knowing a job id is not enough to fetch its result.
func TestResultURLHasARandomPart(t *testing.T) {
	h := newHarness(t, nil)
	a := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	b := h.create(t, h.okBody("")).mustOK(t).str(t, "_id")
	h.finish(t, a)
	h.finish(t, b)
	urlA, urlB := h.poll(t, a).mustOK(t).str(t, "video"), h.poll(t, b).mustOK(t).str(t, "video")
	keyA, keyB := checkResultURL(t, urlA, h.srv.URL, a), checkResultURL(t, urlB, h.srv.URL, b)
	if keyA == keyB {
		t.Errorf("two jobs share the random part %s", keyA)
	}
	for _, u := range []string{urlA, urlB} {
		if code, body := httpGet(t, u, nil); code != 200 || !bytes.Equal(body, h.in.clip) {
			t.Fatalf("GET %s: got HTTP %d, %d bytes, want 200 and the input clip", u, code, len(body))
		}
	}
	flip := []byte(keyA)
	if flip[0] == '0' {
		flip[0] = '1'
	} else {
		flip[0] = '0'
	}
	for _, p := range []string{
		"/results/" + a + ".mp4",                      // the old, guessable form
		"/results/" + a + "-.mp4",                     // no random part
		"/results/" + a + "-" + string(flip) + ".mp4", // one digit off
		"/results/" + a + "-" + strings.Repeat("0", 32) + ".mp4",
		"/results/" + a + "-" + keyB + ".mp4",            // another job's random part
		"/results/" + a + "-" + keyA + keyA[:2] + ".mp4", // longer
		"/results/" + a + "-" + keyA + ".MP4",
		"/results/" + keyA + ".mp4",
	} {
		if code, _ := httpGet(t, h.srv.URL+p, nil); code != 404 {
			t.Errorf("GET %s: got HTTP %d, want 404", p, code)
		}
	}
}

func TestInputChecksFailJobsAndRefund(t *testing.T) {
	h := newHarness(t, nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	tests := []struct {
		name, image, video string
		wantStatus         akool.Status
		wantReason         string
		wantDuration       float64
	}{
		{"png and mp4", h.in.URL + "/img.png", h.in.URL + "/clip.mp4", akool.StatusCompleted, "", 3.5},
		{"jpeg", h.in.URL + "/img.jpg", h.in.URL + "/clip.mp4", akool.StatusCompleted, "", 3.5},
		{"image 404", h.in.URL + "/missing.png", h.in.URL + "/clip.mp4", akool.StatusFailed, "image: HTTP 404", 10},
		{"image is text", h.in.URL + "/text.txt", h.in.URL + "/clip.mp4", akool.StatusFailed, "not a PNG or JPEG", 10},
		{"image unreachable", deadURL + "/img.png", h.in.URL + "/clip.mp4", akool.StatusFailed, "image: unreachable", 10},
		{"image not http", "ftp://x/img.png", h.in.URL + "/clip.mp4", akool.StatusFailed, "not an http(s) URL", 10},
		{"video is a PNG", h.in.URL + "/img.png", h.in.URL + "/img.png", akool.StatusFailed, "not an MP4", 10},
		{"video 404", h.in.URL + "/img.png", h.in.URL + "/nope.mp4", akool.StatusFailed, "video: HTTP 404", 10},
		{"video over 120 s", h.in.URL + "/img.png", h.in.URL + "/long.mp4", akool.StatusFailed, "exceeds 120 seconds", 130},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.sim.SetBalance(100)
			id := h.create(t, `{"image":"`+tt.image+`","video":"`+tt.video+`"}`).mustOK(t).str(t, "_id")
			if got := h.sim.Balance(); got != 80 {
				t.Errorf("balance after create: got %d, want 80", got)
			}
			info := h.finish(t, id)
			r := h.poll(t, id).mustOK(t)
			if info.Status != tt.wantStatus || r.num(t, "video_status") != float64(tt.wantStatus) {
				t.Fatalf("status: got %v / %v (%s), want %v", info.Status, r.num(t, "video_status"), info.FailReason, tt.wantStatus)
			}
			if got := r.str(t, "faceswap_fail_reason"); !strings.Contains(got, tt.wantReason) {
				t.Errorf("faceswap_fail_reason: got %q, want it to contain %q", got, tt.wantReason)
			}
			if got := r.num(t, "video_duration"); got != tt.wantDuration {
				t.Errorf("video_duration: got %v, want %v", got, tt.wantDuration)
			}
			if tt.wantStatus == akool.StatusFailed {
				if got := r.num(t, "deduction_credit"); got != 0 {
					t.Errorf("deduction_credit: got %v, want 0", got)
				}
				if _, ok := r.Data["video"]; ok {
					t.Errorf("failed job has a video: %s", r.Raw)
				}
				if got := h.sim.Balance(); got != 100 {
					t.Errorf("balance after failure: got %d, want 100 (refund)", got)
				}
			} else if got := h.sim.Balance(); got != 90 {
				// 3.5 s detected -> 1 block at 720p = 10; the 20 estimated were settled.
				t.Errorf("balance after success: got %d, want 90", got)
			}
		})
	}
}

func TestDetectedDurationNeedsCredits(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.Credits = 20; c.DefaultDuration = 1 })
	// The 1 s estimate costs 10; the detected 3.5 s also costs 10: fine.
	id := h.create(t, h.okBody(`"resolution":"720p"`)).mustOK(t).str(t, "_id")
	if info := h.finish(t, id); info.Status != akool.StatusCompleted || info.Credits != 10 {
		t.Fatalf("got %v with %d credits, want completed with 10", info.Status, info.Credits)
	}
	// The estimate costs 15 at 1080p; 3.5 s costs 15 too; with 6 credits the create is refused.
	if r := h.create(t, h.okBody(`"resolution":"1080p"`)); r.Code != 1104 {
		t.Errorf("got code %d, want 1104", r.Code)
	}
	h.sim.SetBalance(5)
	long := `{"image":"` + h.in.URL + `/img.png","video":"` + h.in.URL + `/long.mp4","resolution":"480p"}`
	id = h.create(t, long).mustOK(t).str(t, "_id") // estimate 5
	if info := h.finish(t, id); info.Status != akool.StatusFailed {
		t.Errorf("130 s video: got %v, want failed", info.Status)
	}
	if got := h.sim.Balance(); got != 5 {
		t.Errorf("balance: got %d, want 5 (refunded)", got)
	}
}

func TestSkipInputFetch(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.SkipInputFetch = true })
	id := h.create(t, `{"image":"https://nowhere.invalid/a.png","video":"https://nowhere.invalid/b.mp4"}`).mustOK(t).str(t, "_id")
	h.clock.Advance(3 * time.Minute)
	r := h.poll(t, id).mustOK(t) // no waiting: the state advances on read
	if r.num(t, "video_status") != 3 || r.num(t, "video_duration") != 10 {
		t.Fatalf("got %s, want completed with the 10 s default", r.Raw)
	}
	resp, err := http.Get(r.str(t, "video"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Equal(b, sampleMP4) {
		t.Errorf("result: got %d bytes, want the bundled sample (%d bytes)", len(b), len(sampleMP4))
	}
}

func TestMountedUnderPrefix(t *testing.T) {
	tests := []struct {
		name    string
		baseURL func(srvURL string) string
	}{
		{"derived from the request", func(string) string { return "" }},
		{"configured", func(u string) string { return u + "/sandbox/akool/" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			srv := httptest.NewServer(mux)
			defer srv.Close()
			sim := New(Config{APIKey: testKey, ClientID: testClient, Credits: 100, SkipInputFetch: true,
				QueueDelay: NoDelay, ProcessDelay: NoDelay, BaseURL: tt.baseURL(srv.URL)})
			defer sim.Close()
			mux.Handle("/sandbox/akool/", http.StripPrefix("/sandbox/akool", sim))
			h := &harness{sim: sim, srv: &httptest.Server{URL: srv.URL + "/sandbox/akool"}}
			id := h.create(t, `{"image":"https://x.invalid/a.png","video":"https://x.invalid/b.mp4"}`).mustOK(t).str(t, "_id")
			video := h.poll(t, id).mustOK(t).str(t, "video")
			checkResultURL(t, video, srv.URL+"/sandbox/akool", id)
			resp, err := http.Get(video)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET result through the prefix: got %d, want 200", resp.StatusCode)
			}
		})
	}
}

func TestGenerateCredentials(t *testing.T) {
	key, id, secret := GenerateCredentials()
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(id) {
		t.Errorf("clientID: got %q, want 24 lowercase hex", id)
	}
	if len(secret) != 32 || key != secret {
		t.Errorf("got key %q secret %q, want a 32-char secret equal to the key", key, secret)
	}
	if _, id2, _ := GenerateCredentials(); id2 == id {
		t.Errorf("two calls gave the same clientID %q", id)
	}
}

func TestMP4Duration(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want float64
	}{
		{"sample (faststart)", sampleMP4, 2},
		{"crafted 130 s", craftMP4(1000, 130_000), 130},
		{"crafted 10.5 s at 90 kHz", craftMP4(90000, 945_000), 10.5},
		{"zero timescale", craftMP4(0, 5), 0},
		{"ftyp only", craftMP4(1000, 1)[:16], 0},
		{"truncated mvhd", craftMP4(1000, 1)[:40], 0},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mp4Duration(tt.data); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func FuzzMP4Duration(f *testing.F) {
	f.Add(sampleMP4)
	f.Add(craftMP4(1000, 130_000))
	f.Fuzz(func(t *testing.T, data []byte) {
		if d := mp4Duration(data); d < 0 {
			t.Fatalf("negative duration %v", d)
		}
	})
}

// With the real clock and nobody polling, the background loop alone moves
// the job along and delivers its webhooks: processing, then completed.
func TestBackgroundLoopDeliversWithoutPolling(t *testing.T) {
	in := newInputs(t)
	got := make(chan []byte, 2)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer hook.Close()
	sim := New(Config{APIKey: testKey, ClientID: testClient, Credits: 100,
		QueueDelay: NoDelay, ProcessDelay: time.Millisecond, Tick: 2 * time.Millisecond})
	defer sim.Close()
	srv := httptest.NewServer(sim)
	defer srv.Close()
	h := &harness{sim: sim, srv: srv, in: in}
	id := h.create(t, h.okBody(`"webhookurl":"`+hook.URL+`"`)).mustOK(t).str(t, "_id")
	for _, want := range []akool.Status{akool.StatusProcessing, akool.StatusCompleted} {
		select {
		case b := <-got:
			ev, err := akool.VerifyWebhook(b, testClient, testKey)
			if err != nil || ev.ID != id || ev.Status != want {
				t.Errorf("webhook: got (%+v, %v), want status %d of %s", ev, err, want, id)
			}
		case <-time.After(20 * time.Second): // a liveness bound, not a timing assertion
			t.Fatalf("no webhook for status %d arrived", want)
		}
	}
}

func TestCloseIsIdempotentAndReleasesHangingRequests(t *testing.T) {
	sim := New(Config{APIKey: testKey, ClientID: testClient})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	sim.InjectCall(EndpointQuota, CallFault{Hang: true})
	done := make(chan int)
	go func() {
		req, _ := http.NewRequest("GET", srv.URL+quotaPath, nil)
		req.Header.Set("x-api-key", testKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	waitFor(t, "the request to hang", func() bool {
		sim.mu.Lock()
		defer sim.mu.Unlock()
		return len(sim.faults.calls[EndpointQuota]) == 0
	})
	sim.Close()
	sim.Close()
	if got := <-done; got != 200 {
		t.Errorf("hanging request after Close: got %d, want 200 (an empty answer)", got)
	}
}

func FuzzParseCreate(f *testing.F) {
	f.Add([]byte(`{"image":"https://x/i.png","video":"https://x/v.mp4","duration":10,"resolution":"720p","mode":"animate","prompt":"p","webhookurl":"https://h"}`))
	f.Add([]byte(`{"image_url":"a","video_url":"b"}`))
	f.Add([]byte(`{"image":"a","video":"b","duration":1e999}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, bad := parseCreate(body)
		if bad != "" {
			return
		}
		if c.image == "" || c.video == "" || rates[c.resolution] == 0 || (c.duration != 0 && (c.duration < 1 || c.duration > 120)) {
			t.Fatalf("accepted an invalid request: %+v", c)
		}
	})
}
