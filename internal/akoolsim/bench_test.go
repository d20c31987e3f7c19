package akoolsim

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkCreateWithState measures creates per second with a state file
// (StatePath), one request at a time and 8 per CPU at once, so the cost of
// making each acknowledged job durable shows, and how concurrent creates
// share writes. Run with a fixed count, since every
// create adds a job to what is saved:
//
//	go test -run '^$' -bench CreateWithState -benchtime 300x ./internal/akoolsim
func BenchmarkCreateWithState(b *testing.B) {
	for _, bc := range []struct {
		name     string
		parallel bool
	}{{"serial", false}, {"parallel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			sim := New(Config{APIKey: testKey, ClientID: testClient, ClientSecret: testKey, Credits: 1 << 40,
				SkipInputFetch: true, QueueDelay: time.Hour, BaseURL: "http://sim.test",
				StatePath: filepath.Join(b.TempDir(), "akool.json")})
			defer sim.Close()
			body := `{"image":"https://x.test/i.png","video":"https://x.test/v.mp4","duration":10}`
			create := func() {
				req := httptest.NewRequest(http.MethodPost, "/api/open/v4/characterSwap/create", strings.NewReader(body))
				req.Header.Set("x-api-key", testKey)
				rec := httptest.NewRecorder()
				sim.ServeHTTP(rec, req)
				if !strings.Contains(rec.Body.String(), `"code":1000`) {
					b.Fatalf("create: %s", rec.Body)
				}
			}
			b.ResetTimer()
			if bc.parallel {
				b.SetParallelism(8) // 8 × GOMAXPROCS goroutines
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						create()
					}
				})
			} else {
				for range b.N {
					create()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}
