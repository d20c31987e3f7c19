package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"swapdesk/db"
	"swapdesk/internal/fields"
)

// env builds a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// server is a running `swapdesk serve`.
type server struct {
	URL      string
	Password string // the first-run admin password, when printed
	stop     func()
}

var runningLine = regexp.MustCompile(`^Swapdesk is running at (\S+)(?: — sign in as (\S+) / (\S+))?`)

// startServe runs the real app on 127.0.0.1:0 and waits for its URL line.
func startServe(t *testing.T, vars map[string]string, flags ...string) *server {
	t.Helper()
	if vars["SWAPDESK_ADDR"] == "" {
		vars["SWAPDESK_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, flags...), env(vars), strings.NewReader(""), pw, io.Discard)
		pw.Close()
	}()
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, pr)
	}()
	s := &server{}
	select {
	case line, ok := <-lines:
		m := runningLine.FindStringSubmatch(line)
		if !ok || m == nil {
			cancel()
			t.Fatalf("serve printed %q, want the running line (err %v)", line, <-done)
		}
		s.URL, s.Password = m[1], m[3]
	case err := <-done:
		cancel()
		t.Fatalf("serve exited early: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start within 60 s")
	}
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after shutdown", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

// browser is an HTTP client with cookies that does not follow redirects.
func browser(jar http.CookieJar) *http.Client {
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func signIn(t *testing.T, c *http.Client, base, email, password string) int {
	t.Helper()
	res, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(res.Body)
	res.Body.Close()
	tok, _ := doc.Find(`input[name="csrf"]`).Attr("value")
	res, err = c.PostForm(base+"/login", url.Values{fields.CSRF: {tok}, fields.Email: {email}, fields.Password: {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func status(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestFirstRunPrintsAdminLoginThatWorks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	if s.Password == "" || !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("running line gave URL %q password %q", s.URL, s.Password)
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, "admin@localhost", s.Password); got != http.StatusSeeOther {
		t.Fatalf("sign in with printed password: status %d", got)
	}
	if got := status(t, c, s.URL+"/admin/users"); got != http.StatusOK {
		t.Errorf("first admin GET /admin/users = %d", got)
	}
	s.stop()
	// A second start prints no password: the admin exists.
	s2 := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	if s2.Password != "" {
		t.Errorf("second start printed a password again")
	}
}

// A start that fails after the database exists (here: the port is taken)
// must not have created the first admin, or its password, printed only on
// a successful start, would be lost for good.
func TestFailedStartKeepsTheFirstAdminForTheNextStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var out bytes.Buffer
	err = run(context.Background(), []string{"serve"}, env(map[string]string{
		"SWAPDESK_DATA_DIR": dir, "SWAPDESK_ADDR": taken.Addr().String(),
	}), strings.NewReader(""), &out, io.Discard)
	var ue *usageError
	if !errors.As(err, &ue) || !strings.HasPrefix(err.Error(), "SWAPDESK_ADDR") {
		t.Fatalf("serve on a taken port: err = %v, want a SWAPDESK_ADDR usage error", err)
	}
	if strings.Contains(out.String(), "sign in as") {
		t.Fatalf("a failed start printed a login: %q", out.String())
	}

	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	if s.Password == "" {
		t.Fatal("the start after a failed one printed no admin password")
	}
	if got := signIn(t, browser(nil), s.URL, "admin@localhost", s.Password); got != http.StatusSeeOther {
		t.Fatalf("sign in with the password printed after a failed start: status %d", got)
	}
}

// Two servers on one data directory would process the same jobs twice.
func TestSecondServeOnOneDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	// Cancelled already: should the lock not hold, this serve stops at once
	// instead of running beside the first.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := run(ctx, []string{"serve"}, env(map[string]string{
		"SWAPDESK_DATA_DIR": dir, "SWAPDESK_ADDR": "127.0.0.1:0",
	}), strings.NewReader(""), io.Discard, io.Discard)
	var ue *usageError
	if !errors.As(err, &ue) {
		t.Fatalf("second serve: err = %v, want a usage error (exit 2)", err)
	}
	want := "SWAPDESK_DATA_DIR: " + dir + " is in use by another swapdesk serve"
	if err.Error() != want {
		t.Errorf("second serve: %q, want %q", err.Error(), want)
	}
	// The lock goes with the server.
	s.stop()
	startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
}

