package akoolsim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"swapdesk/internal/akool"
)

// routes lists every route, relative to wherever the Sim is mounted.
func (s *Sim) routes() {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/open/v3/getToken", s.handleToken)
	m.HandleFunc("POST /api/open/v4/characterSwap/create", s.handleCreate)
	m.HandleFunc("GET /api/open/v3/content/video/infobymodelid", s.handleResult)
	m.HandleFunc("GET /api/open/v3/faceswap/quota/info", s.handleQuota)
	m.HandleFunc("GET /results/{file}", s.handleVideo)
	s.mux = m
}

// codeMsg holds Akool's documented descriptions, used as msg (the real
// strings are not documented; AKOOL-API.md §1.6): the Character Swap page's
// wording where it has one, else the global table's (§6.1). The codes are
// literals on purpose: the emulator shares no code table with the client.
var codeMsg = map[int]string{
	1003: "Parameter error or Parameter cannot be empty",
	1004: "Requires verification",
	1005: "Operation is too frequent",
	1006: "Your quota is not enough",
	1007: "Face count changes exceed",
	1008: "The content you get does not exist",
	1009: "You do not have permission to operate",
	1010: "This content cannot be operated",
	1011: "This content has been operated",
	1013: "Use audio in video",
	1014: "Resource does not exist",
	1015: "Create video error, please try again later",
	1016: "Face swapping error",
	1017: "Audio not created",
	1101: "Invalid authorization or The request token has expired",
	1102: "Authorization cannot be empty",
	1103: "Not paid or payment is overdue",
	1104: "Insufficient credit balance",
	1105: "avatar processing error",
	1108: "image processing error",
	1109: "account not exist",
	1110: "audio processing error",
	1111: "avatar callback processing error",
	1112: "voice processing error",
	1200: "The account has been banned",
	1201: "create audio processing error",
	1202: "Video lip sync same language out of range",
	1203: "Using Video and Audio",
	1204: "video duration exceed",
	1205: "create video processing error",
	1206: "background change processing error",
	1207: "video size exceed",
	1208: "video parsing error",
	1209: "The video encoding format is not supported",
	1210: "video fps exceed",
	1211: "Creating lip sync errors",
	1212: "Sentiment analysis fails",
	1213: "Requires subscription user to use",
	1214: "liveAvatar in processing",
	1215: "liveAvatar busy",
	1216: "liveAvatar session not exist",
	1217: "liveAvatar callback error",
	1218: "liveAvatar processing error",
	1219: "liveAvatar closed",
	1220: "liveAvatar upload avatar error",
	1221: "Account not subscribed",
	1222: "Resource already exist",
	1223: "liveAvatar upload exceed",
	2001: "Server error",
}

// modelWan is the only model of the live v4 docs (§1.3).
const modelWan = "wavespeed-ai/wan-2.2/animate"

func msgFor(code int) string {
	if m, ok := codeMsg[code]; ok {
		return m
	}
	return "error"
}

type envelope struct {
	Code int    `json:"code"`
	Msg  string `json:"msg,omitempty"`
	Data any    `json:"data,omitempty"`
}

func writeJSON(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK) // Akool answers 200 and puts the outcome in code
	_, _ = w.Write(buf.Bytes())
}

func writeCode(w http.ResponseWriter, code int, detail string) {
	msg := msgFor(code)
	if detail != "" {
		msg += ": " + detail
	}
	writeJSON(w, envelope{Code: code, Msg: msg})
}

// authorize applies AKOOL-API.md §3: a Bearer header wins over x-api-key
// (and a bad one is 1101 even with a good key); neither is 1102; an unknown
// key is 1101; a banned account is 1200. It returns 1000 when allowed.
func (s *Sim) authorizeLocked(r *http.Request, now time.Time) int {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		exp, known := s.tokens[strings.TrimSpace(tok)]
		if !ok || !known || !now.Before(exp) {
			return 1101
		}
	} else {
		key := r.Header.Get("x-api-key")
		if key == "" {
			return 1102
		}
		if s.cfg.APIKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.APIKey)) != 1 {
			return 1101
		}
	}
	if s.faults.banned {
		return 1200
	}
	return 1000
}

