package media

import (
	"context"
	"time"
)

// Defaults for ProberOptions.
const (
	DefaultCacheTTL  = 5 * time.Minute
	DefaultErrorTTL  = 20 * time.Second
	DefaultCacheSize = 1024
	// DefaultProbeTimeout bounds one probe as a whole, all its requests
	// together (each request also has the Fetcher's Timeout).
	DefaultProbeTimeout = 20 * time.Second
	// DefaultMaxProbes is how many probes may run at once; more callers
	// wait for a free slot.
	DefaultMaxProbes = 8
	// DefaultMaxPerMember is how many of those one member's probes may
	// hold (see ForMember): one estimate probes an image and a video.
	DefaultMaxPerMember = 2
	// DefaultMemberWait is how long a member's probe waits for one of the
	// member's own probes to end before ErrBusy.
	DefaultMemberWait = time.Second
)

// ProberOptions configure a Prober; zero values take the defaults.
type ProberOptions struct {
	CacheTTL  time.Duration    // how long results are kept (DefaultCacheTTL)
	ErrorTTL  time.Duration    // how long errors are kept, so typing does not refetch (DefaultErrorTTL)
	CacheSize int              // most URLs kept (DefaultCacheSize)
	Now       func() time.Time // clock for the cache (time.Now)

	ProbeTimeout time.Duration // bound on one probe, all requests together (DefaultProbeTimeout)
	MaxProbes    int           // probes running at once (DefaultMaxProbes)
	MaxPerMember int           // probes running at once for one member (DefaultMaxPerMember)
	MemberWait   time.Duration // wait for one of the member's own probes to end (DefaultMemberWait; negative: none)

	ImageHeaderBytes int64 // most bytes read of an image (DefaultImageHeaderBytes)
	VideoHeadBytes   int64 // first ranged read of a video (DefaultVideoHeadBytes)
	StreamBytes      int64 // most bytes read from a server without Range support (DefaultStreamBytes)
	MaxMoovBytes     int64 // largest moov box read (DefaultMaxMoovBytes)
}

// Prober probes image and video links through a Fetcher and caches the
// results per URL. It is safe for concurrent use; concurrent probes of the
// same URL share one fetch. One probe takes at most ProbeTimeout, and at
// most MaxProbes run at once, at most MaxPerMember of them for the member
// named by ForMember, with free slots going to the members running fewest:
// use one Prober for the whole process so the bounds hold for everyone.
type Prober struct {
	f     *Fetcher
	cache *cache

	imageHeader int64
	videoHead   int64
	stream      int64
	maxMoov     int64
}

// NewProber returns a Prober using f.
func NewProber(f *Fetcher, opts ProberOptions) *Prober {
	def := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&opts.ImageHeaderBytes, DefaultImageHeaderBytes)
	def(&opts.VideoHeadBytes, DefaultVideoHeadBytes)
	def(&opts.StreamBytes, DefaultStreamBytes)
	def(&opts.MaxMoovBytes, DefaultMaxMoovBytes)
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = DefaultCacheTTL
	}
	if opts.ErrorTTL <= 0 {
		opts.ErrorTTL = DefaultErrorTTL
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = DefaultProbeTimeout
	}
	if opts.MaxProbes <= 0 {
		opts.MaxProbes = DefaultMaxProbes
	}
	if opts.MaxPerMember <= 0 {
		opts.MaxPerMember = DefaultMaxPerMember
	}
	switch {
	case opts.MemberWait == 0:
		opts.MemberWait = DefaultMemberWait
	case opts.MemberWait < 0:
		opts.MemberWait = 0
	}
	return &Prober{
		f: f,
		cache: newCache(cacheConfig{now: opts.Now, ttl: opts.CacheTTL, errTTL: opts.ErrorTTL, size: opts.CacheSize,
			timeout: opts.ProbeTimeout, concurrent: opts.MaxProbes, perMember: opts.MaxPerMember, memberWait: opts.MemberWait}),
		imageHeader: opts.ImageHeaderBytes,
		videoHead:   opts.VideoHeadBytes,
		stream:      opts.StreamBytes,
		maxMoov:     opts.MaxMoovBytes,
	}
}

// Fetcher returns the Prober's Fetcher.
func (p *Prober) Fetcher() *Fetcher { return p.f }

// ProbeImage returns the format and size of the PNG or JPEG image at
// rawURL, reading only its first bytes.
//
// Errors are *Error values: those of Fetcher.Do, ErrUnsupported for
// anything that is not PNG or JPEG (judged by content, with messages such as
// "WebP images are not supported — use PNG or JPEG" or "this link returns a
// web page, not an image"), ErrCorrupt for a damaged header, ErrTimeout
// when the probe takes longer than ProbeTimeout, ErrBusy when ctx's member
// already runs MaxPerMember probes (see ForMember). If ctx ends first (also
// while waiting for a free probe slot), ctx's error is returned.
func (p *Prober) ProbeImage(ctx context.Context, rawURL string) (ImageInfo, error) {
	u, err := ValidateURL(rawURL, p.f.allowPrivate)
	if err != nil {
		return ImageInfo{}, err
	}
	link := u.String()
	v, err := p.cache.do(ctx, "image "+link, func(ctx context.Context) (any, error) {
		return probeImage(ctx, p.f, link, p.imageHeader)
	})
	if err != nil {
		return ImageInfo{}, err
	}
	return v.(ImageInfo), nil
}

// ProbeVideo returns the duration, frame size and codec of the MP4 video
// at rawURL. It reads the first VideoHeadBytes with a Range request and, if
// the moov box lies further on, fetches just that box; it never downloads
// the media data.
//
// Errors are *Error values: those of Fetcher.Do; ErrNoDuration ("could not
// read the video's length — enter the duration") when the length cannot be
// read cheaply (no Range support and moov beyond StreamBytes, a huge moov,
// fragmented MP4); ErrUnsupported for content that is not MP4 (HTML, images,
// WebM...) or has no video track; ErrCorrupt for truncated or malformed
// files; ErrTimeout when the probe takes longer than ProbeTimeout; ErrBusy
// when ctx's member already runs MaxPerMember probes (see ForMember). If
// ctx ends first (also while waiting for a free probe slot), ctx's error is
// returned.
func (p *Prober) ProbeVideo(ctx context.Context, rawURL string) (VideoInfo, error) {
	u, err := ValidateURL(rawURL, p.f.allowPrivate)
	if err != nil {
		return VideoInfo{}, err
	}
	link := u.String()
	v, err := p.cache.do(ctx, "video "+link, func(ctx context.Context) (any, error) {
		vp := &videoProbe{f: p.f, url: link, head: p.videoHead, streamCap: p.stream, maxMoovBytes: p.maxMoov}
		return vp.run(ctx)
	})
	if err != nil {
		return VideoInfo{}, err
	}
	return v.(VideoInfo), nil
}
