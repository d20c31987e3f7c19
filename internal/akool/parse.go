package akool

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// envelope is Akool's response wrapper: {"code":…, "msg":…, "data":…}, or for
// getToken {"code":…, "token":…} with the token at the top level.
type envelope struct {
	Code  int
	Msg   string
	Data  map[string]json.RawMessage // nil when absent, null or not an object
	Token string
}

// parseEnvelope reads any body leniently. ok is false when the body is not a
// JSON object with a numeric `code`: then it is not Akool speaking.
func parseEnvelope(body []byte) (env envelope, ok bool) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return envelope{}, false
	}
	code, ok := rawNumber(top["code"])
	if !ok || code != math.Trunc(code) || math.Abs(code) > 1e9 {
		return envelope{}, false
	}
	env.Code = int(code)
	env.Msg, _ = rawString(top["msg"])
	env.Token, _ = rawString(top["token"])
	if d := top["data"]; len(d) > 0 && d[0] == '{' {
		var m map[string]json.RawMessage
		if json.Unmarshal(d, &m) == nil {
			env.Data = m
		}
	}
	return env, true
}

// parseJob reads a create or poll `data` object. statusKey is the field the
// endpoint documents ("status" or "video_status"); the other is a fallback.
func parseJob(data map[string]json.RawMessage, statusKey string) (*Job, bool) {
	id, _ := rawString(data["_id"])
	if id == "" {
		return nil, false
	}
	j := &Job{ID: id}
	other := "video_status"
	if statusKey == "video_status" {
		other = "status"
	}
	st, ok := rawInt(data[statusKey])
	if !ok {
		st, _ = rawInt(data[other])
	}
	if st >= 0 && st <= 1000 {
		j.Status = Status(st)
	}
	j.CreateTime = rawMillis(data["create_time"])
	j.UpdateTime = rawMillis(data["update_time"])
	j.UID, _ = rawInt(data["uid"])
	j.TeamID, _ = rawString(data["team_id"])
	j.VideoDuration, _ = rawNumber(data["video_duration"])
	j.DeductionCredit, _ = rawNumber(data["deduction_credit"])
	j.Resolution, _ = rawString(data["resolution"])
	j.Mode, _ = rawString(data["mode"])
	j.ModelName, _ = rawString(data["model_name"])
	j.FileName, _ = rawString(data["file_name"])
	j.ImageURL, _ = rawString(data["image_url"])
	j.InputVideoURL, _ = rawString(data["video_url"])
	j.ResultURL, _ = rawString(data["video"])
	j.Prompt, _ = rawString(data["prompt"])
	j.WebhookURL, _ = rawString(data["webhookUrl"])
	if j.WebhookURL == "" {
		j.WebhookURL, _ = rawString(data["webhookurl"])
	}
	j.FailReason, _ = rawString(data["faceswap_fail_reason"])
	return j, true
}

// rawString accepts a JSON string; anything else is absent.
func rawString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// rawNumber accepts a JSON number or a string holding one (some gateways
// stringify numbers). NaN and infinities are refused.
func rawNumber(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false
	}
	text := string(raw)
	if raw[0] == '"' {
		s, ok := rawString(raw)
		if !ok {
			return 0, false
		}
		text = strings.TrimSpace(s)
	} else if !json.Valid(raw) {
		return 0, false
	}
	if text == "" || !utf8.ValidString(text) {
		return 0, false
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// rawInt accepts a number without a fractional part (20 or 20.0).
func rawInt(raw json.RawMessage) (int64, bool) {
	f, ok := rawNumber(raw)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// rawMillis reads a millisecond epoch; absent or nonsense gives the zero time.
func rawMillis(raw json.RawMessage) time.Time {
	ms, ok := rawInt(raw)
	if !ok || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
