package urls

import (
	"net/url"
	"strconv"
)

// The JSON API's route patterns (handlers/routes.go), under RouteAPI.
const (
	RouteAPI           = "/api/v1"
	RouteAPIOpenAPI    = "/api/v1/openapi.json"
	RouteAPIEstimate   = "/api/v1/estimate"
	RouteAPIJobs       = "/api/v1/jobs"
	RouteAPIJob        = "/api/v1/jobs/:id"
	RouteAPIJobContent = "/api/v1/jobs/:id/content"
	RouteAPIJobPoster  = "/api/v1/jobs/:id/poster"
	RouteAPIGallery    = "/api/v1/gallery"
	RouteAPIMe         = "/api/v1/me"
)

// APIJob is a job in the JSON API.
func APIJob(jobID int64) string { return RouteAPIJobs + "/" + strconv.FormatInt(jobID, 10) }

// APIJobContent is a job's archived video in the JSON API.
func APIJobContent(jobID int64) string { return APIJob(jobID) + "/content" }

// APIJobPoster is a job's poster in the JSON API.
func APIJobPoster(jobID int64) string { return APIJob(jobID) + "/poster" }

// APIJobsWith is the JSON API's jobs list with query q (empty values left
// out).
func APIJobsWith(q url.Values) string { return withQuery(RouteAPIJobs, nonEmpty(q)) }

// APIGalleryWith is the JSON API's gallery with query q (empty values left
// out).
func APIGalleryWith(q url.Values) string { return withQuery(RouteAPIGallery, nonEmpty(q)) }

func nonEmpty(q url.Values) url.Values {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	return clean
}
