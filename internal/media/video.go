package media

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	mp4 "github.com/abema/go-mp4"
)

// Defaults for video probing.
const (
	// DefaultVideoHeadBytes is the first ranged read of a video.
	DefaultVideoHeadBytes = 64 << 10
	// DefaultStreamBytes is how far a video is read from a server that
	// ignores Range before giving up with ErrNoDuration.
	DefaultStreamBytes = 8 << 20
	// DefaultMaxMoovBytes caps the moov box (the index), which is read
	// whole. A 120 s video needs far less: 120 s at 60 fps (ffmpeg, H.264
	// with B-frames, AAC at 48 kHz) has a moov of 188 KiB. 8 MiB fits over
	// an hour of such video; a longer file's probe asks the member for the
	// duration instead.
	DefaultMaxMoovBytes = 8 << 20
	// maxVideoRequests bounds the ranged reads of one probe.
	maxVideoRequests = 8
	// maxTopLevelBoxes bounds the walk over top-level box headers.
	maxTopLevelBoxes = 4096
	// peekBytes is read to learn the next box header when the rest of the
	// file is too large to fetch blindly.
	peekBytes = 4 << 10
	// tailGuessBytes: when a box header lies beyond what was read and the
	// rest of the file is at most this long, the rest is fetched at once
	// (it is almost always the moov of a file written without faststart).
	tailGuessBytes = 4 << 20
)

// VideoInfo describes a probed MP4 video.
type VideoInfo struct {
	Duration  float64 // seconds, from mvhd (or the video track's mdhd)
	Width     int     // display width of the video track
	Height    int     // display height of the video track
	Codec     string  // sample entry type of the video track, e.g. "avc1", "hvc1"
	Size      int64   // whole file size in bytes, -1 if the server did not say
	FastStart bool    // moov comes before mdat
}

// Messages a member sees for video problems.
const msgNoDuration = "could not read the video's length — enter the duration"

func errNoDuration(cause error) *Error { return newErr(ErrNoDuration, msgNoDuration, cause) }

func errTruncated(cause error) *Error {
	return newErr(ErrCorrupt, "the video file is incomplete or damaged", cause)
}

// errShort is returned by sources when the file ends before the bytes asked
// for; errCap when reading them would pass a byte cap.
var (
	errShort = errors.New("file ends early")
	errCap   = errors.New("byte cap reached")
)

// source serves the bytes of a remote file at increasing offsets.
type source interface {
	// bytesAt returns exactly n bytes at offset off, or errShort/errCap (or
	// a fetch error). off never goes backwards past data already returned.
	bytesAt(off, n int64) ([]byte, error)
	// size is the file's size, -1 if unknown.
	size() int64
}

type videoProbe struct {
	f            *Fetcher
	url          string
	head         int64
	streamCap    int64
	maxMoovBytes int64
}

func (p *videoProbe) run(ctx context.Context) (VideoInfo, error) {
	resp, err := p.f.Do(ctx, Request{URL: p.url, Length: p.head, Accept: "video/mp4,*/*;q=0.1"})
	if err != nil {
		return VideoInfo{}, err
	}
	defer resp.Body.Close()

	var src source
	var head []byte
	if resp.Partial {
		head, err = io.ReadAll(io.LimitReader(resp.Body, p.head))
		resp.Body.Close()
		if err != nil {
			return VideoInfo{}, readError(err)
		}
		total := resp.Total
		if total < 0 && int64(len(head)) < p.head {
			// Without a size, a short head means the file ended inside it.
			// With one, the server merely sent less than asked (some cap
			// 206 answers): the rest is fetched on demand.
			total = int64(len(head))
		}
		src = &rangedSource{ctx: ctx, p: p, total: total, data: head, requests: 1}
	} else {
		br := bufio.NewReaderSize(&io.LimitedReader{R: resp.Body, N: p.streamCap}, 32<<10)
		head, err = br.Peek(512)
		if err != nil && !errors.Is(err, io.EOF) {
			return VideoInfo{}, readError(err)
		}
		src = &streamSource{r: br, total: resp.Total, cap: p.streamCap}
	}
	if kind := sniff(head); kind != "mp4" {
		return VideoInfo{}, notVideoError(kind)
	}
	moov, fastStart, err := p.findMoov(src)
	if err != nil {
		return VideoInfo{}, err
	}
	info, err := parseMoov(moov)
	if err != nil {
		return VideoInfo{}, err
	}
	info.Size, info.FastStart = src.size(), fastStart
	return info, nil
}

