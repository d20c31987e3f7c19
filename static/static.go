// Package static holds Swapdesk's embedded assets (our CSS, icons, sample
// media, and the front-end packages `make vendor` copies into vendor/) and
// serves them under content-hash URLs so browsers may cache them forever.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"swapdesk/internal/apperr"
)

// The pattern takes whatever is present, so a checkout without vendor/ still
// compiles; Assets.Missing reports what the build forgot.
//
//go:embed *
var files embed.FS

// Prefix is the URL path under which assets are served.
const Prefix = "/static/"

// served lists the file types we serve; Go sources and notes in this
// directory are embedded by the pattern above but never served.
var served = map[string]string{
	".css":   "text/css; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".png":   "image/png",
	".jpg":   "image/jpeg",
	".svg":   "image/svg+xml",
	".ico":   "image/x-icon",
	".mp4":   "video/mp4",
	".woff2": "font/woff2",
}

// Required lists the assets every page needs; Missing reports those absent.
var Required = []string{"app.css", "app.js", "vendor/htmx.min.js"}

// Assets maps asset names to content-hash URLs and serves them.
type Assets struct {
	fsys   fs.FS
	hashed map[string]string // "app.css" -> "app.3f2a1b9c0d.css"
	byHash map[string]string // "app.3f2a1b9c0d.css" -> "app.css"
}

// New indexes the embedded assets.
func New() (*Assets, error) { return newAssets(files) }

func newAssets(fsys fs.FS) (*Assets, error) {
	a := &Assets{fsys: fsys, hashed: map[string]string{}, byHash: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := served[path.Ext(p)]; !ok {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		h := strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		a.hashed[p] = h
		a.byHash[h] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index static assets: %w", err)
	}
	return a, nil
}

// Missing returns the Required assets that were not embedded.
func (a *Assets) Missing() []string {
	var out []string
	for _, r := range Required {
		if _, ok := a.hashed[r]; !ok {
			out = append(out, r)
		}
	}
	return out
}

// URL returns the content-hash URL of asset name ("app.css"). An unknown
// name yields the plain path, so a missing asset shows up as a 404 in the
// browser rather than a broken page render.
func (a *Assets) URL(name string) string {
	if h, ok := a.hashed[name]; ok {
		return Prefix + h
	}
	return Prefix + name
}

// Serve writes an asset by its hashed name with a year-long immutable
// cache, or by its plain name (sample media linked from forms) revalidated on
// every use. Anything else is an error wrapping apperr.ErrNotFound, written
// by nothing: the caller's error handler answers it like any other miss.
func (a *Assets) Serve(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	if orig, ok := a.byHash[name]; ok {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		return a.serve(w, r, orig)
	}
	if _, ok := a.hashed[name]; ok {
		w.Header().Set("Cache-Control", "no-cache")
		return a.serve(w, r, name)
	}
	return fmt.Errorf("static asset %q: %w", name, apperr.ErrNotFound)
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request, name string) error {
	f, err := a.fsys.Open(name)
	if err != nil {
		return fmt.Errorf("static asset %q: %w", name, apperr.ErrNotFound)
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		return fmt.Errorf("static asset %q is not seekable", name)
	}
	ct := served[path.Ext(name)]
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(name))
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("ETag", `"`+strings.TrimSuffix(path.Base(a.hashed[name]), path.Ext(name))+`"`)
	// Zero modtime: embedded files have none, ETag does the revalidation.
	http.ServeContent(w, r, name, time.Time{}, rs)
	return nil
}
