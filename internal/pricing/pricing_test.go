package pricing

import (
	"errors"
	"math"
	"testing"
)

func ptr(v float64) *float64 { return &v }

func TestCredits(t *testing.T) {
	tests := []struct {
		name    string
		seconds float64
		res     Resolution
		want    int
		wantErr error
	}{
		{"akool example 12 s at 720p", 12, R720p, 30, nil},
		{"akool example 10 s at 720p", 10, R720p, 20, nil},
		{"exactly one block", 5.0, R480p, 5, nil},
		{"just over one block", 5.001, R480p, 10, nil},
		{"next float above 5", math.Nextafter(5, 6), R480p, 10, nil},
		{"tiny", 0.001, R1080p, 15, nil},
		{"15 s is exactly 3 blocks", 15.0, R720p, 30, nil},
		{"10.000000001 s is 3 blocks", 10.000000001, R720p, 30, nil},
		{"maximum", 120, R1080p, 24 * 15, nil},
		{"maximum at 480p", 120, R480p, 24 * 5, nil},
		{"just over maximum", 120.001, R720p, 0, ErrTooLong},
		{"next float above 120", math.Nextafter(120, 121), R720p, 0, ErrTooLong},
		{"zero", 0, R720p, 0, ErrInvalidSeconds},
		{"negative zero", math.Copysign(0, -1), R720p, 0, ErrInvalidSeconds},
		{"negative", -5, R720p, 0, ErrInvalidSeconds},
		{"NaN", math.NaN(), R720p, 0, ErrInvalidSeconds},
		{"+Inf", math.Inf(1), R720p, 0, ErrInvalidSeconds},
		{"-Inf", math.Inf(-1), R720p, 0, ErrInvalidSeconds},
		{"unknown resolution", 10, "4k", 0, ErrInvalidResolution},
		{"empty resolution", 10, "", 0, ErrInvalidResolution},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Credits(tt.seconds, tt.res)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Credits(%v, %q) error = %v, want %v", tt.seconds, tt.res, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Credits(%v, %q) = %d, want %d", tt.seconds, tt.res, got, tt.want)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) || pe.Message == "" || pe.Field == "" {
					t.Errorf("error %#v is not a user-safe *Error with field and message", err)
				}
			}
		})
	}
}

// Every multiple of 5 is exactly its block count and the next float above it
// starts a new block: floating point never rounds a partial block away.
func TestBlocksAtEveryBoundary(t *testing.T) {
	for k := 1; k <= MaxSeconds/BlockSeconds; k++ {
		at := float64(k * BlockSeconds)
		if got, err := Blocks(at); err != nil || got != k {
			t.Errorf("Blocks(%v) = %d, %v; want %d", at, got, err, k)
		}
		below := math.Nextafter(at, 0)
		if got, err := Blocks(below); err != nil || got != k {
			t.Errorf("Blocks(%v) = %d, %v; want %d", below, got, err, k)
		}
		if k == MaxSeconds/BlockSeconds {
			continue
		}
		above := math.Nextafter(at, math.Inf(1))
		if got, err := Blocks(above); err != nil || got != k+1 {
			t.Errorf("Blocks(%v) = %d, %v; want %d", above, got, err, k+1)
		}
	}
}

func TestQuote(t *testing.T) {
	got, err := Quote(12, R720p)
	if err != nil {
		t.Fatalf("Quote: %v", err)
	}
	want := Estimate{Seconds: 12, Blocks: 3, Rate: 10, Credits: 30, Resolution: R720p}
	if got != want {
		t.Errorf("Quote(12, 720p) = %+v, want %+v", got, want)
	}
}

