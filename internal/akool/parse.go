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
	Data  *wireData // nil when absent, null or not an object
	Token string
}

// wireData holds every `data` field of the create, poll and quota answers,
// each read leniently from its exact key (see readData).
type wireData struct {
	ID, TeamID, Resolution, Mode, ModelName, FileName, ImageURL jsonString
	VideoURL                                                    jsonString // the input video
	Video                                                       jsonString // the result
	Prompt, FailReason                                          jsonString
	WebhookURL, WebhookURLLower                                 jsonString // webhookUrl in responses, webhookurl in requests; accept both

	Status, VideoStatus, CreateTime, UpdateTime, UID jsonNumber
	VideoDuration, DeductionCredit, Credit           jsonNumber
}

// parseEnvelope reads any body leniently. ok is false when the body is not a
// JSON object with a numeric `code`: then it is not Akool speaking.
//
// The body is validated once by json.Valid, then its members are walked and
// read into typed, lenient fields without another pass of encoding/json.
// Keys match exactly and the last of a repeated key wins, as when decoding
// into a map: encoding/json's struct decoding would also take "Code" for
// code, and a gateway's {"Code":…} is not Akool.
func parseEnvelope(body []byte) (env envelope, ok bool) {
	if !json.Valid(body) {
		return envelope{}, false
	}
	var code jsonNumber
	var data []byte
	isObject := eachMember(body, func(key, val []byte) {
		switch string(key) {
		case "code":
			code.set(val)
		case "msg":
			env.Msg, _ = parseString(val)
		case "token":
			env.Token, _ = parseString(val)
		case "data":
			data = val
		}
	})
	if !isObject || !code.ok || code.f != math.Trunc(code.f) || math.Abs(code.f) > 1e9 {
		return envelope{}, false
	}
	env.Code = int(code.f)
	if len(data) > 0 && data[0] == '{' {
		env.Data = readData(data)
	}
	return env, true
}

// readData reads data's members, by their exact keys. data is a valid
// JSON object.
func readData(data []byte) *wireData {
	d := &wireData{}
	eachMember(data, func(k, v []byte) {
		switch string(k) {
		case "_id":
			d.ID.set(v)
		case "status":
			d.Status.set(v)
		case "video_status":
			d.VideoStatus.set(v)
		case "create_time":
			d.CreateTime.set(v)
		case "update_time":
			d.UpdateTime.set(v)
		case "uid":
			d.UID.set(v)
		case "team_id":
			d.TeamID.set(v)
		case "video_duration":
			d.VideoDuration.set(v)
		case "deduction_credit":
			d.DeductionCredit.set(v)
		case "resolution":
			d.Resolution.set(v)
		case "mode":
			d.Mode.set(v)
		case "model_name":
			d.ModelName.set(v)
		case "file_name":
			d.FileName.set(v)
		case "image_url":
			d.ImageURL.set(v)
		case "video_url":
			d.VideoURL.set(v)
		case "video":
			d.Video.set(v)
		case "prompt":
			d.Prompt.set(v)
		case "webhookUrl":
			d.WebhookURL.set(v)
		case "webhookurl":
			d.WebhookURLLower.set(v)
		case "faceswap_fail_reason":
			d.FailReason.set(v)
		case "credit":
			d.Credit.set(v)
		}
	})
	return d
}

// eachMember calls fn with the key (unquoted) and the raw value of each
// member of the object b, in order, and reports whether b is an object.
// b must be valid JSON (json.Valid), which keeps this walk simple: it only
// needs to find where strings and nested values end.
func eachMember(b []byte, fn func(key, val []byte)) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end := stringEnd(b, i)
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 { // escaped: decode like encoding/json does
			s, _ := parseString(b[i:end])
			key = []byte(s)
		}
		i = skipSpace(b, skipSpace(b, end)+1) // past the colon
		end = valueEnd(b, i)
		fn(key, b[i:end])
		i = skipSpace(b, end)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index just past the value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n' {
		i++
	}
	return i
}