// findMoov walks the top-level boxes by their headers and returns the moov
// box (header included).
func (p *videoProbe) findMoov(src source) (moov []byte, fastStart bool, err error) {
	var pos int64
	sawMdat := false
	for i := 0; ; i++ {
		if i >= maxTopLevelBoxes {
			return nil, false, newErr(ErrCorrupt, "the video file has too many parts", nil)
		}
		total := src.size()
		if total >= 0 && pos >= total {
			return nil, false, newErr(ErrCorrupt, "the video has no index (moov box) — it may be incomplete", nil)
		}
		hdr, err := src.bytesAt(pos, 8)
		if err != nil {
			return nil, false, p.walkError(err, pos == 0)
		}
		size := int64(binary.BigEndian.Uint32(hdr))
		typ := string(hdr[4:8])
		hdrLen := int64(8)
		switch size {
		case 1:
			h, err := src.bytesAt(pos, 16)
			if err != nil {
				return nil, false, p.walkError(err, false)
			}
			u := binary.BigEndian.Uint64(h[8:])
			if u > math.MaxInt64 {
				return nil, false, errTruncated(fmt.Errorf("box %q: size %d", typ, u))
			}
			size, hdrLen = int64(u), 16
		case 0: // extends to the end of the file
			if total < 0 {
				if typ == "moov" {
					return nil, false, errNoDuration(errors.New("moov to EOF with unknown size"))
				}
				return nil, false, errNoDuration(fmt.Errorf("box %q to EOF before moov", typ))
			}
			size = total - pos
		}
		if !isBoxType(typ) || size < hdrLen {
			if i == 0 {
				return nil, false, notVideoError("unknown")
			}
			return nil, false, errTruncated(fmt.Errorf("bad box %q size %d at %d", typ, size, pos))
		}
		if total >= 0 && size > total-pos {
			return nil, false, errTruncated(fmt.Errorf("box %q at %d: size %d past end %d", typ, pos, size, total))
		}
		switch typ {
		case "moov":
			if size > p.maxMoovBytes {
				return nil, false, errNoDuration(fmt.Errorf("moov of %d bytes", size))
			}
			b, err := src.bytesAt(pos, size)
			if err != nil {
				return nil, false, p.walkError(err, false)
			}
			return b, !sawMdat, nil
		case "mdat":
			sawMdat = true
		}
		if size > math.MaxInt64-pos {
			return nil, false, errTruncated(fmt.Errorf("box %q: size %d overflows", typ, size))
		}
		pos += size
	}
}

func (p *videoProbe) walkError(err error, atStart bool) error {
	switch {
	case errors.Is(err, errCap):
		return errNoDuration(err)
	case errors.Is(err, errShort) && atStart:
		return notVideoError("unknown")
	case errors.Is(err, errShort):
		return errTruncated(err)
	}
	return readError(err)
}

// isBoxType accepts four printable ASCII characters (© is used by QuickTime
// metadata but never at the top level).
func isBoxType(t string) bool {
	for i := 0; i < len(t); i++ {
		if t[i] < 0x20 || t[i] > 0x7e {
			return false
		}
	}
	return len(t) == 4
}

// rangedSource fetches byte ranges on demand, keeping one window of data.
type rangedSource struct {
	ctx      context.Context
	p        *videoProbe
	total    int64
	start    int64 // file offset of data[0]
	data     []byte
	requests int
}

func (s *rangedSource) size() int64 { return s.total }

func (s *rangedSource) bytesAt(off, n int64) ([]byte, error) {
	if s.total >= 0 && off+n > s.total {
		return nil, errShort
	}
	end := s.start + int64(len(s.data))
	if off >= s.start && off+n <= end {
		return s.data[off-s.start : off-s.start+n], nil
	}
	if off >= s.start && off < end {
		// Keep what we have from off on and fetch only the rest.
		s.data = append([]byte(nil), s.data[off-s.start:]...)
	} else {
		s.data = nil
	}
	s.start = off
	for int64(len(s.data)) < n {
		at := off + int64(len(s.data))
		want := n - int64(len(s.data))
		if n <= 16 {
			// Reading a box header: guess at how much more will be needed.
			switch {
			case s.total >= 0 && s.total-at <= tailGuessBytes:
				want = s.total - at // most likely moov is the rest of the file
			case s.total >= 0:
				want = peekBytes
			default:
				want = s.p.head
			}
		}
		if s.total >= 0 && want > s.total-at {
			want = s.total - at
		}
		if want <= 0 {
			return nil, errShort
		}
		got, err := s.fetch(at, want)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			return nil, errShort
		}
		s.data = append(s.data, got...)
	}
	return s.data[:n], nil
}