// answerFault answers the way an injected fault says. Call it without s.mu.
func (s *Sim) answerFault(w http.ResponseWriter, r *http.Request, f CallFault) {
	switch {
	case f.Hang:
		select {
		case <-r.Context().Done():
		case <-s.ctx.Done():
		}
	case f.HTTPStatus != 0:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.HTTPStatus)
		t := http.StatusText(f.HTTPStatus)
		_, _ = io.WriteString(w, "<html><head><title>"+t+"</title></head><body><h1>"+t+"</h1></body></html>\n")
	case f.Msg != "":
		writeJSON(w, envelope{Code: f.Code, Msg: f.Msg})
	default:
		writeCode(w, f.Code, "")
	}
}

// answer is what an API handler decided while holding s.mu; serve writes
// it after releasing the lock.
type answer struct {
	code   int    // Akool's code: 1000 sends data, anything else {"code","msg"}
	detail string // appended to an error's msg
	data   any
	after  func() // optional, run after s.mu is released and before writing
	// undo, when set, takes back a success's change if it cannot be saved;
	// the call is then answered undoCode instead.
	undo     func()
	undoCode int
}

func refuse(code int, detail string) answer { return answer{code: code, detail: detail} }

func success(data any) answer { return answer{code: 1000, data: data} }

// serve runs auth and the injected faults for ep, then decide with s.mu
// held, and writes the outcome once s.mu is released. A success is only
// written once the state it shows is durable (see persist): what Akool has
// acknowledged must survive a crash of the emulator.
func (s *Sim) serve(w http.ResponseWriter, r *http.Request, ep Endpoint, decide func(now time.Time) answer) {
	a, fault, faulted := s.gate(r, ep, decide)
	if faulted {
		s.answerFault(w, r, fault)
		return
	}
	if a.code == 1000 {
		if err := s.persist(); err != nil {
			code := 2001 // Server error: the client may call again
			if a.undo != nil {
				a.undo()
				code = a.undoCode
			}
			writeCode(w, code, "")
			return
		}
	}
	if a.after != nil {
		a.after()
	}
	if a.code != 1000 {
		writeCode(w, a.code, a.detail)
		return
	}
	writeJSON(w, envelope{Code: 1000, Msg: "OK", Data: a.data})
}

// gate holds s.mu for auth, the injected faults and decide, and nothing else.
func (s *Sim) gate(r *http.Request, ep Endpoint, decide func(now time.Time) answer) (answer, CallFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if code := s.authorizeLocked(r, now); code != 1000 {
		return refuse(code, ""), CallFault{}, false
	}
	if f, ok := s.takeCallFaultLocked(ep); ok {
		return answer{}, f, true
	}
	return decide(now), CallFault{}, false
}

func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	_ = json.Unmarshal(raw, &body) // a bad body is just empty credentials
	s.mu.Lock()
	switch {
	case body.ClientID == "" || body.ClientSecret == "":
		s.mu.Unlock()
		writeCode(w, 1102, "")
		return
	case s.cfg.ClientID == "" ||
		subtle.ConstantTimeCompare([]byte(body.ClientID), []byte(s.cfg.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(body.ClientSecret), []byte(s.cfg.ClientSecret)) != 1:
		s.mu.Unlock()
		writeCode(w, 1101, "")
		return
	case s.faults.banned:
		s.mu.Unlock()
		writeCode(w, 1200, "")
		return
	}
	if f, ok := s.takeCallFaultLocked(EndpointToken); ok {
		s.mu.Unlock()
		s.answerFault(w, r, f)
		return
	}
	tok := randomHex(32)
	s.tokens[tok] = s.now().Add(s.cfg.TokenTTL)
	s.markDirtyLocked()
	s.mu.Unlock()
	if err := s.persist(); err != nil {
		s.mu.Lock()
		delete(s.tokens, tok) // never handed out
		s.markDirtyLocked()
		s.mu.Unlock()
		writeCode(w, 2001, "")
		return
	}
	// The token is at the top level, not in data (§3.2).
	writeJSON(w, struct {
		Code  int    `json:"code"`
		Token string `json:"token"`
	}{1000, tok})
}

func (s *Sim) handleQuota(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, EndpointQuota, func(time.Time) answer {
		return success(map[string]int{"credit": s.balance})
	})
}

// createReq is a validated create request.
type createReq struct {
	image, video, resolution, mode, prompt, model, webhookURL string
	duration                                                  float64
}

