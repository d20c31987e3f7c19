package akool

import (
	"testing"
	"time"
)

// The three poll examples and the create example from AKOOL-API.md §1.5 and §2.3.
const (
	docCreate = `{"code":1000,"msg":"OK","data":{"_id":"689174694b4dbdd4ab3d28c9","create_time":1754362985482,"uid":101400,"team_id":"6805fb69e92d9edc7ca0b409","status":1,"video_duration":10,"deduction_credit":20,"resolution":"720p","file_name":"CharacterSwap_1754362985482.mp4","image_url":"https://drz0f01yeq1cx.cloudfront.net/character-image.png","video_url":"https://drz0f01yeq1cx.cloudfront.net/source-video.mp4","prompt":"Smooth character animation with natural movement","mode":"animate","model_name":"wavespeed-ai/wan-2.2/animate","webhookUrl":"https://your-callback-url.com/webhook"}}`
	docQueued = `{"code": 1000, "msg": "OK", "data": {"_id": "689174694b4dbdd4ab3d28c9", "create_time": 1754362985482, "uid": 101400, "team_id": "6805fb69e92d9edc7ca0b409", "video_duration": 10, "webhookUrl": "https://your-callback-url.com/webhook", "file_name": "CharacterSwap_1754362985482.mp4", "image_url": "https://drz0f01yeq1cx.cloudfront.net/character-image.png", "video_url": "https://drz0f01yeq1cx.cloudfront.net/source-video.mp4", "prompt": "Smooth character animation with natural movement", "resolution": "720p", "deduction_credit": 20, "video_status": 1}}`
	docDone   = `{"code": 1000, "msg": "OK", "data": {"_id": "689174694b4dbdd4ab3d28c9", "create_time": 1754362985482, "uid": 101400, "team_id": "6805fb69e92d9edc7ca0b409", "update_time": 1754363095482, "video_duration": 10.5, "webhookUrl": "https://your-callback-url.com/webhook", "file_name": "CharacterSwap_1754362985482.mp4", "image_url": "https://drz0f01yeq1cx.cloudfront.net/character-image.png", "video": "https://d2qf6ukcym4kn9.cloudfront.net/1754363091791-1423.mp4", "video_url": "https://drz0f01yeq1cx.cloudfront.net/source-video.mp4", "prompt": "Smooth character animation with natural movement", "resolution": "720p", "deduction_credit": 20, "video_status": 3}}`
	docFailed = `{"code": 1000, "msg": "OK", "data": {"_id": "689174694b4dbdd4ab3d28c9", "create_time": 1754362985482, "uid": 101400, "team_id": "6805fb69e92d9edc7ca0b409", "update_time": 1754363095482, "video_duration": 10, "webhookUrl": "https://your-callback-url.com/webhook", "file_name": "CharacterSwap_1754362985482.mp4", "image_url": "https://drz0f01yeq1cx.cloudfront.net/character-image.png", "video_url": "https://drz0f01yeq1cx.cloudfront.net/source-video.mp4", "prompt": "Smooth character animation with natural movement", "resolution": "720p", "deduction_credit": 0, "video_status": 4, "faceswap_fail_reason": "Failed to process the video. Please check your input resources."}}`
)

func parseBody(t *testing.T, body, statusKey string) *Job {
	t.Helper()
	env, ok := parseEnvelope([]byte(body))
	if !ok || env.Code != 1000 {
		t.Fatalf("parseEnvelope: got ok=%v code=%d, want a success envelope", ok, env.Code)
	}
	j, ok := parseJob(env.Data, statusKey)
	if !ok {
		t.Fatalf("parseJob: no job in %s", body)
	}
	return j
}

