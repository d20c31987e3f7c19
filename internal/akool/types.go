package akool

import (
	"math"
	"strconv"
	"time"
)

// ModelWan is the only Character Swap v4 model on Akool's live docs.
const ModelWan = "wavespeed-ai/wan-2.2/animate"

// ResultTTL is how long Akool keeps a finished job's result before
// deleting it.
const ResultTTL = 7 * 24 * time.Hour

// Paths of the endpoints, relative to the base URL (AKOOL-API.md §8).
const (
	PathToken  = "/api/open/v3/getToken"
	PathCreate = "/api/open/v4/characterSwap/create"
	PathResult = "/api/open/v3/content/video/infobymodelid"
	PathQuota  = "/api/open/v3/faceswap/quota/info"
)

// Status is a job's state, normalized from the create response's `status`
// and the poll response's `video_status` (both use the same numbers).
type Status int

// Job states as Akool numbers them.
const (
	StatusUnknown    Status = 0
	StatusQueued     Status = 1
	StatusProcessing Status = 2
	StatusCompleted  Status = 3
	StatusFailed     Status = 4
)

// String returns "queued", "processing", "completed", "failed" or "unknown(n)".
func (s Status) String() string {
	switch s {
	case StatusQueued:
		return "queued"
	case StatusProcessing:
		return "processing"
	case StatusCompleted:
		return "completed"
	case StatusFailed:
		return "failed"
	default:
		return "unknown(" + strconv.Itoa(int(s)) + ")"
	}
}

// Valid reports whether s is one of Akool's four states.
func (s Status) Valid() bool { return s >= StatusQueued && s <= StatusFailed }

// Final reports whether the job will not change any more.
func (s Status) Final() bool { return s == StatusCompleted || s == StatusFailed }

// CreateRequest is what Swapdesk asks Akool to make. Zero values of the
// optional fields are left out of the request, so Akool applies its defaults
// (720p, animate, duration detected from the video).
type CreateRequest struct {
	Image      string  // character image URL (PNG or JPEG); required
	Video      string  // motion video URL (MP4); required
	Duration   float64 // seconds, 1–120; 0 = let Akool detect it
	Resolution string  // "480p", "720p", "1080p"; "" = Akool's default
	Mode       string  // "animate" or "replace"; "" = Akool's default
	Prompt     string  // at most 500 characters
	WebhookURL string  // sent as `webhookurl`
	ModelName  string  // "" = ModelWan (unless Config.OmitModelName)
}

// Job is Akool's record of one character swap, from create or poll.
// Numbers that Akool may send as int or float are float64 here.
type Job struct {
	ID              string // data._id; pass it to GetResult
	Status          Status
	CreateTime      time.Time // zero if absent
	UpdateTime      time.Time // zero if absent (queued jobs have none)
	UID             int64
	TeamID          string
	VideoDuration   float64 // seconds; the poll reports the actual length, maybe fractional
	DeductionCredit float64 // credits Akool deducted; 0 for failed jobs
	// HasDeductionCredit reports whether the answer carried a readable
	// deduction_credit, so an explicit 0 can be told from an omitted one.
	HasDeductionCredit bool
	Resolution         string
	Mode               string // only in the create response
	ModelName          string // only in the create response
	FileName           string
	ImageURL           string // the input image (echo of `image`)
	InputVideoURL      string // the input video (`video_url`), NOT the result
	ResultURL          string // the generated video (`video`), set when Completed; expires after 7 days
	Prompt             string
	WebhookURL         string // `webhookUrl` in responses
	FailReason         string // `faceswap_fail_reason`, set when Failed
}

// Credits returns DeductionCredit as a whole number of credits, rounded up,
// for ledgers that count in integers.
func (j *Job) Credits() int64 {
	if j.DeductionCredit <= 0 || math.IsNaN(j.DeductionCredit) {
		return 0
	}
	if j.DeductionCredit > math.MaxInt64/2 {
		return math.MaxInt64 / 2
	}
	return int64(math.Ceil(j.DeductionCredit - 1e-9))
}