// parseJob reads a create or poll `data` object. statusKey is the field the
// endpoint documents ("status" or "video_status"); the other is a fallback.
func parseJob(data *wireData, statusKey string) (*Job, bool) {
	if data == nil || data.ID.s == "" {
		return nil, false
	}
	j := &Job{ID: data.ID.s}
	first, other := data.Status, data.VideoStatus
	if statusKey == "video_status" {
		first, other = other, first
	}
	st, ok := first.int()
	if !ok {
		st, _ = other.int()
	}
	if st >= 0 && st <= 1000 {
		j.Status = Status(st)
	}
	j.CreateTime = data.CreateTime.millis()
	j.UpdateTime = data.UpdateTime.millis()
	j.UID, _ = data.UID.int()
	j.TeamID = data.TeamID.s
	j.VideoDuration, _ = data.VideoDuration.get()
	j.DeductionCredit, j.HasDeductionCredit = data.DeductionCredit.get()
	j.Resolution = data.Resolution.s
	j.Mode = data.Mode.s
	j.ModelName = data.ModelName.s
	j.FileName = data.FileName.s
	j.ImageURL = data.ImageURL.s
	j.InputVideoURL = data.VideoURL.s
	j.ResultURL = data.Video.s
	j.Prompt = data.Prompt.s
	j.WebhookURL = data.WebhookURL.s
	if j.WebhookURL == "" {
		j.WebhookURL = data.WebhookURLLower.s
	}
	j.FailReason = data.FailReason.s
	return j, true
}

// jsonString is a JSON string; any other JSON value leaves it absent ("").
type jsonString struct {
	s  string
	ok bool
}

func (v *jsonString) set(b []byte) { v.s, v.ok = parseString(b) }

// jsonNumber is a JSON number or a string holding one (some gateways
// stringify numbers), int or float. NaN and infinities are refused.
type jsonNumber struct {
	f  float64
	ok bool
}

func (v *jsonNumber) set(b []byte) { v.f, v.ok = parseNumber(b) }

func (v jsonNumber) get() (float64, bool) { return v.f, v.ok }

// int accepts a number without a fractional part (20 or 20.0).
func (v jsonNumber) int() (int64, bool) {
	if !v.ok || v.f != math.Trunc(v.f) || math.Abs(v.f) > 1<<53 {
		return 0, false
	}
	return int64(v.f), true
}

// millis reads a millisecond epoch; absent or nonsense gives the zero time.
func (v jsonNumber) millis() time.Time {
	ms, ok := v.int()
	if !ok || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// parseString decodes one JSON value that must be a string. Plain ASCII or
// UTF-8 without escapes is sliced directly; anything else goes through
// encoding/json (which also turns invalid UTF-8 into U+FFFD).
func parseString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	inner := b[1 : len(b)-1]
	plain := b[len(b)-1] == '"' && utf8.Valid(inner)
	for _, c := range inner {
		if c < 0x20 || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// parseNumber decodes one valid JSON value that must be a number, or a
// string holding one. The caller guarantees b is valid JSON.
func parseNumber(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var text string
	switch c := b[0]; {
	case c == '"':
		s, ok := parseString(b)
		if !ok {
			return 0, false
		}
		text = strings.TrimSpace(s)
	case c == '-' || (c >= '0' && c <= '9'):
		text = string(b)
	default: // true, false, null, an object or an array
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

// rawString accepts a JSON string; anything else is absent.
func rawString(raw json.RawMessage) (string, bool) {
	return parseString(raw)
}

// rawNumber accepts a JSON number or a string holding one.
// NaN and infinities are refused.
func rawNumber(raw json.RawMessage) (float64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !json.Valid(raw) {
		return 0, false
	}
	return parseNumber(raw)
}

// rawInt accepts a number without a fractional part (20 or 20.0).
func rawInt(raw json.RawMessage) (int64, bool) {
	f, ok := rawNumber(raw)
	return jsonNumber{f, ok}.int()
}
