package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// apiProblems are the API's problem types, in the order the documentation
// page lists them. Their type URIs are the public base URL followed by
// urls.DocsAPIProblem(Kind).
var apiProblems = []views.APIProblem{
	{Kind: "unauthorized", Status: http.StatusUnauthorized, Title: "No valid token",
		Text: "The Authorization header is missing or not “Bearer sd_…”, or the token is unknown, expired or revoked, or its member is disabled. The answer does not say which: check the token, or make a new one."},
	{Kind: "forbidden", Status: http.StatusForbidden, Title: "The token lacks the scope",
		Text: "The token works, but not for this route: it lacks the scope the route needs. Make a token with that scope."},
	{Kind: "not-found", Status: http.StatusNotFound, Title: "Not found",
		Text: "No such route, or no such job of yours: another member's job is not found either."},
	{Kind: "method-not-allowed", Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
		Text: "The route exists but does not take this method; the Allow header lists those it takes."},
	{Kind: "bad-request", Status: http.StatusBadRequest, Title: "Bad request",
		Text: "The body is not JSON (send Content-Type: application/json) or is malformed, names a field the route does not know, or gives a value of the wrong type (duration is a JSON number of seconds, not a string); or a cursor was not one the API gave."},
	{Kind: "too-large", Status: http.StatusRequestEntityTooLarge, Title: "Body too large",
		Text: "The request body is larger than the API accepts."},
	{Kind: "idempotency-key", Status: http.StatusBadRequest, Title: "Idempotency-Key missing or too long",
		Text: "POST /api/v1/jobs needs an Idempotency-Key header of at most 255 characters."},
	{Kind: "idempotency-conflict", Status: http.StatusConflict, Title: "Idempotency-Key used with another body",
		Text: "This key already started a job with a different body. Send the same body to get that job, or use a new key for a new job."},
	{Kind: "conflict", Status: http.StatusConflict, Title: "Conflict",
		Text: "The job cannot do that now: a running job cannot be deleted until it finishes."},
	{Kind: "invalid", Status: http.StatusUnprocessableEntity, Title: "Invalid fields",
		Text: "The body was read, but some fields are not acceptable: errors lists each by field name with the message the New swap form would show (an image that is not a PNG or JPEG, a video that is not an MP4, a duration over 120 seconds, …)."},
	{Kind: "insufficient-credits", Status: http.StatusUnprocessableEntity, Title: "Not enough credits",
		Text: "The swap costs more credits than you have available; detail says how many. Ask an admin for credits, or use a lower resolution or a shorter duration."},
	{Kind: "rate-limited", Status: http.StatusTooManyRequests, Title: "Too many requests",
		Text: "The token's request rate, or your link checks, were used up. Wait the seconds the Retry-After header gives, then send again."},
	{Kind: "internal", Status: http.StatusInternalServerError, Title: "Server error",
		Text: "Something failed on our side and was logged; nothing was charged. Try again later, and tell an admin if it goes on."},
}