func (s *rangedSource) fetch(at, length int64) ([]byte, error) {
	if s.requests >= maxVideoRequests {
		return nil, errCap
	}
	s.requests++
	resp, err := s.p.f.Do(s.ctx, Request{URL: s.p.url, Start: at, Length: length})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if !resp.Partial {
		return nil, errCap // the server stopped honouring Range
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, length))
	if err != nil {
		return nil, err
	}
	return b, nil
}

// streamSource reads a response that ignored Range, from byte 0, up to cap.
type streamSource struct {
	r      *bufio.Reader
	total  int64
	cap    int64
	pos    int64 // bytes consumed from r
	last   []byte
	lastAt int64
}

func (s *streamSource) size() int64 { return s.total }

func (s *streamSource) bytesAt(off, n int64) ([]byte, error) {
	// Re-reading the start of the previous answer (a 16-byte header after an
	// 8-byte one) is served from it.
	if off >= s.lastAt && off < s.lastAt+int64(len(s.last)) {
		have := s.last[off-s.lastAt:]
		if int64(len(have)) >= n {
			return have[:n], nil
		}
		more, err := s.bytesAt(s.lastAt+int64(len(s.last)), n-int64(len(have)))
		if err != nil {
			return nil, err
		}
		return append(append([]byte(nil), have...), more...), nil
	}
	if off < s.pos {
		return nil, errors.New("stream source cannot go backwards")
	}
	if off+n > s.cap {
		return nil, errCap
	}
	if k, err := s.r.Discard(int(off - s.pos)); err != nil {
		s.pos += int64(k)
		return nil, s.eofError(err)
	}
	s.pos = off
	buf := make([]byte, n)
	k, err := io.ReadFull(s.r, buf)
	s.pos += int64(k)
	if err != nil {
		return nil, s.eofError(err)
	}
	s.last, s.lastAt = buf, off
	return buf, nil
}

func (s *streamSource) eofError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if s.pos >= s.cap {
			return errCap
		}
		return errShort
	}
	return err
}

func notVideoError(kind string) *Error {
	msg := "this link does not point to an MP4 video"
	switch kind {
	case "empty":
		msg = "the link returned an empty file"
	case "html":
		msg = "this link returns a web page, not a video"
	case "text":
		msg = "this link returns text, not a video"
	case "webm":
		msg = "WebM and MKV videos are not supported — use MP4"
	case "avi":
		msg = "AVI videos are not supported — use MP4"
	case "png", "jpeg", "gif", "webp", "bmp", "tiff", "ico", "heif", "svg":
		msg = "this link points to an image, not a video"
	case "pdf":
		msg = "this link points to a PDF document, not a video"
	}
	return newErr(ErrUnsupported, msg, nil)
}

