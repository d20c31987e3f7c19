package handlers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/internal/problem"
	"swapdesk/internal/tokens"
	"swapdesk/internal/urls"
	"swapdesk/views"
)

// apiProblems are the API's problem types as the documentation page lists
// them: problem.Types, the one list the API answers with, so the page's
// anchors are the type URIs' fragments.
func apiProblems() []views.APIProblem {
	out := make([]views.APIProblem, len(problem.Types))
	for i, t := range problem.Types {
		out[i] = views.APIProblem{Kind: t.Slug, Status: t.Status, Title: t.Title, Text: t.Doc}
	}
	return out
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
	api := base + urls.RouteAPI
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
	// The gallery hands out content and poster URLs, so either read scope
	// fetches them.
	readAccess := "Scope: " + tokens.JobsRead + " or " + tokens.GalleryRead + "."
	m := views.APIDocs{Base: base, API: api, Sandbox: s.cfg.Sandbox, Problems: apiProblems(),
		Setup:     "export SWAPDESK_TOKEN='sd_…'   # your token, from " + base + urls.AccountTokens(),
		TokenRate: describeLimit(s.apiLimits), CheckRate: jobs.DefaultEstimateRate, CheckBurst: jobs.DefaultEstimateBurst, ChecksAtOnce: media.DefaultMaxPerMember,
		Examples: []views.APIExample{
			{ID: "me", Method: http.MethodGet, Path: urls.RouteAPI + "/me", Access: "Any token.",
				Text:    "Who the token speaks for, and your credits: available, held, your monthly allowance.",
				Command: get("/me")},
			{ID: "estimate", Method: http.MethodPost, Path: urls.RouteAPI + "/estimate", Access: scope(tokens.JobsWrite),
				Text: "The exact price of a swap before spending anything: the credits, the seconds billed, the video's detected length and what your balance would be after. " +
					"The body takes the New swap form's fields; duration (optional, 1–120) is a JSON number of seconds, prompt is optional.",
				Command: "curl " + auth + " \\\n  -H 'Content-Type: application/json' \\\n  -d " + data + " \\\n  " + shellQuote(api+"/estimate")},
			{ID: "create", Method: http.MethodPost, Path: urls.RouteAPI + "/jobs", Access: scope(tokens.JobsWrite),
				Text: "Starts a swap with the same body: 201 with the job, its credits held. The Idempotency-Key header is required: a unique string of your own per job, up to 255 characters. " +
					"Sent again with the same key and body (after a timeout, say) it answers the same job (200), never a second one.",
				Command: "curl " + auth + " \\\n  -H 'Content-Type: application/json' \\\n  -H 'Idempotency-Key: my-batch-0001' \\\n  -d " + data + " \\\n  " + shellQuote(api+"/jobs"),
				Then:    []views.APICommand{{Text: "The answer's id is the job's; the next examples read it from JOB_ID:", Command: "JOB_ID=1   # the id from the answer"}}},
			{ID: "job", Method: http.MethodGet, Path: urls.RouteAPI + "/jobs/{id}", Access: scope(tokens.JobsRead),
				Text:    "One of your jobs: its status, inputs and settings, estimate, credits held and charged, whether the result is archived, and the URLs of its content, poster and page.",
				Command: "curl " + auth + " " + `"` + api + `/jobs/$JOB_ID"`,
				Then: []views.APICommand{{Text: "With Prefer: wait=60 the answer waits up to 60 seconds, and comes as soon as the job is final and its video archived:",
					Command: "curl " + auth + " -H 'Prefer: wait=60' " + `"` + api + `/jobs/$JOB_ID"`}}},
			{ID: "jobs", Method: http.MethodGet, Path: urls.RouteAPI + "/jobs?status=…&cursor=…", Access: scope(tokens.JobsRead),
				Text:    "Your jobs, newest first, a page at a time; status filters them.",
				Command: get("/jobs?status=succeeded"),
				Then: []views.APICommand{{Text: "Each page's answer gives the cursor of the next one; send it back unchanged:",
					Command: "curl " + auth + " " + `"` + api + `/jobs?status=succeeded&cursor=$CURSOR"`}}},
			{ID: "delete", Method: http.MethodDelete, Path: urls.RouteAPI + "/jobs/{id}", Access: scope(tokens.JobsWrite),
				Text:    "Deletes one of your jobs and its kept files, as its page's Delete does. A job still running cannot be deleted.",
				Command: "curl -X DELETE " + auth + " " + `"` + api + `/jobs/$JOB_ID"`},
			{ID: "content", Method: http.MethodGet, Path: urls.RouteAPI + "/jobs/{id}/content", Access: readAccess,
				Text:    "The finished video (MP4), kept by Swapdesk after Akool deletes its copy.",
				Command: "curl " + auth + " -o result.mp4 " + `"` + api + `/jobs/$JOB_ID/content"`,
				Then: []views.APICommand{{Text: "Range requests work, to resume a download or read part of it:",
					Command: "curl " + auth + " -r 0-1048575 -o first-mb.mp4 " + `"` + api + `/jobs/$JOB_ID/content"`}}},
			{ID: "poster", Method: http.MethodGet, Path: urls.RouteAPI + "/jobs/{id}/poster", Access: readAccess,
				Text:    "A still image of the result.",
				Command: "curl " + auth + " -o poster.jpg " + `"` + api + `/jobs/$JOB_ID/poster"`},
			{ID: "gallery", Method: http.MethodGet, Path: urls.RouteAPI + "/gallery?q=…", Access: scope(tokens.GalleryRead),
				Text:    "The team gallery with its filters (member, mode, resolution, from, to, fav) and its search of prompts (q).",
				Command: "curl " + auth + " -G --data-urlencode 'q=smooth motion' " + shellQuote(api+"/gallery")},
			{ID: "openapi", Method: http.MethodGet, Path: urls.RouteAPI + "/openapi.json", Access: "No token needed.",
				Text:    "The OpenAPI 3.1 description of every route, its fields and its answers, for code generators and API tools.",
				Command: "curl -o openapi.json " + shellQuote(api+"/openapi.json")},
		},
	}
	return render(c, http.StatusOK, views.APIDocsPage(s.page(c, "API", ""), m))
}