// docsJob is the body of the examples' estimate and create, in the
// fields' order.
type docsJob struct {
	ImageURL   string `json:"image_url"`
	VideoURL   string `json:"video_url"`
	Mode       string `json:"mode"`
	Resolution string `json:"resolution"`
	Duration   int    `json:"duration"`
	Prompt     string `json:"prompt"`
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// apiDocs is the API's documentation page (GET /docs/api): a curl example
// for each route, against this server, with the sandbox's sample inputs
// when it runs the sandbox.
func (s *Server) apiDocs(c echo.Context) error {
	base := s.publicBase(c)
	api := base + docsAPIPath
	job := docsJob{ImageURL: "https://example.com/character.png", VideoURL: "https://example.com/motion.mp4",
		Mode: "animate", Resolution: "720p", Duration: 12, Prompt: "keep the background, smooth motion"}
	if s.cfg.Sandbox {
		job.ImageURL, job.VideoURL = sampleInputs(c)
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(job); err != nil {
		return err
	}
	data := shellQuote(strings.TrimSpace(body.String()))
	const auth = `-H "Authorization: Bearer $SWAPDESK_TOKEN"`
	get := func(path string) string { return "curl " + auth + " " + shellQuote(api+path) }
	scope := func(sc string) string { return "Scope: " + sc + "." }
	m := views.APIDocs{Base: base, API: api, Sandbox: s.cfg.Sandbox, Problems: apiProblems,
		Setup:     "export SWAPDESK_TOKEN='sd_…'   # your token, from " + base + urls.AccountTokens(),
		CheckRate: jobs.DefaultEstimateRate, CheckBurst: jobs.DefaultEstimateBurst, ChecksAtOnce: media.DefaultMaxPerMember,
		Examples: []views.APIExample{
			{ID: "me", Method: http.MethodGet, Path: docsAPIPath + "/me", Access: "Any token.",
				Text:    "Who the token speaks for, and your credits: available, held, your monthly allowance.",
				Command: get("/me")},
			{ID: "estimate", Method: http.MethodPost, Path: docsAPIPath + "/estimate", Access: scope(tokens.JobsWrite),
				Text: "The exact price of a swap before spending anything: the credits, the seconds billed, the video's detected length and what your balance would be after. " +
					"The body takes the New swap form's fields; duration (optional, 1–120) is a JSON number of seconds, prompt is optional.",
				Command: "curl " + auth + " \\\n  -H 'Content-Type: application/json' \\\n  -d " + data + " \\\n  " + shellQuote(api+"/estimate")},
			{ID: "create", Method: http.MethodPost, Path: docsAPIPath + "/jobs", Access: scope(tokens.JobsWrite),
				Text: "Starts a swap with the same body: 201 with the job, its credits held. The Idempotency-Key header is required: a unique string of your own per job, up to 255 characters. " +
					"Sent again with the same key and body (after a timeout, say) it answers the same job (200), never a second one.",
				Command: "curl " + auth + " \\\n  -H 'Content-Type: application/json' \\\n  -H 'Idempotency-Key: my-batch-0001' \\\n  -d " + data + " \\\n  " + shellQuote(api+"/jobs"),
				Then:    []views.APICommand{{Text: "The answer's id is the job's; the next examples read it from JOB_ID:", Command: "JOB_ID=1   # the id from the answer"}}},
			{ID: "job", Method: http.MethodGet, Path: docsAPIPath + "/jobs/{id}", Access: scope(tokens.JobsRead),
				Text:    "One of your jobs: its status, inputs and settings, estimate, credits held and charged, whether the result is archived, and the URLs of its content, poster and page.",
				Command: "curl " + auth + " " + `"` + api + `/jobs/$JOB_ID"`,
				Then: []views.APICommand{{Text: "With Prefer: wait=60 the answer waits up to 60 seconds, and comes as soon as the job is final:",
					Command: "curl " + auth + " -H 'Prefer: wait=60' " + `"` + api + `/jobs/$JOB_ID"`}}},
			{ID: "jobs", Method: http.MethodGet, Path: docsAPIPath + "/jobs?status=…&cursor=…", Access: scope(tokens.JobsRead),
				Text:    "Your jobs, newest first, a page at a time; status filters them.",
				Command: get("/jobs?status=succeeded"),
				Then: []views.APICommand{{Text: "Each page's answer gives the cursor of the next one; send it back unchanged:",
					Command: "curl " + auth + " " + `"` + api + `/jobs?status=succeeded&cursor=$CURSOR"`}}},
			{ID: "delete", Method: http.MethodDelete, Path: docsAPIPath + "/jobs/{id}", Access: scope(tokens.JobsWrite),
				Text:    "Deletes one of your jobs and its kept files, as its page's Delete does. A job still running cannot be deleted.",
				Command: "curl -X DELETE " + auth + " " + `"` + api + `/jobs/$JOB_ID"`},
			{ID: "content", Method: http.MethodGet, Path: docsAPIPath + "/jobs/{id}/content", Access: scope(tokens.JobsRead),
				Text:    "The finished video (MP4), kept by Swapdesk after Akool deletes its copy.",
				Command: "curl " + auth + " -o result.mp4 " + `"` + api + `/jobs/$JOB_ID/content"`,
				Then: []views.APICommand{{Text: "Range requests work, to resume a download or read part of it:",
					Command: "curl " + auth + " -r 0-1048575 -o first-mb.mp4 " + `"` + api + `/jobs/$JOB_ID/content"`}}},
			{ID: "poster", Method: http.MethodGet, Path: docsAPIPath + "/jobs/{id}/poster", Access: scope(tokens.JobsRead),
				Text:    "A still image of the result.",
				Command: "curl " + auth + " -o poster.jpg " + `"` + api + `/jobs/$JOB_ID/poster"`},
			{ID: "gallery", Method: http.MethodGet, Path: docsAPIPath + "/gallery?q=…", Access: scope(tokens.GalleryRead),
				Text:    "The team gallery with its filters (member, mode, resolution, from, to, fav) and its search of prompts (q).",
				Command: "curl " + auth + " -G --data-urlencode 'q=smooth motion' " + shellQuote(api+"/gallery")},
			{ID: "openapi", Method: http.MethodGet, Path: docsAPIPath + "/openapi.json", Access: "No token needed.",
				Text:    "The OpenAPI 3.1 description of every route, its fields and its answers, for code generators and API tools.",
				Command: "curl -o openapi.json " + shellQuote(api+"/openapi.json")},
		},
	}
	return render(c, http.StatusOK, views.APIDocsPage(s.page(c, "API", ""), m))
}