func TestParseDocExamples(t *testing.T) {
	const in = "https://drz0f01yeq1cx.cloudfront.net/source-video.mp4"
	tests := []struct {
		name, body, key string
		want            Job
	}{
		{"create", docCreate, "status", Job{Status: StatusQueued, VideoDuration: 10, DeductionCredit: 20, HasDeductionCredit: true, Mode: "animate", ModelName: ModelWan, InputVideoURL: in}},
		{"queued", docQueued, "video_status", Job{Status: StatusQueued, VideoDuration: 10, DeductionCredit: 20, HasDeductionCredit: true, InputVideoURL: in}},
		{"completed", docDone, "video_status", Job{Status: StatusCompleted, VideoDuration: 10.5, DeductionCredit: 20, HasDeductionCredit: true, InputVideoURL: in,
			ResultURL: "https://d2qf6ukcym4kn9.cloudfront.net/1754363091791-1423.mp4", UpdateTime: time.UnixMilli(1754363095482)}},
		{"failed", docFailed, "video_status", Job{Status: StatusFailed, VideoDuration: 10, DeductionCredit: 0, HasDeductionCredit: true, InputVideoURL: in,
			UpdateTime: time.UnixMilli(1754363095482), FailReason: "Failed to process the video. Please check your input resources."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseBody(t, tt.body, tt.key)
			w := tt.want
			w.ID, w.CreateTime, w.UID, w.TeamID = "689174694b4dbdd4ab3d28c9", time.UnixMilli(1754362985482), 101400, "6805fb69e92d9edc7ca0b409"
			w.Resolution, w.FileName = "720p", "CharacterSwap_1754362985482.mp4"
			w.ImageURL, w.Prompt = "https://drz0f01yeq1cx.cloudfront.net/character-image.png", "Smooth character animation with natural movement"
			w.WebhookURL = "https://your-callback-url.com/webhook"
			if *got != w {
				t.Errorf("job:\ngot  %+v\nwant %+v", *got, w)
			}
		})
	}
}