func TestEffectiveSeconds(t *testing.T) {
	tests := []struct {
		name                string
		requested, detected *float64
		want                float64
		wantErr             error
		wantField           string
	}{
		{"requested only", ptr(12), nil, 12, nil, ""},
		{"detected only", nil, ptr(33.3), 33.3, nil, ""},
		{"both, requested smaller", ptr(10), ptr(33.3), 10, nil, ""},
		{"both, detected smaller", ptr(60), ptr(33.3), 33.3, nil, ""},
		{"both equal", ptr(20), ptr(20), 20, nil, ""},
		{"requested caps a long video", ptr(120), ptr(600), 120, nil, ""},
		{"neither", nil, nil, 0, ErrNoDuration, FieldDuration},
		{"detected NaN is unknown", nil, ptr(math.NaN()), 0, ErrNoDuration, FieldDuration},
		{"detected zero is unknown", ptr(8), ptr(0), 8, nil, ""},
		{"detected too long", nil, ptr(130.5), 0, ErrTooLong, FieldDuration},
		{"requested too long", ptr(121), ptr(30), 0, ErrTooLong, FieldDuration},
		{"requested 120.001", ptr(120.001), nil, 0, ErrTooLong, FieldDuration},
		{"requested zero", ptr(0), ptr(30), 0, ErrInvalidSeconds, FieldDuration},
		{"requested below Akool minimum", ptr(0.5), nil, 0, ErrInvalidSeconds, FieldDuration},
		{"requested negative", ptr(-1), nil, 0, ErrInvalidSeconds, FieldDuration},
		{"requested NaN", ptr(math.NaN()), ptr(10), 0, ErrInvalidSeconds, FieldDuration},
		{"requested Inf", ptr(math.Inf(1)), ptr(10), 0, ErrInvalidSeconds, FieldDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EffectiveSeconds(tt.requested, tt.detected)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if err != nil {
				var pe *Error
				if !errors.As(err, &pe) {
					t.Fatalf("error %T is not *Error", err)
				}
				if pe.Field != tt.wantField {
					t.Errorf("field = %q, want %q", pe.Field, tt.wantField)
				}
			}
		})
	}
}