func TestAdminFromEnvironment(t *testing.T) {
	t.Parallel()
	s := startServe(t, map[string]string{
		"SWAPDESK_DATA_DIR":       t.TempDir(),
		"SWAPDESK_ADMIN_EMAIL":    "boss@example.com",
		"SWAPDESK_ADMIN_PASSWORD": "a long enough password",
	})
	if got := signIn(t, browser(nil), s.URL, "boss@example.com", "a long enough password"); got != http.StatusSeeOther {
		t.Fatalf("sign in as env admin: status %d", got)
	}
}

func TestSessionSurvivesRestartWithStoredKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir, "SWAPDESK_ADMIN_EMAIL": "boss@example.com", "SWAPDESK_ADMIN_PASSWORD": "a long enough password"}
	s := startServe(t, vars)
	jar, _ := cookiejar.New(nil)
	c := browser(jar)
	if got := signIn(t, c, s.URL, "boss@example.com", "a long enough password"); got != http.StatusSeeOther {
		t.Fatalf("sign in: %d", got)
	}
	s.stop()

	// Same port is not guaranteed; carry the cookies over to the new URL.
	s2 := startServe(t, vars)
	old, _ := url.Parse(s.URL)
	nu, _ := url.Parse(s2.URL)
	jar.SetCookies(nu, jar.Cookies(old))
	if got := status(t, c, s2.URL+"/"); got != http.StatusOK {
		t.Fatalf("after restart GET / = %d, want 200 (still signed in)", got)
	}
}

func TestInvalidConfigStopsWithOneLineAndExit2(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(file, []byte("x"), 0o600)
	tests := []struct {
		name    string
		vars    map[string]string
		args    []string
		setting string
	}{
		{"bad address", map[string]string{"SWAPDESK_ADDR": "not-an-address"}, nil, "SWAPDESK_ADDR"},
		{"bad port", map[string]string{"SWAPDESK_ADDR": ":99999"}, nil, "SWAPDESK_ADDR"},
		{"bad address flag", nil, []string{"--addr", "nope"}, "--addr:"},
		{"bad address flag over a good env", map[string]string{"SWAPDESK_ADDR": ":8080"}, []string{"--addr=:99999"}, "--addr:"},
		{"data dir is a file", map[string]string{"SWAPDESK_DATA_DIR": file}, nil, "SWAPDESK_DATA_DIR"},
		{"data dir flag is a file", nil, []string{"--data-dir", file}, "--data-dir:"},
		{"malformed public url", map[string]string{"SWAPDESK_PUBLIC_URL": "ftp://x"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url without host", map[string]string{"SWAPDESK_PUBLIC_URL": "https://"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with a path", map[string]string{"SWAPDESK_PUBLIC_URL": "https://example.com/swapdesk"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with a query", map[string]string{"SWAPDESK_PUBLIC_URL": "https://example.com/?a=1"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with an empty query", map[string]string{"SWAPDESK_PUBLIC_URL": "https://example.com?"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with a fragment", map[string]string{"SWAPDESK_PUBLIC_URL": "https://example.com/#top"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with an empty fragment", map[string]string{"SWAPDESK_PUBLIC_URL": "https://example.com#"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url with credentials", map[string]string{"SWAPDESK_PUBLIC_URL": "https://user:pw@example.com"}, nil, "SWAPDESK_PUBLIC_URL"},
		{"public url flag with a path", nil, []string{"--public-url", "http://example.com/app/"}, "--public-url:"},
		{"malformed akool url", map[string]string{"AKOOL_BASE_URL": "openapi.akool.com"}, nil, "AKOOL_BASE_URL"},
		{"malformed akool url flag", nil, []string{"--akool-base-url", "openapi.akool.com"}, "--akool-base-url:"},
		{"allow private not a bool", map[string]string{"SWAPDESK_ALLOW_PRIVATE_URLS": "maybe"}, nil, "SWAPDESK_ALLOW_PRIVATE_URLS"},
		{"allow private flag not a bool", nil, []string{"--allow-private-urls", "maybe"}, "--allow-private-urls:"},
		{"short session key", map[string]string{"SWAPDESK_SESSION_KEY": "short"}, nil, "SWAPDESK_SESSION_KEY"},
		{"admin email without password", map[string]string{"SWAPDESK_ADMIN_EMAIL": "a@b.c"}, nil, "SWAPDESK_ADMIN_EMAIL"},
		{"trusted proxy not a CIDR", map[string]string{"SWAPDESK_TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, nil, "SWAPDESK_TRUSTED_PROXIES"},
		{"trusted proxy bad mask", map[string]string{"SWAPDESK_TRUSTED_PROXIES": "10.0.0.0/33"}, nil, "SWAPDESK_TRUSTED_PROXIES"},
		{"trusted proxy flag", nil, []string{"--trusted-proxies", "nope"}, "--trusted-proxies:"},
		{"media url not a url", map[string]string{"SWAPDESK_MEDIA_URL": "/var/media"}, nil, "SWAPDESK_MEDIA_URL"},
		{"media url relative file", map[string]string{"SWAPDESK_MEDIA_URL": "file://media"}, nil, "SWAPDESK_MEDIA_URL"},
		{"media url endpoint without scheme", map[string]string{"SWAPDESK_MEDIA_URL": "s3://b?endpoint=127.0.0.1:9000"}, nil, "SWAPDESK_MEDIA_URL"},
		{"media url unknown parameter", map[string]string{"SWAPDESK_MEDIA_URL": "s3://b?regoin=x"}, nil, "SWAPDESK_MEDIA_URL"},
		{"media url flag", nil, []string{"--media-url", "ftp://x/media"}, "--media-url:"},
		{"media bucket unreachable by flag", map[string]string{"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"},
			[]string{"--media-url", "s3://media?endpoint=http://127.0.0.1:1"}, "--media-url:"},
		{"media bucket unreachable", map[string]string{"SWAPDESK_MEDIA_URL": "s3://media?endpoint=http://127.0.0.1:1",
			"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s"}, nil, "SWAPDESK_MEDIA_URL"},
		{"access key without secret", map[string]string{"AWS_ACCESS_KEY_ID": "k"}, nil, "AWS_ACCESS_KEY_ID"},
		{"unknown flag", nil, []string{"--nope"}, "serve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Any free port: a setting checked after the listener opens
			// must not depend on :8080 being free on the machine.
			vars := map[string]string{"SWAPDESK_DATA_DIR": t.TempDir(), "SWAPDESK_ADDR": "127.0.0.1:0"}
			for k, v := range tt.vars {
				vars[k] = v
			}
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"serve"}, tt.args...), env(vars), strings.NewReader(""), &out, io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want a usage error (exit 2)", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.setting) || strings.Contains(msg, "\n") {
				t.Errorf("message %q should be one line starting with %s", msg, tt.setting)
			}
			if out.Len() != 0 {
				t.Errorf("a bad setting also printed %q; the one line is enough", out.String())
			}
		})
	}
}

