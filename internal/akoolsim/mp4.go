package akoolsim

import (
	"bytes"

	mp4 "github.com/abema/go-mp4"
)

// mp4Duration returns the movie duration in seconds from moov/mvhd, or 0
// when the file has none or is malformed. It never panics, whatever data holds.
func mp4Duration(data []byte) (seconds float64) {
	defer func() {
		if recover() != nil {
			seconds = 0
		}
	}()
	boxes, err := mp4.ExtractBoxWithPayload(bytes.NewReader(data), nil, mp4.BoxPath{mp4.BoxTypeMoov(), mp4.BoxTypeMvhd()})
	if err != nil || len(boxes) == 0 {
		return 0
	}
	mvhd, ok := boxes[0].Payload.(*mp4.Mvhd)
	if !ok || mvhd.Timescale == 0 {
		return 0
	}
	return float64(mvhd.GetDuration()) / float64(mvhd.Timescale)
}
