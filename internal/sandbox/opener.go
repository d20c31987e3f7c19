package sandbox

import (
	"context"
	"net/url"
	"time"

	"swapdesk/internal/jobs"
	"swapdesk/internal/media"
	"swapdesk/static"
)

// Opener lets the archiver download results from the embedded
// sandbox, and the input keeper copy the sample character image, which
// this server serves on its loopback address, while every other URL goes
// through the normal fetcher and its address rule. It only ever contacts
// 127.0.0.1 on our own port, under the sandbox's results path or the
// samples' one.
type Opener struct {
	remote, local jobs.Opener
	port          string
}

// NewOpener returns remote wrapped to fetch the sandbox's results on port
// locally, with timeout.
func NewOpener(remote jobs.Opener, port string, timeout time.Duration) *Opener {
	local := media.NewFetcher(media.Options{AllowPrivate: true, MaxRedirects: -1, Timeout: timeout})
	return &Opener{remote: remote, local: local, port: port}
}

// Open opens raw: the sandbox's results on our port locally, the rest
// through remote.
func (o *Opener) Open(ctx context.Context, raw string, maxBytes int64) (*media.Response, error) {
	u, err := url.Parse(raw)
	if err == nil {
		if local, ok := (ownServer{port: o.port}).link(u, Prefix+"/results/", static.Prefix+"samples/"); ok {
			local.RawQuery = "" // as before: the results path alone names the file
			return o.local.Open(ctx, local.String(), maxBytes)
		}
	}
	return o.remote.Open(ctx, raw, maxBytes)
}
