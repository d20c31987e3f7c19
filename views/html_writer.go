package views

import (
	"io"
	"strconv"
	"sync"
	"time"
)

// htmlWriter builds hand-rendered markup (galleryTilesFast, ListCard,
// optionList) in a byte slice and writes it to w in one piece with flush:
// a gallery page's tiles are a thousand short pieces, and a write through
// templ's buffer for each cost more than appending them.
type htmlWriter struct {
	w io.Writer
	b []byte
}

// htmlBuffers are reused markup buffers (a gallery page's tiles: ~30 KB).
var htmlBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledHTML keeps an unusually large buffer out of the pool.
const maxPooledHTML = 256 << 10

func newHTMLWriter(w io.Writer) htmlWriter {
	return htmlWriter{w: w, b: (*htmlBuffers.Get().(*[]byte))[:0]}
}

// flush writes what was built to w and gives the buffer back; tw is not
// used after.
func (tw *htmlWriter) flush() error {
	_, err := tw.w.Write(tw.b)
	if cap(tw.b) <= maxPooledHTML {
		b := tw.b[:0]
		htmlBuffers.Put(&b)
	}
	tw.b = nil
	return err
}

func (tw *htmlWriter) raw(s string) { tw.b = append(tw.b, s...) }

// esc writes s escaped as html.EscapeString (and so templ.EscapeString)
// escapes it: & ' < > " as &amp; &#39; &lt; &gt; &#34;.
func (tw *htmlWriter) esc(s string) {
	start := 0
	for i := 0; i < len(s); i++ {
		var rep string
		switch s[i] {
		case '&':
			rep = "&amp;"
		case '\'':
			rep = "&#39;"
		case '<':
			rep = "&lt;"
		case '>':
			rep = "&gt;"
		case '"':
			rep = "&#34;"
		default:
			continue
		}
		tw.b = append(tw.b, s[start:i]...)
		tw.b = append(tw.b, rep...)
		start = i + 1
	}
	tw.b = append(tw.b, s[start:]...)
}

// time writes t in UTC with layout (digits and fixed text: nothing to
// escape).
func (tw *htmlWriter) time(t time.Time, layout string) { tw.b = appendTime(tw.b, t, layout) }

// appendTime appends t in UTC formatted with layout, as t.UTC().AppendFormat
// does. The two layouts a tile shows (time.RFC3339, dateTimeLayout) are
// put together from the date's numbers, a tenth of AppendFormat's cost,
// for the years of four digits; anything else goes to AppendFormat.
func appendTime(b []byte, t time.Time, layout string) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 1000 || y > 9999 || (layout != time.RFC3339 && layout != dateTimeLayout) {
		return t.AppendFormat(b, layout)
	}
	h, mi, s := t.Clock()
	if layout == time.RFC3339 { // 2006-01-02T15:04:05Z
		b = strconv.AppendInt(b, int64(y), 10)
		b = append2(append(b, '-'), int(mo))
		b = append2(append(b, '-'), d)
		b = append2(append(b, 'T'), h)
		b = append2(append(b, ':'), mi)
		b = append2(append(b, ':'), s)
		return append(b, 'Z')
	}
	// 2 Jan 2006, 15:04 UTC
	b = strconv.AppendInt(b, int64(d), 10)
	b = append(b, ' ')
	b = append(b, mo.String()[:3]...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(y), 10)
	b = append2(append(b, ", "...), h)
	b = append2(append(b, ':'), mi)
	return append(b, " UTC"...)
}

// append2 appends n (0–99) in two digits.
func append2(b []byte, n int) []byte { return append(b, byte('0'+n/10), byte('0'+n%10)) }