// parseCreate validates like Akool (§1.3) and returns a detail for 1003.
func parseCreate(raw []byte) (createReq, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return createReq{}, "body must be a JSON object"
	}
	str := func(key string) (string, bool) {
		v, ok := m[key]
		if !ok || string(v) == "null" {
			return "", true
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return "", false
		}
		return s, true
	}
	var c createReq
	var ok bool
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"image", &c.image}, {"video", &c.video}, {"resolution", &c.resolution}, {"mode", &c.mode},
		{"prompt", &c.prompt}, {"model_name", &c.model}, {"webhookurl", &c.webhookURL},
	} {
		if *f.dst, ok = str(f.key); !ok {
			return createReq{}, f.key + " must be a string"
		}
	}
	if c.webhookURL == "" {
		if c.webhookURL, ok = str("webhookUrl"); !ok {
			return createReq{}, "webhookUrl must be a string"
		}
	}
	switch {
	case strings.TrimSpace(c.image) == "":
		return createReq{}, "image cannot be empty"
	case strings.TrimSpace(c.video) == "":
		return createReq{}, "video cannot be empty"
	}
	if v, present := m["duration"]; present && string(v) != "null" {
		if json.Unmarshal(v, &c.duration) != nil || c.duration < 1 || c.duration > 120 {
			return createReq{}, "duration must be a number between 1 and 120"
		}
	}
	if c.resolution == "" {
		c.resolution = "720p"
	}
	if _, known := rates[c.resolution]; !known {
		return createReq{}, "resolution must be 480p, 720p or 1080p"
	}
	if c.mode == "" {
		c.mode = "animate"
	}
	if c.mode != "animate" && c.mode != "replace" {
		return createReq{}, "mode must be animate or replace"
	}
	if utf8.RuneCountInString(c.prompt) > 500 {
		return createReq{}, "prompt must be at most 500 characters"
	}
	if c.model == "" {
		c.model = modelWan
	}
	if c.model != modelWan {
		return createReq{}, "unsupported model_name"
	}
	return c, ""
}

// createData and pollData list the fields in the docs' order (§1.5, §2.2).
type createData struct {
	ID              string  `json:"_id"`
	CreateTime      int64   `json:"create_time"`
	UID             int64   `json:"uid"`
	TeamID          string  `json:"team_id"`
	Status          int     `json:"status"`
	VideoDuration   float64 `json:"video_duration"`
	DeductionCredit int     `json:"deduction_credit"`
	Resolution      string  `json:"resolution"`
	FileName        string  `json:"file_name"`
	ImageURL        string  `json:"image_url"`
	VideoURL        string  `json:"video_url"`
	Prompt          string  `json:"prompt"`
	Mode            string  `json:"mode"`
	ModelName       string  `json:"model_name"`
	WebhookURL      string  `json:"webhookUrl"`
}

type pollData struct {
	ID              string  `json:"_id"`
	CreateTime      int64   `json:"create_time"`
	UID             int64   `json:"uid"`
	TeamID          string  `json:"team_id"`
	UpdateTime      int64   `json:"update_time,omitempty"`
	VideoDuration   float64 `json:"video_duration"`
	WebhookURL      string  `json:"webhookUrl"`
	FileName        string  `json:"file_name"`
	ImageURL        string  `json:"image_url"`
	Video           string  `json:"video,omitempty"`
	VideoURL        string  `json:"video_url"`
	Prompt          string  `json:"prompt"`
	Resolution      string  `json:"resolution"`
	DeductionCredit int     `json:"deduction_credit"`
	VideoStatus     int     `json:"video_status"`
	FailReason      string  `json:"faceswap_fail_reason,omitempty"`
}

func fileName(created time.Time) string {
	return "CharacterSwap_" + strconv.FormatInt(created.UnixMilli(), 10) + ".mp4"
}

func (s *Sim) handleCreate(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.serve(w, r, EndpointCreate, func(now time.Time) answer { return s.createLocked(r, raw, now) })
}

