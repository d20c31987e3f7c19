// Package urls builds every path Swapdesk links to or redirects to, so no
// handler or template spells one out. The route patterns Echo matches sit
// here too, next to the builders that fill them in.
package urls

import (
	"net/url"
	"strconv"

	"swapdesk/internal/fields"
)

// Route patterns, as registered in handlers/routes.go.
const (
	RouteHealthz   = "/healthz"
	RouteMetrics   = "/metrics"
	RouteWebhook   = "/webhooks/akool"
	RouteLogin     = "/login"
	RouteLogout    = "/logout"
	RouteDashboard = "/"
	RouteNewJob    = "/jobs/new"
	RouteEstimate  = "/jobs/estimate"
	RouteJobs      = "/jobs"
	RouteJob       = "/jobs/:id"
	RouteJobCard   = "/jobs/:id/card"
	RouteJobDelete = "/jobs/:id/delete"
	RouteMedia     = "/media/:id"
	// The gallery's zip of a selection, and share links.
	RouteGalleryZip  = "/gallery/zip"
	RouteJobShares   = "/jobs/:id/shares"
	RouteShareRevoke = "/shares/:id/revoke"
	RouteShare       = "/s/:token" // public
	RouteShareVideo  = "/s/:token/video"
	RouteSharePoster = "/s/:token/poster"
	// A result's poster, preview clip and kept character image.
	RouteMediaPoster  = "/media/:id/poster"
	RouteMediaPreview = "/media/:id/preview"
	RouteMediaImage   = "/media/:id/image"
	RouteGallery      = "/gallery"
	RouteJobFavorite  = "/jobs/:id/favorite"
	RouteJobHide      = "/jobs/:id/hide"
	RouteAdmin        = "/admin"       // the admin group's prefix
	RouteAdminUsers   = "/admin/users" // RouteAdmin + "/users"
	RouteAdminUser    = "/admin/users/:id"
	RouteAccount      = "/account"
	RouteWelcome      = "/welcome/:token"
	// The credit overview, its ledger export and time zone form, the
	// audit log (all under RouteAdmin).
	RouteAdminCredits   = "/admin/credits"
	RouteAdminLedgerCSV = "/admin/credits/ledger.csv"
	RouteAdminTimeZone  = "/admin/credits/time-zone"
	RouteAdminAudit     = "/admin/audit"
	// Personal API tokens: one's own (under RouteAccount), every member's
	// for an admin (under RouteAdmin), and the API's documentation page.
	RouteAccountTokens      = "/account/tokens"
	RouteAccountTokenRevoke = "/account/tokens/:id/revoke"
	RouteAdminTokens        = "/admin/tokens"
	RouteAdminTokenRevoke   = "/admin/tokens/:id/revoke"
	RouteDocsAPI            = "/docs/api"
)

// Acts on a member, each POSTed to AdminUserAct(id, act).
const (
	ActCredits   = "credits"
	ActAllowance = "allowance"
	ActDisable   = "disable"
	ActEnable    = "enable"
	ActRole      = "role"
	ActPassword  = "password"
	ActUnlock    = "unlock"
)

// Acts on one's own account, each POSTed to AccountAct(act).
const (
	AccountPassword = "password"
	AccountTimeZone = "timezone"
)

// Dashboard is the signed-in home page.
func Dashboard() string { return RouteDashboard }

// Login is the sign-in page.
func Login() string { return RouteLogin }

// LoginNext is the sign-in page that goes on to next (a local path) after
// signing in; next "" or "/" is Login().
func LoginNext(next string) string {
	if next == "" || next == RouteDashboard {
		return RouteLogin
	}
	return RouteLogin + "?" + fields.Next + "=" + url.QueryEscape(next)
}

// Logout is where the sign-out form posts.
func Logout() string { return RouteLogout }

// Jobs is the jobs list, where the New swap form posts.
func Jobs() string { return RouteJobs }

// JobsPage is a page of the jobs list: jobs older than before, of member
// (an admin's filter; 0 is everyone's).
func JobsPage(before, member int64) string {
	q := url.Values{}
	if before > 0 {
		q.Set(fields.Before, id(before))
	}
	if member > 0 {
		q.Set(fields.Member, id(member))
	}
	return withQuery(RouteJobs, q)
}

// NewJob is the empty New swap form.
func NewJob() string { return RouteNewJob }

// NewJobSample is the New swap form filled with the sandbox's sample inputs.
func NewJobSample() string { return RouteNewJob + "?" + fields.Sample + "=1" }

// JobForm is what the New swap form is prefilled with: empty fields are
// left out of its URL.
type JobForm struct {
	ImageURL, VideoURL, Mode, Resolution, Duration, Prompt string
}

// NewJobWith is the New swap form prefilled with f (re-runs, the money
// saver's shorter duration).
func NewJobWith(f JobForm) string {
	q := url.Values{}
	for _, kv := range [...][2]string{
		{fields.ImageURL, f.ImageURL}, {fields.VideoURL, f.VideoURL}, {fields.Mode, f.Mode},
		{fields.Resolution, f.Resolution}, {fields.Duration, f.Duration}, {fields.Prompt, f.Prompt},
	} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	return withQuery(RouteNewJob, q)
}

// Estimate is where the New swap form asks for its live estimate.
func Estimate() string { return RouteEstimate }

