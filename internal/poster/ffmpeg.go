// Package poster cuts a poster image (JPEG) and a short muted preview clip
// (MP4, H.264) from an archived result with ffmpeg, the standard tool for
// this (Immich and PhotoPrism shell out to it the same way). It knows files
// on local disk only: the caller copies the result out of the media store
// and stores what comes back.
package poster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ErrUnavailable means ffmpeg is not installed (not on PATH).
var ErrUnavailable = errors.New("ffmpeg is not on PATH")

// Sizes and lengths of what Maker makes.
const (
	// PosterWidth is the poster's largest width; narrower videos keep theirs.
	PosterWidth = 640
	// PreviewWidth is the preview clip's largest width: a gallery tile is
	// about 300 CSS px wide, so 480 covers 1.5x screens and stays small.
	PreviewWidth = 480
	// PreviewSeconds is the preview clip's length.
	PreviewSeconds = 3
)

// Maker runs ffmpeg.
type Maker struct {
	path    string
	timeout time.Duration
}

// New looks ffmpeg up on PATH. Without it the error is ErrUnavailable and
// Swapdesk shows the archived character image instead of posters.
func New(timeout time.Duration) (*Maker, error) {
	p, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, ErrUnavailable
	}
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	return &Maker{path: p, timeout: timeout}, nil
}

// Path is the ffmpeg binary Maker runs.
func (m *Maker) Path() string { return m.path }

// At is where the poster frame is taken from a video of length seconds:
// 1 s in, or 10 % of the length for clips shorter than 10 s (the first
// frames of a swap are often still settling); 0 when the length is unknown.
func At(seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return min(1, seconds/10)
}

// Poster writes a JPEG of the frame at seconds into in to out, scaled down
// to PosterWidth wide at most.
func (m *Maker) Poster(ctx context.Context, in, out string, at float64) error {
	return m.run(ctx,
		// Seeking before -i jumps to the key frame before at and decodes
		// from there, instead of decoding everything up to at.
		"-ss", seconds(at),
		inputArgs(in),
		"-frames:v", "1", "-an", "-sn", "-dn",
		"-vf", scale(PosterWidth),
		"-q:v", "4", // JPEG quality (2 best .. 31): ~40 KB for 640x360
		"-f", "image2", "-update", "1", out)
}

// Preview writes a short muted clip of the video in into out: H.264 (plays
// everywhere), PreviewWidth wide at most, 24 fps, no audio, with its index
// at the front (faststart) so a tile starts playing at once.
func (m *Maker) Preview(ctx context.Context, in, out string, at float64) error {
	return m.run(ctx,
		"-ss", seconds(at),
		inputArgs(in),
		"-t", strconv.Itoa(PreviewSeconds),
		"-an", "-sn", "-dn", "-map_metadata", "-1",
		"-vf", scale(PreviewWidth)+",fps=24",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "30",
		"-profile:v", "main", "-pix_fmt", "yuv420p",
		"-movflags", "+faststart",
		"-f", "mp4", out)
}

// inputArgs read in as a local MP4 (or QuickTime) file and nothing else: an
// archived result comes from Akool, and the protocol whitelist keeps a
// crafted file from making ffmpeg open other files or the network.
func inputArgs(in string) []string {
	return []string{"-protocol_whitelist", "file", "-f", "mov", "-i", "file:" + in}
}

// scale keeps the aspect ratio and an even height (H.264 needs it), and
// never enlarges.
func scale(width int) string {
	return fmt.Sprintf("scale='min(%d,iw)':-2", width)
}

func seconds(s float64) string { return strconv.FormatFloat(max(s, 0), 'f', 3, 64) }

// run runs ffmpeg with args (strings or []string), bounded by the Maker's
// timeout; its error carries the end of ffmpeg's error output.
func (m *Maker) run(ctx context.Context, args ...any) error {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	argv := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y"}
	for _, a := range args {
		switch v := a.(type) {
		case string:
			argv = append(argv, v)
		case []string:
			argv = append(argv, v...)
		}
	}
	cmd := exec.CommandContext(ctx, m.path, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &limited{buf: &stderr, max: 4 << 10}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("ffmpeg: stopped after %s: %w", m.timeout, ctx.Err())
		}
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return fmt.Errorf("ffmpeg: %w: %s", err, msg)
	}
	return nil
}

// limited keeps the first max bytes written to it.
type limited struct {
	buf *bytes.Buffer
	max int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
