package media

import (
	"errors"
	"math"
	"testing"
)

// FuzzParseMoov feeds arbitrary bytes to the moov parser: it must answer
// with a VideoInfo or one of the package's user-safe errors, never hang or
// take the process down. `make fuzz` runs it briefly in CI.
func FuzzParseMoov(f *testing.F) {
	for _, name := range []string{"faststart.mp4", "rotated.mp4", "mpeg4.mp4", "audio_only.mp4"} {
		f.Add(topBoxes(f, readFixture(f, name))["moov"])
	}
	f.Add([]byte{})
	f.Add(boxHeader("moov", 8, false))
	f.Add(append(boxHeader("moov", 24, false), 0, 0, 0, 200, 'm', 'v', 'h', 'd', 0, 0, 0, 0, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, moov []byte) {
		if len(moov) > 1<<20 {
			return
		}
		info, err := parseMoov(moov)
		if err != nil {
			var me *Error
			if !errors.As(err, &me) {
				t.Fatalf("error %T %v is not an *Error", err, err)
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrNoDuration) {
				t.Fatalf("error kind %v (%q)", me.Kind, me.Message)
			}
			if info != (VideoInfo{}) {
				t.Fatalf("error %q with info %+v", me.Message, info)
			}
			return
		}
		if !(info.Duration > 0) || math.IsInf(info.Duration, 0) {
			t.Fatalf("duration %v", info.Duration)
		}
		if info.Width < 0 || info.Height < 0 || info.Codec == "" {
			t.Fatalf("info %+v", info)
		}
	})
}