// Job is a job's page.
func Job(jobID int64) string { return RouteJobs + "/" + id(jobID) }

// JobCard is a job's card, as its poll fetches it; full is the job page's
// card (player and actions).
func JobCard(jobID int64, full bool) string {
	u := Job(jobID) + "/card"
	if full {
		u += "?" + fields.Full + "=1"
	}
	return u
}

// JobDelete is where a job's delete form posts.
func JobDelete(jobID int64) string { return Job(jobID) + "/delete" }

// Media is a job's archived video.
func Media(jobID int64) string { return "/media/" + id(jobID) }

// MediaDownload is a job's archived video as an attachment.
func MediaDownload(jobID int64) string { return Media(jobID) + "?" + fields.Download + "=1" }

// Gallery is the team gallery, unfiltered.
func Gallery() string { return RouteGallery }

// GalleryWith is the team gallery with a filter (and page cursor) as its
// query; empty values are left out.
func GalleryWith(q url.Values) string {
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	return withQuery(RouteGallery, clean)
}

// JobFavorite is where a result's star posts (fields.Favorite).
func JobFavorite(jobID int64) string { return Job(jobID) + "/favorite" }

// JobHide is where a result's hide/show form posts (fields.Hidden).
func JobHide(jobID int64) string { return Job(jobID) + "/hide" }

// MediaPoster is a result's poster (or its kept character image until
// there is one).
func MediaPoster(jobID int64) string { return Media(jobID) + "/poster" }

// MediaPreview is a result's short muted preview clip.
func MediaPreview(jobID int64) string { return Media(jobID) + "/preview" }

// MediaImage is the kept copy of a job's character image.
func MediaImage(jobID int64) string { return Media(jobID) + "/image" }

// GalleryZip is where a selection is posted for its zip.
func GalleryZip() string { return RouteGalleryZip }

// JobShares is where a job's share links are made.
func JobShares(jobID int64) string { return Job(jobID) + "/shares" }

// ShareRevoke revokes share link shareID.
func ShareRevoke(shareID int64) string { return "/shares/" + id(shareID) + "/revoke" }

// Share is a share link's public page (token is URL-safe base64).
func Share(token string) string { return "/s/" + token }

// ShareVideo is a share link's video.
func ShareVideo(token string) string { return Share(token) + "/video" }

// ShareVideoDownload is ShareVideo as an attachment.
func ShareVideoDownload(token string) string {
	return ShareVideo(token) + "?" + fields.Download + "=1"
}

// SharePoster is a share link's still image.
func SharePoster(token string) string { return Share(token) + "/poster" }

// AdminUsers is the admin's member list.
func AdminUsers() string { return RouteAdminUsers }

// AdminUser is an admin's page about one member.
func AdminUser(memberID int64) string { return RouteAdminUsers + "/" + id(memberID) }

// AdminUserAct is where one of the member page's forms posts (an Act*).
func AdminUserAct(memberID int64, act string) string { return AdminUser(memberID) + "/" + act }

// AdminUsersSorted is the member list sorted by key, descending or not.
func AdminUsersSorted(key string, desc bool) string {
	q := url.Values{"sort": {key}}
	if desc {
		q.Set("dir", "desc")
	}
	return withQuery(RouteAdminUsers, q)
}

// Account is the signed-in person's own page; before pages its ledger.
func Account() string { return RouteAccount }

// AccountAct is where one of /account's forms posts.
func AccountAct(act string) string { return RouteAccount + "/" + act }

// Welcome is a one-time sign-in link's page.
func Welcome(token string) string { return "/welcome/" + url.PathEscape(token) }

// AdminCredits is the credit overview; q are its query parameters (chart
// and ledger filters, fields.Days, fields.By, fields.Member, …), if any.
func AdminCredits(q url.Values) string { return withQuery(RouteAdminCredits, q) }

// AdminLedgerCSV is the ledger export with the overview's filters q.
func AdminLedgerCSV(q url.Values) string { return withQuery(RouteAdminLedgerCSV, q) }

// AdminTimeZone is where the team time zone form posts.
func AdminTimeZone() string { return RouteAdminTimeZone }

// AdminAudit is the audit log with its filters q.
func AdminAudit(q url.Values) string { return withQuery(RouteAdminAudit, q) }

// AccountTokens is the signed-in person's API tokens page, where its
// create form posts.
func AccountTokens() string { return RouteAccountTokens }

// AccountTokenRevoke is where one's own token tokenID is revoked.
func AccountTokenRevoke(tokenID int64) string {
	return RouteAccountTokens + "/" + id(tokenID) + "/revoke"
}

// AdminTokens is every member's active API tokens, for an admin.
func AdminTokens() string { return RouteAdminTokens }

// AdminTokenRevoke is where an admin revokes any member's token tokenID.
func AdminTokenRevoke(tokenID int64) string { return RouteAdminTokens + "/" + id(tokenID) + "/revoke" }

// DocsAPI is the API's documentation page.
func DocsAPI() string { return RouteDocsAPI }

// DocsAPIProblem is the section of the documentation page about the API's
// problem kind ("unauthorized", "invalid", …): problem details' type URIs
// are the public base URL followed by it.
func DocsAPIProblem(kind string) string { return RouteDocsAPI + "#problem-" + kind }

func id(n int64) string { return strconv.FormatInt(n, 10) }

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}