// parseMoov reads duration, frame size and codec from a moov box.
func parseMoov(moov []byte) (info VideoInfo, err error) {
	defer func() {
		if r := recover(); r != nil { // malformed input must never take the server down
			info, err = VideoInfo{}, errTruncated(fmt.Errorf("mp4 parser panic: %v", r))
		}
	}()
	r := bytes.NewReader(moov)
	mvhds, err := mp4.ExtractBoxWithPayload(r, nil, mp4.BoxPath{mp4.BoxTypeMoov(), mp4.BoxTypeMvhd()})
	if err != nil {
		return VideoInfo{}, errTruncated(err)
	}
	if len(mvhds) == 0 {
		return VideoInfo{}, errTruncated(errors.New("no mvhd"))
	}
	mvhd := mvhds[0].Payload.(*mp4.Mvhd)
	duration := seconds(mvhd.GetDuration(), mvhd.Timescale, mvhd.GetVersion())

	traks, err := mp4.ExtractBox(r, nil, mp4.BoxPath{mp4.BoxTypeMoov(), mp4.BoxTypeTrak()})
	if err != nil {
		return VideoInfo{}, errTruncated(err)
	}
	hasAudio, found := false, false
	for _, trak := range traks {
		boxes, err := mp4.ExtractBoxesWithPayload(r, trak, []mp4.BoxPath{
			{mp4.BoxTypeTkhd()},
			{mp4.BoxTypeMdia(), mp4.BoxTypeHdlr()},
			{mp4.BoxTypeMdia(), mp4.BoxTypeMdhd()},
		})
		if err != nil {
			return VideoInfo{}, errTruncated(err)
		}
		var tkhd *mp4.Tkhd
		var hdlr *mp4.Hdlr
		var mdhd *mp4.Mdhd
		for _, b := range boxes {
			switch p := b.Payload.(type) {
			case *mp4.Tkhd:
				tkhd = p
			case *mp4.Hdlr:
				hdlr = p
			case *mp4.Mdhd:
				mdhd = p
			}
		}
		if hdlr == nil {
			continue
		}
		switch string(hdlr.HandlerType[:]) {
		case "soun":
			hasAudio = true
			continue
		case "vide":
		default:
			continue
		}
		if found {
			continue // the first video track is the one that counts
		}
		found = true
		codec, w, h, err := sampleEntry(r, trak)
		if err != nil {
			return VideoInfo{}, err
		}
		info.Codec = codec
		if tkhd != nil && tkhd.GetWidthInt() > 0 && tkhd.GetHeightInt() > 0 {
			w, h = int(tkhd.GetWidthInt()), int(tkhd.GetHeightInt())
			if tkhd.Matrix[0] == 0 && tkhd.Matrix[4] == 0 { // rotated by 90° or 270°
				w, h = h, w
			}
		}
		info.Width, info.Height = w, h
		if duration <= 0 && mdhd != nil {
			duration = seconds(mdhd.GetDuration(), mdhd.Timescale, mdhd.GetVersion())
		}
	}
	if !found {
		if hasAudio {
			return VideoInfo{}, newErr(ErrUnsupported, "this MP4 contains only sound, no video", nil)
		}
		return VideoInfo{}, newErr(ErrUnsupported, "this MP4 has no video track", nil)
	}
	if info.Codec == "encv" {
		return VideoInfo{}, newErr(ErrUnsupported, "this video is encrypted (DRM) and cannot be used", nil)
	}
	if duration <= 0 {
		return VideoInfo{}, errNoDuration(errors.New("zero duration (fragmented MP4?)"))
	}
	info.Duration = duration
	return info, nil
}

// seconds converts a duration in timescale units; all-ones means unknown.
func seconds(d uint64, timescale uint32, version uint8) float64 {
	if timescale == 0 || d == 0 || d == math.MaxUint64 || (version == 0 && d == math.MaxUint32) {
		return 0
	}
	return float64(d) / float64(timescale)
}

// sampleEntry returns the type of the first sample entry in trak's stsd and,
// for visual entries, the coded width and height.
func sampleEntry(r io.ReadSeeker, trak *mp4.BoxInfo) (codec string, w, h int, err error) {
	stsds, err := mp4.ExtractBox(r, trak, mp4.BoxPath{mp4.BoxTypeMdia(), mp4.BoxTypeMinf(), mp4.BoxTypeStbl(), mp4.BoxTypeStsd()})
	if err != nil {
		return "", 0, 0, errTruncated(err)
	}
	if len(stsds) == 0 {
		return "", 0, 0, errTruncated(errors.New("video track without stsd"))
	}
	stsd := stsds[0]
	// stsd payload: version+flags (4), entry_count (4), then the entries.
	if stsd.Size < stsd.HeaderSize+8+8 {
		return "", 0, 0, errTruncated(errors.New("empty stsd"))
	}
	if _, err := r.Seek(int64(stsd.Offset+stsd.HeaderSize+8), io.SeekStart); err != nil {
		return "", 0, 0, errTruncated(err)
	}
	entry, err := mp4.ReadBoxInfo(r)
	if err != nil {
		return "", 0, 0, errTruncated(err)
	}
	codec = entry.Type.String()
	// VisualSampleEntry: 6 reserved + 2 data_reference_index + 16 predefined
	// and reserved, then width and height (16 bits each).
	if entry.Size >= entry.HeaderSize+28 && entry.Offset+entry.Size <= stsd.Offset+stsd.Size {
		var wh [4]byte
		if _, err := r.Seek(int64(entry.Offset+entry.HeaderSize+24), io.SeekStart); err == nil {
			if _, err := io.ReadFull(r, wh[:]); err == nil {
				w = int(binary.BigEndian.Uint16(wh[0:]))
				h = int(binary.BigEndian.Uint16(wh[2:]))
			}
		}
	}
	return codec, w, h, nil
}
