package handlers_test

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPagesVsHealthz measures every signed-in page (dashboard, jobs
// list, a job, New swap) for a member with benchMemberJobs jobs in the seed
// of BenchmarkCardVsHealthz, each against GET /healthz in the same run
// (issue 9's target: ratio >= 0.3), the same way: benchClients goroutines
// over real HTTP with the member's session cookie on both, b.N pages timed
// between two untimed halves of b.N healthz requests. Full pages are asked
// for (no HX-Request), as a browser's navigation does.
func BenchmarkPagesVsHealthz(b *testing.B) {
	app := newTestApp(b)
	c, member := app.member("ana@example.com", 0)
	_, other := app.member("bo@example.com", 0)
	ids := seedJobs(b, dbFile(b), member.ID, other.ID, benchMemberJobs, benchOtherJobs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	jobPaths := make([]string, len(ids))
	for i, id := range ids {
		jobPaths[i] = "/jobs/" + strconv.FormatInt(id, 10)
	}
	hdr := http.Header{}
	hdr.Set("Cookie", cookieHeader(b, c))
	ld := &loadDriver{base: app.srv.URL, header: hdr, client: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: benchClients,
		DisableCompression:  true,
	}}}
	b.Cleanup(ld.client.CloseIdleConnections)
	healthz := func(uint64) string { return "/healthz" }
	fixed := func(p string) func(uint64) string { return func(uint64) string { return p } }

	trip := armAkoolTripwire(app.sim)
	for _, pg := range []struct {
		name string
		path func(uint64) string
	}{
		{"dashboard", fixed("/")},
		{"jobs", fixed("/jobs")},
		{"job", func(n uint64) string { return jobPaths[n%uint64(len(jobPaths))] }},
		{"new", fixed("/jobs/new")},
	} {
		b.Run("page="+pg.name, func(b *testing.B) {
			b.StopTimer()
			c0 := cpuTime()
			h1 := ld.run(b, b.N/2, healthz, http.StatusOK)
			c1 := cpuTime()
			b.StartTimer()
			pr := ld.run(b, b.N, pg.path, http.StatusOK)
			b.StopTimer()
			c2 := cpuTime()
			h2 := ld.run(b, b.N-b.N/2, healthz, http.StatusOK)
			c3 := cpuTime()
			if b.Failed() {
				return
			}
			hr := h1.merge(h2)
			b.ReportMetric(pr.rate()/hr.rate(), "ratio")
			b.ReportMetric(pr.rate(), "page-req/s")
			b.ReportMetric(pr.percentile(50), "page-p50-ms")
			b.ReportMetric(pr.percentile(99), "page-p99-ms")
			b.ReportMetric(hr.rate(), "healthz-req/s")
			// CPU time of the whole process (server and client) per request:
			// unlike req/s, it does not depend on how much CPU other
			// processes left us.
			pageCPU := float64(c2-c1) / float64(b.N)
			healthzCPU := float64(c1-c0+c3-c2) / float64(b.N)
			b.ReportMetric(pageCPU/1e3, "page-cpu-us")
			b.ReportMetric(healthzCPU/pageCPU, "cpu-ratio")
		})
	}
	trip.check(b)
}

// cpuTime is the CPU time (user and system) this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
