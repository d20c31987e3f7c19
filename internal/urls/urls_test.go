package urls

import (
	"net/url"
	"strings"
	"testing"
)

// matches reports whether path (without its query) fits an Echo route
// pattern, where ":name" stands for one segment.
func matches(pattern, path string) bool {
	p, s := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(p) != len(s) {
		return false
	}
	for i := range p {
		if strings.HasPrefix(p[i], ":") {
			if s[i] == "" {
				return false
			}
			continue
		}
		if p[i] != s[i] {
			return false
		}
	}
	return true
}

func TestBuildersFitTheirRoutes(t *testing.T) {
	tests := []struct {
		got, route, want string
	}{
		{Dashboard(), RouteDashboard, "/"},
		{Login(), RouteLogin, "/login"},
		{LoginNext("/"), RouteLogin, "/login"},
		{LoginNext("/jobs/7?full=1"), RouteLogin, "/login?next=%2Fjobs%2F7%3Ffull%3D1"},
		{Logout(), RouteLogout, "/logout"},
		{Jobs(), RouteJobs, "/jobs"},
		{JobsPage(0, 0), RouteJobs, "/jobs"},
		{JobsPage(41, 3), RouteJobs, "/jobs?before=41&member=3"},
		{NewJob(), RouteNewJob, "/jobs/new"},
		{NewJobSample(), RouteNewJob, "/jobs/new?sample=1"},
		{Estimate(), RouteEstimate, "/jobs/estimate"},
		{Job(42), RouteJob, "/jobs/42"},
		{JobCard(42, false), RouteJobCard, "/jobs/42/card"},
		{JobCard(42, true), RouteJobCard, "/jobs/42/card?full=1"},
		{JobDelete(42), RouteJobDelete, "/jobs/42/delete"},
		{Media(42), RouteMedia, "/media/42"},
		{MediaDownload(42), RouteMedia, "/media/42?download=1"},
		{AdminUsers(), RouteAdminUsers, "/admin/users"},
		{GalleryZip(), RouteGalleryZip, "/gallery/zip"},
		{JobShares(42), RouteJobShares, "/jobs/42/shares"},
		{ShareRevoke(7), RouteShareRevoke, "/shares/7/revoke"},
		{Share("tok_-1"), RouteShare, "/s/tok_-1"},
		{ShareVideo("tok"), RouteShareVideo, "/s/tok/video"},
		{ShareVideoDownload("tok"), RouteShareVideo, "/s/tok/video?download=1"},
		{SharePoster("tok"), RouteSharePoster, "/s/tok/poster"},
		{AccountTokens(), RouteAccountTokens, "/account/tokens"},
		{AccountTokenRevoke(7), RouteAccountTokenRevoke, "/account/tokens/7/revoke"},
		{AdminTokens(), RouteAdminTokens, "/admin/tokens"},
		{AdminTokenRevoke(7), RouteAdminTokenRevoke, "/admin/tokens/7/revoke"},
		{DocsAPI(), RouteDocsAPI, "/docs/api"},
		{DocsAPIProblem("invalid"), RouteDocsAPI, "/docs/api#problem-invalid"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
		path, _, _ := strings.Cut(tt.got, "?")
		path, _, _ = strings.Cut(path, "#")
		if !matches(tt.route, path) {
			t.Errorf("%q does not fit route %q", tt.got, tt.route)
		}
	}
}

func TestNewJobWithLeavesEmptyFieldsOut(t *testing.T) {
	got := NewJobWith(JobForm{ImageURL: "https://x/a.png?b=1&c=2", Mode: "animate", Duration: "15"})
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != RouteNewJob {
		t.Errorf("path %q, want %q", u.Path, RouteNewJob)
	}
	want := url.Values{"image_url": {"https://x/a.png?b=1&c=2"}, "mode": {"animate"}, "duration": {"15"}}
	if u.Query().Encode() != want.Encode() {
		t.Errorf("query %q, want %q", u.Query().Encode(), want.Encode())
	}
}
