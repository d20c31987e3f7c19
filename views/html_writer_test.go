package views

import (
	"math/rand/v2"
	"testing"
	"time"
)

// appendTime writes what AppendFormat writes, for the tile's two layouts
// (built by hand) and any other (passed on), across years, time zones and
// every digit of day, month, hour, minute and second.
func TestAppendTimeMatchesAppendFormat(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	zones := []*time.Location{time.UTC, time.FixedZone("east", 5*3600+1800), time.FixedZone("west", -8*3600)}
	times := []time.Time{{}, time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 8, 53, 44, 123456789, time.UTC)}
	for range 20000 {
		times = append(times, time.Unix(rng.Int64N(300*365*86400)-100*365*86400, rng.Int64N(1e9)).In(zones[rng.IntN(len(zones))]))
	}
	for _, tm := range times {
		for _, layout := range []string{time.RFC3339, dateTimeLayout, time.Kitchen} {
			got, want := string(appendTime(nil, tm, layout)), tm.UTC().Format(layout)
			if got != want {
				t.Fatalf("%v with %q: %q, want %q", tm, layout, got, want)
			}
		}
	}
}
