package app_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"swapdesk/db"
	"swapdesk/db/dbtest"
	"swapdesk/internal/app"
	"swapdesk/internal/credits"
)

// New in sandbox mode builds a working app whose loops start and stop, and
// closes the store it opened but not one it was given.
func TestNewStartShutdown(t *testing.T) {
	for _, given := range []bool{false, true} {
		dir := t.TempDir()
		cfg := app.Config{DataDir: dir, LocalURL: "http://127.0.0.1:1"}
		if given {
			cfg.Store = dbtest.Open(t)
		}
		a, err := app.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if a.Sandbox == nil {
			t.Fatal("no Akool key, yet no embedded sandbox")
		}
		a.Start()
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		if rec.Code != http.StatusOK {
			t.Errorf("healthz: %d", rec.Code)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		cancel()
		err = a.Store.Ping(context.Background())
		if given && err != nil {
			t.Errorf("the given store was closed: %v", err)
		}
		if !given && err == nil {
			t.Error("the store New opened is still open after Shutdown")
		}
		if _, err := os.Stat(filepath.Join(dir, "media")); err != nil {
			t.Errorf("media dir: %v", err)
		}
	}
}

// A data dir where the media directory cannot be made names the setting.
func TestNewNamesTheSetting(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "media"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := app.New(context.Background(), app.Config{DataDir: dir, LocalURL: "http://127.0.0.1:1"})
	var se *app.SettingError
	if !errors.As(err, &se) || se.Setting != "SWAPDESK_DATA_DIR" {
		t.Fatalf("err = %v, want a SettingError for SWAPDESK_DATA_DIR", err)
	}
}

// Posters are made when ffmpeg is on PATH at start-up, and only then.
func TestPostersNeedFFmpegOnPath(t *testing.T) {
	_, lookErr := exec.LookPath("ffmpeg")
	for _, c := range []struct {
		path string
		want bool
	}{{os.Getenv("PATH"), lookErr == nil}, {t.TempDir(), false}} {
		t.Setenv("PATH", c.path)
		a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), LocalURL: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Posters.Available(); got != c.want {
			t.Errorf("PATH %q: posters available = %v, want %v", c.path, got, c.want)
		}
		a.Close()
	}
}

// The app's credit service works on the app's store, with the app's clock.
func TestNewBuildsTheCreditService(t *testing.T) {
	at := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	store := dbtest.Open(t)
	a, err := app.New(context.Background(), app.Config{DataDir: t.TempDir(), LocalURL: "http://127.0.0.1:1",
		Store: store, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })
	if a.Credits == nil {
		t.Fatal("App.Credits is nil")
	}
	ctx := context.Background()
	u, err := store.CreateUser(ctx, "ana@example.com", "Ana", db.RoleMember, "h")
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Credits.Grant(ctx, credits.Change{MemberID: u.ID, Amount: 40, Note: "welcome"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Balance.Available != 40 || !res.Entry.CreatedAt.Equal(at) {
		t.Errorf("grant: balance %+v, entry at %v; want 40 available, written at %v", res.Balance, res.Entry.CreatedAt, at)
	}
}
