package sandbox

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"swapdesk/internal/akool"
	"swapdesk/internal/akoolsim"
	"swapdesk/internal/media"
)

const sandboxTestPublicIP = "93.184.216.34"

// sandboxNet is the world the embedded emulator sees in these tests: our own
// server (sample inputs, webhooks, the emulator itself) on loopback, an
// attacker's server at a made-up public address, and a private service.
type sandboxNet struct {
	t           *testing.T
	own         *httptest.Server
	webhooks    atomic.Int64
	privateHits atomic.Int64
	privatePort string
	hooks       media.Options
	sim         *akoolsim.Sim
	client      *akool.Client
}

func newSandboxNet(t *testing.T, cfg Config) *sandboxNet {
	t.Helper()
	n := &sandboxNet{t: t}
	png, err := os.ReadFile("../../static/samples/character.png")
	if err != nil {
		t.Fatal(err)
	}
	mp4, err := os.ReadFile("../../static/samples/motion.mp4")
	if err != nil {
		t.Fatal(err)
	}
	private := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.privateHits.Add(1)
		w.Write(mp4) // a private service that would answer
	}))
	t.Cleanup(private.Close)
	_, n.privatePort, _ = net.SplitHostPort(private.Listener.Addr().String())

	mux := http.NewServeMux()
	mux.HandleFunc("/static/samples/character.png", func(w http.ResponseWriter, r *http.Request) { w.Write(png) })
	mux.HandleFunc("/static/samples/motion.mp4", func(w http.ResponseWriter, r *http.Request) { w.Write(mp4) })
	mux.HandleFunc("POST /webhooks/akool", func(w http.ResponseWriter, r *http.Request) { n.webhooks.Add(1) })
	mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		http.StripPrefix(Prefix, n.sim).ServeHTTP(w, r)
	})
	n.own = httptest.NewServer(mux)
	t.Cleanup(n.own.Close)

	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/c.png":
			w.Write(png)
		case "/m.mp4":
			w.Write(mp4)
		case "/to-metadata.mp4":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/to-private.mp4":
			http.Redirect(w, r, "http://internal.test:"+n.privatePort+"/secret.mp4", http.StatusFound)
		case "/to-private-ip.mp4":
			http.Redirect(w, r, "http://127.0.0.1:"+n.privatePort+"/secret.mp4", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(attacker.Close)
	n.hooks = media.Options{
		LookupIP: func(_ context.Context, host string) ([]net.IP, error) {
			switch host {
			case "attacker.test":
				return []net.IP{net.ParseIP(sandboxTestPublicIP)}, nil
			case "internal.test":
				return []net.IP{net.ParseIP("127.0.0.1")}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		},
		// Reached only by addresses the rule let through. It never leaves
		// the machine: the private service stands in for every other host.
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			switch addr {
			case net.JoinHostPort(sandboxTestPublicIP, "80"):
				addr = attacker.Listener.Addr().String()
			case net.JoinHostPort("127.0.0.1", n.privatePort):
			default:
				addr = private.Listener.Addr().String()
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	cfg.DataDir = t.TempDir()
	cfg.Net = n.hooks
	sim, apiKey := Start(n.own.URL, cfg, slog.New(slog.DiscardHandler))
	n.sim = sim
	t.Cleanup(sim.Close)
	n.client, err = akool.New(akool.Config{BaseURL: n.own.URL + Prefix, APIKey: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run submits a job and waits for the emulator to finish it.
func (n *sandboxNet) run(image, video string) *akool.Job {
	n.t.Helper()
	ctx := context.Background()
	job, err := n.client.CreateCharacterSwap(ctx, akool.CreateRequest{Image: image, Video: video, Duration: 5,
		Resolution: "480p", WebhookURL: n.own.URL + "/webhooks/akool"})
	if err != nil {
		n.t.Fatalf("create: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := n.client.GetResult(ctx, job.ID)
		if err != nil {
			n.t.Fatal(err)
		}
		if got.Status.Final() {
			return got
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("job for %s did not finish", video)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The embedded emulator, playing Akool, downloads what members link to. A
// link that passed our probe may later redirect it to a metadata service or
// a private host: it must refuse, and its failure reason must not tell
// whether that host answered. Our own samples and webhook endpoint stay
// reachable on loopback.
func TestEmbeddedSandboxFetchesUnderTheAddressRule(t *testing.T) {
	n := newSandboxNet(t, Config{})
	own := func(path string) string {
		// As the sample link is written: the host the browser used, our port.
		return strings.Replace(n.own.URL, "127.0.0.1", "localhost", 1) + path
	}
	for _, tt := range []struct{ name, image, video string }{
		{"redirect to metadata", "http://attacker.test/c.png", "http://attacker.test/to-metadata.mp4"},
		{"redirect to a name of a private host", "http://attacker.test/c.png", "http://attacker.test/to-private.mp4"},
		{"redirect to a private address", "http://attacker.test/c.png", "http://attacker.test/to-private-ip.mp4"},
		{"name of a private host", "http://internal.test:" + n.privatePort + "/c.png", "http://attacker.test/m.mp4"},
		{"our own port outside the samples", own("/static/samples/character.png"), own(Prefix + "/v1/x")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			job := n.run(tt.image, tt.video)
			if job.Status != akool.StatusFailed {
				t.Fatalf("job %v, want failed", job.Status)
			}
			if !strings.Contains(job.FailReason, "unreachable") {
				t.Errorf("fail reason %q, want the input called unreachable", job.FailReason)
			}
		})
	}
	if got := n.privateHits.Load(); got != 0 {
		t.Errorf("the private service got %d requests, want 0", got)
	}

	t.Run("public links work", func(t *testing.T) {
		if job := n.run("http://attacker.test/c.png", "http://attacker.test/m.mp4"); job.Status != akool.StatusCompleted {
			t.Errorf("job %v (%s), want completed", job.Status, job.FailReason)
		}
	})
	t.Run("our sample inputs and webhooks work", func(t *testing.T) {
		before := n.webhooks.Load()
		job := n.run(own("/static/samples/character.png"), own("/static/samples/motion.mp4"))
		if job.Status != akool.StatusCompleted {
			t.Fatalf("job %v (%s), want completed", job.Status, job.FailReason)
		}
		deadline := time.Now().Add(10 * time.Second)
		for n.webhooks.Load() == before {
			if time.Now().After(deadline) {
				t.Fatal("no webhook reached /webhooks/akool")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// SWAPDESK_ALLOW_PRIVATE_URLS lifts the rule for the emulator too, as for
// the prober and the archiver.
func TestEmbeddedSandboxHonoursAllowPrivate(t *testing.T) {
	n := newSandboxNet(t, Config{AllowPrivateURLs: true})
	job := n.run("http://attacker.test/c.png", "http://attacker.test/to-private.mp4")
	if job.Status != akool.StatusCompleted {
		t.Errorf("job %v (%s), want completed", job.Status, job.FailReason)
	}
	if got := n.privateHits.Load(); got != 1 {
		t.Errorf("the private service got %d requests, want 1", got)
	}
}

// ownServer.link is the one rule for "a link to this server" that the
// sample prober, the archiver's opener and the emulator's client share.
func TestOwnServerLink(t *testing.T) {
	own := ownServer{port: "8080"}
	withPublic := ownServer{port: "8080"}
	withPublic.public, _ = url.Parse("https://desk.example.com")
	tests := []struct {
		o    ownServer
		in   string
		want string
	}{
		{own, "http://localhost:8080/static/samples/a.png", "http://127.0.0.1:8080/static/samples/a.png"},
		{own, "http://192.168.1.5:8080/static/samples/a.png", "http://127.0.0.1:8080/static/samples/a.png"},
		{own, "http://localhost:8080/webhooks/akool", "http://127.0.0.1:8080/webhooks/akool"},
		{own, "https://localhost:8080/static/samples/a.png", ""},
		{own, "http://localhost:8081/static/samples/a.png", ""},
		{own, "http://localhost/static/samples/a.png", ""},
		{own, "http://u:p@localhost:8080/static/samples/a.png", ""},
		{own, "http://localhost:8080/static/samples/../../etc/passwd", ""},
		{own, "http://localhost:8080/static/app.css", ""},
		{own, "https://desk.example.com/webhooks/akool", ""},
		{withPublic, "https://desk.example.com/webhooks/akool", "http://127.0.0.1:8080/webhooks/akool"},
		{withPublic, "https://DESK.example.com/static/samples/a.png", "http://127.0.0.1:8080/static/samples/a.png"},
		{withPublic, "http://desk.example.com/webhooks/akool", ""},
		{withPublic, "https://desk.example.com:8443/webhooks/akool", ""},
	}
	for _, tt := range tests {
		u, err := url.Parse(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tt.o.link(u, sandboxPaths...)
		gotS := ""
		if ok {
			gotS = got.String()
		}
		if gotS != tt.want {
			t.Errorf("link(%s) = %q, want %q", tt.in, gotS, tt.want)
		}
	}
}
