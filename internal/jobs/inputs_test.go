package jobs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"swapdesk/db"
	"swapdesk/internal/akool"
	"swapdesk/internal/media"
	"swapdesk/internal/storage"
)

const pngBytes = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR a tiny png"

// TestKeepImage keeps PNG and JPEG images, sniffed by their bytes, and
// refuses anything else or anything too large, keeping nothing then.
func TestKeepImage(t *testing.T) {
	files := map[string]string{
		"/a.png":      pngBytes,
		"/b.jpg":      "\xff\xd8\xff\xe0 a jpeg",
		"/named.png":  "<!doctype html><p>not an image</p>",
		"/big.png":    pngBytes + strings.Repeat("x", 2000),
		"/empty.png":  "",
		"/jpeg.image": "\xff\xd8\xff\xdb another jpeg",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png") // never trusted
		io.WriteString(w, body)
	}))
	defer srv.Close()
	cases := []struct {
		path    string
		wantKey string // suffix; "" for nothing kept
		ctype   string
	}{
		{"/a.png", ".png", "image/png"},
		{"/b.jpg", ".jpg", "image/jpeg"},
		{"/jpeg.image", ".jpg", "image/jpeg"},
		{"/named.png", "", ""},
		{"/big.png", "", ""},
		{"/empty.png", "", ""},
		{"/missing.png", "", ""},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, 100)
			job, _, err := f.svc.Submit(ctx, f.userID, validInput())
			if err != nil {
				t.Fatal(err)
			}
			st := fileMedia(t, t.TempDir())
			k := NewInputs(InputsConfig{Store: f.store, Open: media.NewFetcher(media.Options{AllowPrivate: true}), Media: st, MaxBytes: 1024})
			job.ImageURL = srv.URL + c.path
			err = k.KeepImage(ctx, job)
			got, _ := f.store.JobByID(ctx, job.ID)
			if c.wantKey == "" {
				if err == nil || got.ImageKey != "" {
					t.Fatalf("kept %q (err %v), want nothing", got.ImageKey, err)
				}
				n := 0
				st.List(ctx, "", func(storage.Info) error { n++; return nil })
				if n != 0 {
					t.Errorf("%d files left in the store", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(got.ImageKey, "inputs/") || !strings.HasSuffix(got.ImageKey, c.wantKey) || got.ImageType != c.ctype {
				t.Fatalf("kept %q as %q, want inputs/…%s as %s", got.ImageKey, got.ImageType, c.wantKey, c.ctype)
			}
			r, err := st.Open(ctx, got.ImageKey)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if b, _ := io.ReadAll(r); string(b) != files[c.path] {
				t.Errorf("kept %q, want the file's bytes", b)
			}
		})
	}
}

// The safe fetcher's address rule holds for kept images too.
func TestKeepImageRefusesPrivateAddresses(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 100)
	job, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	st := fileMedia(t, t.TempDir())
	k := NewInputs(InputsConfig{Store: f.store, Open: media.NewFetcher(media.Options{}), Media: st})
	job.ImageURL = "http://127.0.0.1:1/a.png"
	if err := k.KeepImage(ctx, job); !errors.Is(err, media.ErrForbiddenAddress) {
		t.Fatalf("err = %v, want ErrForbiddenAddress", err)
	}
}

// Submit hands each job Akool accepted to OnSubmitted, and no other.
func TestSubmitHandsAcceptedJobsOn(t *testing.T) {
	var got []db.Job
	f := newFixture(t, 100, func(c *Config) { c.OnSubmitted = func(j db.Job) { got = append(got, j) } })
	ctx := context.Background()
	job, _, err := f.svc.Submit(ctx, f.userID, validInput())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != job.ID || got[0].ImageURL != imageURL {
		t.Fatalf("OnSubmitted got %+v, want job %d", got, job.ID)
	}
	f.akool.create = func(context.Context, akool.CreateRequest) (*akool.Job, error) {
		return nil, &akool.Error{Code: 1003, Msg: "bad", Op: "create"}
	}
	in := validInput()
	in.IdempotencyKey = "form-token-000000000002"
	if job, _, err := f.svc.Submit(ctx, f.userID, in); err != nil || job.Status != db.JobRejected {
		t.Fatalf("rejected submit: %+v, %v", job.Status, err)
	}
	if len(got) != 1 {
		t.Errorf("OnSubmitted called for a rejected job")
	}
}