// The public URL is normalised once, at start-up; whether the session
// cookie is Secure follows from its scheme, whatever case it was typed in.
func TestPublicURLNormalisedAndSecureCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		secure   bool
	}{
		{"", "", false},
		{"https://swapdesk.example.com", "https://swapdesk.example.com", true},
		{"HTTPS://Swapdesk.Example.com/", "https://swapdesk.example.com", true},
		{"Https://example.com:8443", "https://example.com:8443", true},
		{"http://example.com/", "http://example.com", false},
		{"HTTP://EXAMPLE.COM", "http://example.com", false},
		{"https://[2001:db8::1]:8443/", "https://[2001:db8::1]:8443", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			fs := newFlags("serve", io.Discard)
			finish := bindConfig(fs, env(map[string]string{"SWAPDESK_DATA_DIR": t.TempDir(), "SWAPDESK_PUBLIC_URL": tt.in}))
			cfg, err := finish()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.PublicURL != tt.want || cfg.secureCookies() != tt.secure {
				t.Errorf("public URL %q, secure %v; want %q, %v", cfg.PublicURL, cfg.secureCookies(), tt.want, tt.secure)
			}
		})
	}
}

func TestTrustedProxiesSetting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  string
		args []string
		want []string
	}{
		{"unset: clients connect directly", "", nil, nil},
		{"CIDRs and a bare address", "10.0.0.0/8, 192.168.1.5 ,fd00::/8", nil, []string{"10.0.0.0/8", "192.168.1.5/32", "fd00::/8"}},
		{"bare IPv6 address", "2001:db8::1", nil, []string{"2001:db8::1/128"}},
		{"flag overrides env", "10.0.0.0/8", []string{"--trusted-proxies", "172.16.0.0/12"}, []string{"172.16.0.0/12"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlags("serve", io.Discard)
			finish := bindConfig(fs, env(map[string]string{"SWAPDESK_DATA_DIR": t.TempDir(), "SWAPDESK_TRUSTED_PROXIES": tt.env}))
			if err := parseFlags(fs, tt.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := finish()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, n := range cfg.TrustedProxies {
				got = append(got, n.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("trusted proxies = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCLIUserAddThenLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	var out bytes.Buffer
	err := run(context.Background(), []string{"user", "add", "--email", "Mo@Example.com", "--name", "Mo", "--password-stdin"},
		env(vars), strings.NewReader("mo's long password\n"), &out, io.Discard)
	if err != nil {
		t.Fatalf("user add: %v", err)
	}
	if !strings.Contains(out.String(), "Added Mo <mo@example.com> (member)") {
		t.Errorf("user add printed %q", out.String())
	}
	// Adding the same email again is a clear usage error.
	err = run(context.Background(), []string{"user", "add", "--email", "mo@example.com", "--name", "Mo", "--password-stdin"},
		env(vars), strings.NewReader("another password\n"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate add: err = %v", err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"user", "list"}, env(vars), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "mo@example.com") {
		t.Errorf("user list = %q", out.String())
	}

	s := startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir})
	c := browser(nil)
	if got := signIn(t, c, s.URL, "mo@example.com", "mo's long password"); got != http.StatusSeeOther {
		t.Fatalf("sign in as CLI-added user: %d", got)
	}
	if got := status(t, c, s.URL+"/admin/users"); got != http.StatusForbidden {
		t.Errorf("member GET /admin/users = %d, want 403", got)
	}

	// Disabling from the CLI ends the live session at its next request.
	if err := run(context.Background(), []string{"user", "disable", "--email", "mo@example.com"}, env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := status(t, c, s.URL+"/"); got != http.StatusSeeOther {
		t.Errorf("disabled user GET / = %d, want 303 to login", got)
	}
}

func TestCLIBadInput(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SWAPDESK_DATA_DIR": t.TempDir()}
	newDatabase(t, vars["SWAPDESK_DATA_DIR"])
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"no email", []string{"user", "add", "--name", "X", "--password-stdin"}, "long password 1\n", "--email is required"},
		{"bad email", []string{"user", "add", "--email", "nope", "--name", "X", "--password-stdin"}, "long password 1\n", "--email"},
		{"short password", []string{"user", "add", "--email", "x@example.com", "--name", "X", "--password-stdin"}, "short\n", "--password"},
		{"empty stdin", []string{"user", "add", "--email", "x@example.com", "--name", "X", "--password-stdin"}, "", "standard input was empty"},
		{"unknown user", []string{"user", "disable", "--email", "ghost@example.com"}, "", "no account"},
		{"unknown subcommand", []string{"user", "rename"}, "", "unknown subcommand"},
		{"grant zero", []string{"user", "grant", "--email", "x@example.com", "--credits", "0"}, "", "--credits must be"},
		{"grant negative", []string{"user", "grant", "--email", "x@example.com", "--credits", "-5"}, "", "--credits must be"},
		{"grant not a number", []string{"user", "grant", "--email", "x@example.com", "--credits", "lots"}, "", "invalid value"},
		{"grant unknown user", []string{"user", "grant", "--email", "ghost@example.com", "--credits", "5"}, "", "no account"},
		{"unknown command", []string{"frobnicate"}, "", "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, env(vars), strings.NewReader(tt.stdin), io.Discard, io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

// newDatabase creates an empty Swapdesk database in dir.
func newDatabase(t *testing.T, dir string) {
	t.Helper()
	store, err := db.Open(context.Background(), dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	store.Close()
}

// Run from the wrong directory, the admin commands must say so instead of
// working on a new, empty database.
func TestCLIRefusesAMissingDatabase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
	}{
		{"user list", []string{"user", "list"}},
		{"user passwd", []string{"user", "passwd", "--email", "a@example.com"}},
		{"user disable", []string{"user", "disable", "--email", "a@example.com"}},
		{"user grant", []string{"user", "grant", "--email", "a@example.com", "--credits", "5"}},
		{"backup", []string{"backup", "--to", "BACKUP"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := slices.Clone(tt.args)
			for i, a := range args {
				if a == "BACKUP" {
					args[i] = filepath.Join(t.TempDir(), "copy.db")
				}
			}
			err := run(context.Background(), args, env(map[string]string{"SWAPDESK_DATA_DIR": dir}), strings.NewReader(""), io.Discard, io.Discard)
			var ue *usageError
			want := "no Swapdesk database at " + filepath.Join(dir, "swapdesk.db") + " — run `swapdesk serve` first or pass --data-dir"
			if !errors.As(err, &ue) || err.Error() != want {
				t.Errorf("err = %v, want the usage error %q", err, want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("the data dir now holds %d entries, want none", len(entries))
			}
		})
	}
}

// `user add` is how an operator makes the first admin before the first
// serve, so it may create the database, and says where it did.
func TestCLIUserAddAdminOnAFreshDataDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "fresh")
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	var out bytes.Buffer
	err := run(context.Background(), []string{"user", "add", "--email", "boss@example.com", "--name", "Boss", "--admin", "--password-stdin"},
		env(vars), strings.NewReader("the boss's long password\n"), &out, io.Discard)
	if err != nil {
		t.Fatalf("user add --admin: %v", err)
	}
	for _, want := range []string{
		"Created a new Swapdesk database at " + filepath.Join(dir, "swapdesk.db") + ".",
		"Added Boss <boss@example.com> (admin).",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("user add printed %q, want %q in it", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "Nobody is an admin") {
		t.Errorf("user add --admin printed the no-admin note: %q", out.String())
	}

	s := startServe(t, vars)
	if s.Password != "" {
		t.Error("serve printed a first-admin password though an admin exists")
	}
	c := browser(nil)
	if got := signIn(t, c, s.URL, "boss@example.com", "the boss's long password"); got != http.StatusSeeOther {
		t.Fatalf("sign in as the CLI-added admin: %d", got)
	}
	if got := status(t, c, s.URL+"/admin/users"); got != http.StatusOK {
		t.Errorf("CLI-added admin GET /admin/users = %d, want 200", got)
	}
}

func TestCLIUserPasswdFromStdinThenLogin(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	vars := map[string]string{"SWAPDESK_DATA_DIR": dir}
	ctx := context.Background()
	if err := run(ctx, []string{"user", "add", "--email", "mo@example.com", "--name", "Mo", "--password-stdin"},
		env(vars), strings.NewReader("mo's first password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, vars)
	old := browser(nil)
	if got := signIn(t, old, s.URL, "mo@example.com", "mo's first password"); got != http.StatusSeeOther {
		t.Fatalf("sign in with the first password: %d", got)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"user", "passwd", "--email", "MO@example.com", "--password-stdin"},
		env(vars), strings.NewReader("mo's second password\r\n"), &out, io.Discard); err != nil {
		t.Fatalf("user passwd: %v", err)
	}
	if got, want := strings.TrimSpace(out.String()), "Password changed for mo@example.com; their open sessions are signed out."; got != want {
		t.Errorf("user passwd printed %q, want %q", got, want)
	}
	if got := status(t, old, s.URL+"/"); got != http.StatusSeeOther {
		t.Errorf("session from before passwd: GET / = %d, want 303 to login", got)
	}
	if got := signIn(t, browser(nil), s.URL, "mo@example.com", "mo's first password"); got != http.StatusUnprocessableEntity {
		t.Errorf("sign in with the old password: %d, want 422", got)
	}
	if got := signIn(t, browser(nil), s.URL, "mo@example.com", "mo's second password"); got != http.StatusSeeOther {
		t.Errorf("sign in with the new password: %d, want 303", got)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, env(nil), nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "swapdesk ") {
		t.Errorf("version printed %q", out.String())
	}
}

func TestCLIGrant(t *testing.T) {
	t.Parallel()
	vars := map[string]string{"SWAPDESK_DATA_DIR": t.TempDir()}
	ctx := context.Background()
	if err := run(ctx, []string{"user", "add", "--email", "mo@example.com", "--name", "Mo"}, env(vars), nil, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, n := range []string{"30", "12"} {
		out.Reset()
		if err := run(ctx, []string{"user", "grant", "--email", "mo@example.com", "--credits", n, "--note", "welcome"}, env(vars), nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.TrimSpace(out.String()), "Granted 12 credits to mo@example.com; available now 42."; got != want {
		t.Errorf("grant printed %q, want %q", got, want)
	}
}

// A crash between the hold and Akool's answer leaves a job submitting; the
// next start marks it interrupted and gives the credits back.
func TestStartUpInterruptsJobsLeftSubmitting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := db.Open(ctx, dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	u, _ := store.CreateUser(ctx, "mo@example.com", "Mo", db.RoleMember, "x")
	store.Grant(ctx, u.ID, 0, db.LedgerGrant, 50, "")
	job, _, err := store.CreateJobWithHold(ctx, db.NewJob{UserID: u.ID, IdempotencyKey: "crashed-job-000000001",
		ImageURL: "https://example.com/a.png", VideoURL: "https://example.com/b.mp4", Mode: "animate",
		Resolution: "720p", BilledSeconds: 12, EstimateCredits: 30})
	if err != nil {
		t.Fatal(err)
	}
	store.Close()

	startServe(t, map[string]string{"SWAPDESK_DATA_DIR": dir}).stop()

	store, err = db.Open(ctx, dbPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	got, _ := store.JobByID(ctx, job.ID)
	bal, _ := store.Balance(ctx, u.ID)
	if got.Status != db.JobInterrupted || bal.Available != 50 || bal.Held != 0 {
		t.Errorf("after restart: status %s, balance %+v; want interrupted and all 50 back", got.Status, bal)
	}
}