func TestParseLenientNumbersAndFields(t *testing.T) {
	tests := []struct {
		name       string
		data       string
		wantStatus Status
		wantDur    float64
		wantCredit float64
		wantCredI  int64
	}{
		{"floats", `{"_id":"a","video_status":3.0,"video_duration":10.5,"deduction_credit":20.0}`, StatusCompleted, 10.5, 20, 20},
		{"strings", `{"_id":"a","video_status":"2","video_duration":"7","deduction_credit":" 15 "}`, StatusProcessing, 7, 15, 15},
		{"fractional credit rounds up", `{"_id":"a","video_status":4,"deduction_credit":12.5}`, StatusFailed, 0, 12.5, 13},
		{"status from the other key", `{"_id":"a","status":1}`, StatusQueued, 0, 0, 0},
		{"status fraction is unknown", `{"_id":"a","video_status":2.5}`, StatusUnknown, 0, 0, 0},
		{"nulls and wrong types", `{"_id":"a","video_status":null,"video_duration":[1],"deduction_credit":{"x":1},"video":7}`, StatusUnknown, 0, 0, 0},
		{"unknown fields", `{"_id":"a","video_status":5,"new_thing":{"deep":[1,2]}}`, Status(5), 0, 0, 0},
		{"NaN string", `{"_id":"a","video_status":1,"video_duration":"NaN","deduction_credit":"Inf"}`, StatusQueued, 0, 0, 0},
		{"huge exponent", `{"_id":"a","video_status":1,"video_duration":1e400}`, StatusQueued, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseBody(t, `{"code":1000,"data":`+tt.data+`}`, "video_status")
			if got.Status != tt.wantStatus || got.VideoDuration != tt.wantDur || got.DeductionCredit != tt.wantCredit || got.Credits() != tt.wantCredI {
				t.Errorf("got status %v duration %v credit %v (%d), want %v %v %v (%d)",
					got.Status, got.VideoDuration, got.DeductionCredit, got.Credits(), tt.wantStatus, tt.wantDur, tt.wantCredit, tt.wantCredI)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		wantOK   bool
		wantCode int
		wantData bool
		wantTok  string
	}{
		{"error without data", `{"code":1003,"msg":"Parameter error"}`, true, 1003, false, ""},
		{"data null", `{"code":1104,"msg":"x","data":null}`, true, 1104, false, ""},
		{"data empty string", `{"code":1104,"data":""}`, true, 1104, false, ""},
		{"data array", `{"code":1000,"data":[]}`, true, 1000, false, ""},
		{"code as string", `{"code":"1000","data":{}}`, true, 1000, true, ""},
		{"code float", `{"code":1000.0}`, true, 1000, false, ""},
		{"token at top level", `{"code":1000,"token":"abc"}`, true, 1000, false, "abc"},
		{"no code", `{"msg":"OK"}`, false, 0, false, ""},
		{"code fraction", `{"code":1000.5}`, false, 0, false, ""},
		{"code bool", `{"code":true}`, false, 0, false, ""},
		{"HTML", `<html>502 Bad Gateway</html>`, false, 0, false, ""},
		{"empty", ``, false, 0, false, ""},
		{"JSON null", `null`, false, 0, false, ""},
		{"truncated", `{"code":1000,"data":{"_id":"a"`, false, 0, false, ""},
		{"msg not a string", `{"code":1101,"msg":{"en":"x"}}`, true, 1101, false, ""},
		// Keys match exactly, as in a map: a gateway's "Code" is not Akool's code.
		{"Code is not code", `{"Code":1000,"Data":{"_id":"a"}}`, false, 0, false, ""},
		{"CODE beside code", `{"CODE":1000,"code":1003}`, true, 1003, false, ""},
		{"escaped key", `{"\u0063ode":1000,"d\u0061ta":{}}`, true, 1000, true, ""},
		{"last repeated key wins", `{"code":1003,"code":"1000","token":"a","token":7}`, true, 1000, false, ""},
		{"repeated data: the last is not an object", `{"code":1000,"data":{"_id":"a"},"data":[]}`, true, 1000, false, ""},
		{"brackets and quotes inside strings", ` { "x" : [ "}]\"{[" , { "y" : "]" } ] , "code" : 1000 , "token" : "t\"" } `, true, 1000, false, "t\""},
		{"trailing garbage", `{"code":1000} x`, false, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, ok := parseEnvelope([]byte(tt.body))
			if ok != tt.wantOK || env.Code != tt.wantCode || (env.Data != nil) != tt.wantData || env.Token != tt.wantTok {
				t.Errorf("got ok=%v code=%d data=%v token=%q, want ok=%v code=%d data=%v token=%q",
					ok, env.Code, env.Data != nil, env.Token, tt.wantOK, tt.wantCode, tt.wantData, tt.wantTok)
			}
		})
	}
	// Only the exact keys of the last data object count.
	env, _ := parseEnvelope([]byte(`{"code":1000,"data":{"_id":"a","status":3},"data":{"_ID":"b","Status":2,"x":"\"_id\":\"c\"","video_status":"2"}}`))
	if j, ok := parseJob(env.Data, "status"); ok {
		t.Errorf("parseJob of a data without an exact _id: got %+v, want refused", *j)
	}
	env, _ = parseEnvelope([]byte(`{"code":1000,"data":{"_id":"a","_id":"b","status":"4","Status":2}}`))
	if j, ok := parseJob(env.Data, "status"); !ok || j.ID != "b" || j.Status != StatusFailed {
		t.Errorf("parseJob with repeated keys: got %+v %v, want b failed", j, ok)
	}
	if _, ok := parseJob(&wireData{ID: jsonString{"", true}}, "status"); ok {
		t.Errorf("parseJob with empty _id: got ok, want refused")
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{docCreate, docQueued, docDone, docFailed, `{"code":1000,"token":"t"}`,
		`{"code":1003,"msg":"x"}`, `{"code":"1000","data":{"_id":1,"status":"x"}}`, `<html>`, `{"code":1000,"data":{"credit":12.5}}`,
		`{"\u0063ode":1000,"data":{"_id":"a\"]}","x":[{"y":"}"}],"video_status":" 3 "}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, ok := parseEnvelope(body)
		if !ok {
			return
		}
		for _, key := range []string{"status", "video_status"} {
			if j, ok := parseJob(env.Data, key); ok {
				if j.ID == "" {
					t.Fatalf("accepted a job without an id")
				}
				_ = j.Status.String()
				_ = j.Credits()
			}
		}
		if env.Data != nil {
			_, _ = env.Data.Credit.get()
		}
	})
}

// An explicit deduction_credit of 0 differs from none at all: the first is
// what Akool charged, the second leaves the estimate to stand.
func TestParseDeductionCreditPresence(t *testing.T) {
	for _, tt := range []struct {
		name, data string
		wantHas    bool
	}{
		{"explicit zero", `{"_id":"a","video_status":3,"deduction_credit":0}`, true},
		{"zero as a string", `{"_id":"a","video_status":3,"deduction_credit":"0"}`, true},
		{"a figure", `{"_id":"a","video_status":3,"deduction_credit":20}`, true},
		{"omitted", `{"_id":"a","video_status":3}`, false},
		{"null", `{"_id":"a","video_status":3,"deduction_credit":null}`, false},
		{"not a number", `{"_id":"a","video_status":3,"deduction_credit":"lots"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseBody(t, `{"code":1000,"data":`+tt.data+`}`, "video_status")
			if got.HasDeductionCredit != tt.wantHas {
				t.Errorf("HasDeductionCredit = %v, want %v", got.HasDeductionCredit, tt.wantHas)
			}
		})
	}
}