func TestEffectiveSecondsLongVideoMessage(t *testing.T) {
	_, err := EffectiveSeconds(nil, ptr(120.004))
	want := "the video is 120.01 s long — set a duration of at most 120 to use the first 120 s"
	if err == nil || err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestEstimateFor(t *testing.T) {
	tests := []struct {
		name                string
		requested, detected *float64
		res                 Resolution
		want                Estimate
		wantErr             error
	}{
		{"detected", nil, ptr(12), R720p, Estimate{Seconds: 12, Blocks: 3, Rate: 10, Credits: 30, Resolution: R720p, Detected: true}, nil},
		{"requested", ptr(10), ptr(12), R720p, Estimate{Seconds: 10, Blocks: 2, Rate: 10, Credits: 20, Resolution: R720p}, nil},
		{"detected shorter than requested", ptr(60), ptr(7), R1080p, Estimate{Seconds: 7, Blocks: 2, Rate: 15, Credits: 30, Resolution: R1080p, Detected: true}, nil},
		{"bad resolution first", nil, nil, "720", Estimate{}, ErrInvalidResolution},
		{"no duration", nil, nil, R480p, Estimate{}, ErrNoDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EstimateFor(tt.requested, tt.detected, tt.res)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantOK  bool
		wantErr error
	}{
		{"", 0, false, nil},
		{"   ", 0, false, nil},
		{"12", 12, true, nil},
		{" 12.5 ", 12.5, true, nil},
		{"12s", 12, true, nil},
		{"12 s", 12, true, nil},
		{"1", 1, true, nil},
		{"120", 120, true, nil},
		{".5", 0, false, ErrInvalidSeconds},
		{"0", 0, false, ErrInvalidSeconds},
		{"121", 0, false, ErrTooLong},
		{"120.001", 0, false, ErrTooLong},
		{"abc", 0, false, ErrInvalidSeconds},
		{"-5", 0, false, ErrInvalidSeconds},
		{"1e2", 0, false, ErrInvalidSeconds},
		{"0x10", 0, false, ErrInvalidSeconds},
		{"NaN", 0, false, ErrInvalidSeconds},
		{"Inf", 0, false, ErrInvalidSeconds},
		{"1_0", 0, false, ErrInvalidSeconds},
		{"1.2.3", 0, false, ErrInvalidSeconds},
		{".", 0, false, ErrInvalidSeconds},
		{"12,5", 0, false, ErrInvalidSeconds},
		{"<script>", 0, false, ErrInvalidSeconds},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok, err := ParseSeconds(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSeconds(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseSeconds(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
			if err != nil && err.Error() != DurationMessage {
				t.Errorf("ParseSeconds(%q) message %q, want the one rule %q", tt.in, err, DurationMessage)
			}
		})
	}
}

// -5, 0 and 0.5 used to get three different messages for one rule.
func TestDurationMessageIsOneRule(t *testing.T) {
	want := "the duration must be whole or decimal seconds from 1 to 120, like 12 or 12.5"
	if DurationMessage != want {
		t.Errorf("DurationMessage = %q, want %q", DurationMessage, want)
	}
	for _, in := range []string{"-5", "0", "0.5", ".5", "121", "abc", "NaN"} {
		if _, _, err := ParseSeconds(in); err == nil || err.Error() != want {
			t.Errorf("ParseSeconds(%q) = %v, want %q", in, err, want)
		}
	}
	for _, v := range []float64{-5, 0, 0.5, 121, math.NaN(), math.Inf(1)} {
		if err := CheckRequested(v); err == nil || err.Error() != want {
			t.Errorf("CheckRequested(%v) = %v, want %q", v, err, want)
		}
		r := v
		if _, err := EffectiveSeconds(&r, nil); err == nil || err.Error() != want {
			t.Errorf("EffectiveSeconds(%v, nil) = %v, want %q", v, err, want)
		}
	}
}

func TestSavingFor(t *testing.T) {
	tests := []struct {
		seconds float64
		res     Resolution
		want    Saving
		wantOK  bool
	}{
		{15.4, R720p, Saving{Seconds: 15, Credits: 10}, true}, // the example
		{15.000001, R1080p, Saving{Seconds: 15, Credits: 15}, true},
		{16, R480p, Saving{Seconds: 15, Credits: 5}, true}, // exactly 1 s over: still a little
		{5.5, R720p, Saving{Seconds: 5, Credits: 10}, true},
		{120, R720p, Saving{}, false},   // exact blocks: nothing to save
		{15, R720p, Saving{}, false},    // exact blocks
		{16.01, R720p, Saving{}, false}, // more than 1 s into the last block
		{12, R720p, Saving{}, false},    // Akool's example: 2 s over, leave it
		{4.5, R720p, Saving{}, false},   // one block: nothing shorter to send
		{1, R720p, Saving{}, false},
	}
	for _, tt := range tests {
		q, err := Quote(tt.seconds, tt.res)
		if err != nil {
			t.Fatalf("Quote(%v, %s): %v", tt.seconds, tt.res, err)
		}
		got, ok := SavingFor(q)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("SavingFor(%v s at %s) = %+v, %v; want %+v, %v", tt.seconds, tt.res, got, ok, tt.want, tt.wantOK)
		}
		if ok {
			shorter, _ := Credits(float64(got.Seconds), tt.res)
			if q.Credits-shorter != got.Credits {
				t.Errorf("SavingFor(%v s at %s) says it saves %d, Credits says %d", tt.seconds, tt.res, got.Credits, q.Credits-shorter)
			}
		}
	}
}

func TestParseResolutionAndMode(t *testing.T) {
	for _, r := range Resolutions() {
		got, err := ParseResolution(" " + string(r) + " ")
		if err != nil || got != r {
			t.Errorf("ParseResolution(%q) = %q, %v; want %q", r, got, err, r)
		}
	}
	if got, err := ParseResolution("1080P"); err != nil || got != R1080p {
		t.Errorf("ParseResolution(1080P) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "720", "4k", "1080p " + "x", "<b>"} {
		if _, err := ParseResolution(bad); !errors.Is(err, ErrInvalidResolution) {
			t.Errorf("ParseResolution(%q) error = %v, want ErrInvalidResolution", bad, err)
		}
	}
	for _, m := range Modes() {
		got, err := ParseMode(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
		if m.Description() == "" {
			t.Errorf("mode %q has no description", m)
		}
	}
	for _, bad := range []string{"", "swap", "Animate!"} {
		if _, err := ParseMode(bad); !errors.Is(err, ErrInvalidMode) {
			t.Errorf("ParseMode(%q) error = %v, want ErrInvalidMode", bad, err)
		}
	}
	if DefaultResolution.Rate() == 0 || DefaultMode.Description() == "" {
		t.Errorf("defaults must be valid")
	}
}

func TestFormatSeconds(t *testing.T) {
	for in, want := range map[float64]string{12: "12", 10.5: "10.5", 10.04: "10", 9.96: "10", 0.25: "0.3"} {
		if got := FormatSeconds(in); got != want {
			t.Errorf("FormatSeconds(%v) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkEstimateFor(b *testing.B) {
	req, det := 30.0, 42.5
	for b.Loop() {
		if _, err := EstimateFor(&req, &det, R1080p); err != nil {
			b.Fatal(err)
		}
	}
}
