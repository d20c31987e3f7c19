package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"swapdesk/internal/fields"
	"swapdesk/internal/jobs"
)

// BenchmarkEstimateWarmCache measures the server time of POST
// /jobs/estimate once both links are in the probe cache (the member is
// switching resolution or typing a duration). It calls the router directly,
// so the figures exclude the HTTP client; p50 and p99 are reported.
func BenchmarkEstimateWarmCache(b *testing.B) {
	// Unlimited: this measures the estimate, not the per-member rate limit.
	app := newTestApp(b, func(o *appOptions) { o.jobs = func(c *jobs.Config) { c.EstimateRate = -1 } })
	c, _ := app.member("ana@example.com", 1000)
	tok := c.csrf("/jobs/new")
	u, _ := url.Parse(app.srv.URL)
	var cookies []string
	for _, ck := range c.http.Jar.Cookies(u) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	form := app.jobValues()
	handler := app.srv.Config.Handler
	do := func(res string) int {
		form.Set(fields.Resolution, res)
		req := httptest.NewRequest(http.MethodPost, "/jobs/estimate", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(fields.CSRFHeader, tok)
		req.Header.Set("HX-Request", "true")
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	if code := do("720p"); code != http.StatusOK { // warms the probe cache
		b.Fatalf("estimate answered %d", code)
	}
	if app.media.requests() == 0 {
		b.Fatal("the probe never fetched: nothing to warm")
	}
	fetched := app.media.requests()
	res := []string{"480p", "720p", "1080p"}
	durs := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if code := do(res[i%3]); code != http.StatusOK {
			b.Fatalf("estimate answered %d", code)
		}
		durs = append(durs, time.Since(start))
	}
	b.StopTimer()
	if app.media.requests() != fetched {
		b.Errorf("warm estimates fetched the links again (%d more requests)", app.media.requests()-fetched)
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds())/1000, "p99-ms")
}