func (s *Sim) createLocked(r *http.Request, raw []byte, now time.Time) answer {
	if s.faults.unsubscribed {
		return refuse(1213, "")
	}
	req, bad := parseCreate(raw)
	if bad != "" {
		return refuse(1003, bad)
	}
	d := req.duration
	if d == 0 {
		d = s.cfg.DefaultDuration // an estimate until the video is probed
	}
	price := cost(d, req.resolution)
	if price > s.balance {
		return refuse(1104, "")
	}
	s.balance -= price
	base := s.cfg.BaseURL
	if base == "" {
		base = baseFromRequest(r)
	}
	j := &job{
		id: s.newIDLocked(now), created: now, status: akool.StatusQueued,
		image: req.image, video: req.video, resolution: req.resolution, mode: req.mode,
		prompt: req.prompt, model: req.model, webhookURL: req.webhookURL,
		base: strings.TrimRight(base, "/"), resultKey: newResultKey(),
		reqDuration: req.duration, duration: d, charged: price,
	}
	if len(s.faults.failNext) > 0 {
		j.forceFail, s.faults.failNext = s.faults.failNext[0], s.faults.failNext[1:]
	} else if strings.Contains(req.prompt, MagicFailPrompt) {
		j.forceFail = "Failed to process the video. (akoolsim: magic prompt)"
	}
	s.jobs[j.id] = j
	s.order = append(s.order, j.id)
	s.markDirtyLocked()
	a := success(createData{
		ID: j.id, CreateTime: now.UnixMilli(), UID: s.cfg.UID, TeamID: s.cfg.TeamID,
		Status: int(akool.StatusQueued), VideoDuration: d, DeductionCredit: price,
		Resolution: req.resolution, FileName: fileName(now), ImageURL: req.image, VideoURL: req.video,
		Prompt: req.prompt, Mode: req.mode, ModelName: req.model, WebhookURL: req.webhookURL,
	})
	a.after = func() {
		s.log.Info("akoolsim job created", "id", j.id, "credits", price, "resolution", req.resolution)
		s.poke()
	}
	// Not saved, so not created: answer "Create video error, please try
	// again later" and forget the job, refunding what it holds now.
	a.undo, a.undoCode = func() { s.forgetJob(j.id) }, 1015
	return a
}

func (s *Sim) handleResult(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, EndpointResult, func(now time.Time) answer { return s.resultLocked(r, now) })
}

func (s *Sim) resultLocked(r *http.Request, now time.Time) answer {
	id := r.URL.Query().Get("video_model_id")
	if id == "" {
		return refuse(1003, "video_model_id cannot be empty")
	}
	j, found := s.jobs[id]
	if !found {
		return refuse(1008, "")
	}
	s.advanceLocked(j, now)
	d := pollData{
		ID: j.id, CreateTime: j.created.UnixMilli(), UID: s.cfg.UID, TeamID: s.cfg.TeamID,
		VideoDuration: j.duration, WebhookURL: j.webhookURL, FileName: fileName(j.created),
		ImageURL: j.image, Video: j.resultURL(), VideoURL: j.video, Prompt: j.prompt,
		Resolution: j.resolution, DeductionCredit: j.charged, VideoStatus: int(j.status),
		FailReason: j.failReason,
	}
	if !j.updated.IsZero() {
		d.UpdateTime = j.updated.UnixMilli()
	}
	return success(d)
}

// handleVideo serves a completed job's result with Range support, until it
// expires. Like a CDN URL it needs no credentials, but it has a random part
// (the job's resultKey) that only a poll or a webhook tells: a URL with the
// right id and any other key is 404, as is an unknown path.
func (s *Sim) handleVideo(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("file"), ".mp4")
	id, key, _ := strings.Cut(name, "-")
	s.mu.Lock()
	now := s.now()
	j := s.jobs[id]
	if j != nil {
		s.advanceLocked(j, now)
	}
	if !ok || j == nil || j.resultKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(j.resultKey)) != 1 ||
		j.status != akool.StatusCompleted || j.expiredEarly || !now.Before(j.expires) {
		s.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	data, onDisk, mod := j.result, j.videoFile, j.updated
	s.mu.Unlock()
	var content io.ReadSeeker = bytes.NewReader(sampleMP4)
	switch {
	case data != nil:
		content = bytes.NewReader(data)
	case onDisk:
		f, err := os.Open(s.resultPath(id))
		if err != nil {
			s.log.Error("akoolsim: result video missing; serving the sample instead", "job", id, "err", err)
			break
		}
		defer f.Close()
		content = f
	}
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeContent(w, r, id+".mp4", mod, content)
}

// baseFromRequest rebuilds the public URL of the Sim's root from a request:
// scheme, Host, and the prefix http.StripPrefix removed from the path.
func baseFromRequest(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		scheme = p
	}
	prefix := ""
	if orig, _, _ := strings.Cut(r.RequestURI, "?"); strings.HasSuffix(orig, r.URL.EscapedPath()) {
		prefix = strings.TrimSuffix(orig, r.URL.EscapedPath())
	}
	if strings.Contains(prefix, "://") { // absolute-form request URI (proxies)
		prefix = ""
	}
	return scheme + "://" + r.Host + prefix
}
