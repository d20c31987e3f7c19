package views

import (
	"context"
	"io"
	"strconv"

	"github.com/a-h/templ"

	"swapdesk/internal/jobstatus"
	"swapdesk/internal/urls"
)

// ListCard is Card for the cards of a list (the jobs list, the dashboard,
// and their polls), written by hand: a list renders 20 of them, and templ's runtime spent
// about 30 allocations on each (values boxed and escaped one by one, text
// through fmt.Sprint, a context per nested component). The job page's
// full card (c.Full) is Card itself. Card in job_card.templ stays the
// reference markup: TestListCardMatchesTempl renders every branch both
// ways, hostile text included, and wants the same bytes.
func ListCard(c JobCard) templ.Component {
	if c.Full {
		return Card(c)
	}
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		tw := newHTMLWriter(w)
		tw.listCard(c)
		return tw.flush()
	})
}

func (tw *htmlWriter) listCard(c JobCard) {
	id := strconv.FormatInt(c.ID, 10) // digits: nothing to escape
	tw.raw(`<article id="job-card-`)
	tw.raw(id)
	tw.raw(`" class="job-card" data-final="`)
	tw.raw(boolStr(c.Final))
	tw.raw(`" data-own="`)
	tw.raw(boolStr(c.Own))
	tw.raw(`"`)
	switch {
	case !c.Final:
		tw.raw(` hx-get="`)
		tw.esc(c.PollURL())
		tw.raw(`" hx-trigger="every 2s" hx-swap="outerHTML"`)
	case c.Archiving:
		tw.raw(` hx-get="`)
		tw.esc(c.PollURL())
		tw.raw(`" hx-trigger="every 10s" hx-swap="outerHTML"`)
	}
	tw.raw(`><div class="job-card-head">`)
	if c.ThumbURL != "" {
		tw.raw(`<img class="job-card-thumb" src="`)
		tw.esc(string(templ.URL(c.ThumbURL)))
		tw.raw(`" alt="" width="64" height="36" loading="lazy" decoding="async"> `)
	}
	tw.raw(`<a class="job-card-title" href="`)
	tw.raw(urls.Job(c.ID))
	tw.raw(`">Swap #`)
	tw.raw(id)
	tw.raw(`</a><span class="`)
	tw.esc(c.Status.Badge())
	tw.raw(`" role="status">`)
	tw.esc(c.Status.Label())
	tw.raw(`</span><span class="muted job-card-time">`)
	tw.esc(c.Elapsed)
	tw.raw(`</span></div>`)
	if c.JustFinished && c.Status == jobstatus.Succeeded {
		tw.raw(`<p class="job-card-note ok" role="alert">Finished — your video is ready.</p>`)
	} else if c.JustFinished && c.Status != jobstatus.Failed {
		tw.raw(`<p class="job-card-note err" role="alert">This swap ended without a video.</p>`)
	}
	tw.raw(`<p class="job-card-meta">`)
	tw.esc(c.Summary)
	tw.raw(` `)
	if c.Owner != "" {
		tw.raw(`· `)
		tw.esc(c.Owner)
		tw.raw(` `)
	}
	tw.raw(`· `)
	tw.esc(c.Credits)
	tw.raw(`</p>`)
	if c.Status == jobstatus.Failed {
		tw.raw(`<div class="job-card-failure"`)
		if c.JustFinished {
			tw.raw(` role="alert"`)
		}
		tw.raw(`><p class="job-card-note err">This swap failed.</p>`)
		if c.Error != "" {
			tw.raw(`<p class="field-error">Akool's reason: `)
			tw.esc(c.Error)
			tw.raw(`</p>`)
		}
		if c.Refund != "" {
			tw.raw(`<p class="job-card-refund">`)
			tw.esc(c.Refund)
			tw.raw(`</p>`)
		}
		tw.raw(`</div>`)
	} else if c.Error != "" {
		tw.raw(`<p class="field-error">`)
		tw.esc(c.Error)
		tw.raw(`</p>`)
	}
	if c.ExpiresIn != "" {
		tw.raw(`<p><span class="badge badge-wait">Akool's copy — expires `)
		tw.esc(c.ExpiresIn)
		tw.raw(`</span></p>`)
	}
	if c.ArchiveNote != "" {
		tw.raw(`<p class="muted">`)
		tw.esc(c.ArchiveNote)
		tw.raw(`</p>`)
	}
	tw.raw(`</article>`)
}
