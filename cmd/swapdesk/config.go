package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"swapdesk/internal/storage"
)

// config is the operator's configuration: environment variables, overridden
// by flags.
type config struct {
	Addr             string
	DataDir          string
	PublicURL        string
	SessionKey       string
	AkoolAPIKey      string
	AkoolClientID    string
	AkoolBaseURL     string
	AllowPrivateURLs bool
	AdminEmail       string
	AdminPassword    string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; empty means clients connect directly.
	TrustedProxies []*net.IPNet
	// MediaURL is SWAPDESK_MEDIA_URL as given; Media is where it points
	// (default: DATA_DIR/media on local disk).
	MediaURL string
	Media    storage.Location
	// AWS signs requests to an S3 media store (AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN; empty: the SDK's default
	// chain).
	AWS storage.Credentials
	// How long the embedded sandbox keeps a job queued and processing.
	SandboxQueueDelay   time.Duration
	SandboxProcessDelay time.Duration
	// flags are the parsed flags, so a bad setting is named as it was
	// given (nil: every setting came from the environment).
	flags *flag.FlagSet
}

// settingFlags are the serve flags that override environment variables.
var settingFlags = map[string]string{
	"SWAPDESK_ADDR":               "addr",
	"SWAPDESK_DATA_DIR":           "data-dir",
	"SWAPDESK_PUBLIC_URL":         "public-url",
	"SWAPDESK_MEDIA_URL":          "media-url",
	"AKOOL_BASE_URL":              "akool-base-url",
	"SWAPDESK_ALLOW_PRIVATE_URLS": "allow-private-urls",
	"SWAPDESK_TRUSTED_PROXIES":    "trusted-proxies",
}

// name is what to call the setting of environment variable envName in a
// message: its flag when it was given as one, else envName.
func (c config) name(envName string) string {
	if f, ok := settingFlags[envName]; ok {
		return settingName(c.flags, f, envName)
	}
	return envName
}

const defaultAkoolBaseURL = "https://openapi.akool.com"

// bindConfig registers the flags that override env settings on fs and
// returns a function that finishes and validates the configuration.
func bindConfig(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	c := config{
		Addr:          envOr(getenv, "SWAPDESK_ADDR", ":8080"),
		DataDir:       envOr(getenv, "SWAPDESK_DATA_DIR", "./data"),
		PublicURL:     getenv("SWAPDESK_PUBLIC_URL"),
		SessionKey:    getenv("SWAPDESK_SESSION_KEY"),
		AkoolAPIKey:   getenv("AKOOL_API_KEY"),
		AkoolClientID: getenv("AKOOL_CLIENT_ID"),
		AkoolBaseURL:  envOr(getenv, "AKOOL_BASE_URL", defaultAkoolBaseURL),
		AdminEmail:    getenv("SWAPDESK_ADMIN_EMAIL"),
		AdminPassword: getenv("SWAPDESK_ADMIN_PASSWORD"),
		MediaURL:      getenv("SWAPDESK_MEDIA_URL"),
		AWS:           awsCredentials(getenv),
	}
	c.SandboxQueueDelay, c.SandboxProcessDelay = 3*time.Second, 12*time.Second
	allowPrivate := getenv("SWAPDESK_ALLOW_PRIVATE_URLS")
	trustedProxies := getenv("SWAPDESK_TRUSTED_PROXIES")
	fs.StringVar(&c.Addr, "addr", c.Addr, "listen address (SWAPDESK_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "data directory (SWAPDESK_DATA_DIR)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "URL people and Akool reach this server at (SWAPDESK_PUBLIC_URL)")
	fs.StringVar(&c.MediaURL, "media-url", c.MediaURL, "where media are kept: file:///path or s3://bucket?endpoint=…&region=… (SWAPDESK_MEDIA_URL; default DATA_DIR/media)")
	fs.StringVar(&c.AkoolBaseURL, "akool-base-url", c.AkoolBaseURL, "Akool API base URL (AKOOL_BASE_URL)")
	fs.DurationVar(&c.SandboxQueueDelay, "sandbox-queue-delay", c.SandboxQueueDelay, "sandbox mode: how long a job stays queued")
	fs.DurationVar(&c.SandboxProcessDelay, "sandbox-process-delay", c.SandboxProcessDelay, "sandbox mode: how long a job stays processing")
	fs.StringVar(&allowPrivate, "allow-private-urls", allowPrivate, "let media URLs reach private addresses; tests and sandbox only (SWAPDESK_ALLOW_PRIVATE_URLS)")
	fs.StringVar(&trustedProxies, "trusted-proxies", trustedProxies, "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (SWAPDESK_TRUSTED_PROXIES)")
	return func() (config, error) {
		c.flags = fs
		if allowPrivate != "" {
			v, err := strconv.ParseBool(allowPrivate)
			if err != nil {
				return c, usagef("%s: %q is not true or false", c.name("SWAPDESK_ALLOW_PRIVATE_URLS"), allowPrivate)
			}
			c.AllowPrivateURLs = v
		}
		nets, err := parseTrustedProxies(trustedProxies)
		if err != nil {
			return c, usagef("%s: %v", c.name("SWAPDESK_TRUSTED_PROXIES"), err)
		}
		c.TrustedProxies = nets
		return c, c.validate()
	}
}

// parseTrustedProxies reads a comma-separated list of CIDRs; a bare address
// stands for itself alone.
func parseTrustedProxies(list string) ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if !strings.Contains(item, "/") {
			ip := net.ParseIP(item)
			if ip == nil {
				return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", item)
			}
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(item)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8 or an IP address", item)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// dataDirFlag registers just --data-dir, for the admin commands.
func dataDirFlag(fs *flag.FlagSet, getenv func(string) string) *string {
	return fs.String("data-dir", envOr(getenv, "SWAPDESK_DATA_DIR", "./data"), "data directory (SWAPDESK_DATA_DIR)")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// validate checks every setting and names the first bad one in one line.
func (c *config) validate() error {
	if err := checkAddr(c.Addr); err != nil {
		return usagef("%s: %v", c.name("SWAPDESK_ADDR"), err)
	}
	if c.PublicURL != "" {
		u, err := normalizePublicURL(c.PublicURL)
		if err != nil {
			return usagef("%s: %v", c.name("SWAPDESK_PUBLIC_URL"), err)
		}
		c.PublicURL = u
	}
	if err := checkHTTPURL(c.AkoolBaseURL); err != nil {
		return usagef("%s: %v", c.name("AKOOL_BASE_URL"), err)
	}
	c.AkoolBaseURL = strings.TrimRight(c.AkoolBaseURL, "/")
	if c.SessionKey != "" && len(c.SessionKey) < 32 {
		return usagef("SWAPDESK_SESSION_KEY: use at least 32 characters (64 random hex digits is good)")
	}
	if c.SandboxQueueDelay < 0 || c.SandboxProcessDelay < 0 || c.SandboxQueueDelay > time.Hour || c.SandboxProcessDelay > time.Hour {
		return usagef("--sandbox-queue-delay and --sandbox-process-delay: use 0s to 1h")
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return usagef("SWAPDESK_ADMIN_EMAIL and SWAPDESK_ADMIN_PASSWORD: set both or neither")
	}
	if err := checkDataDir(c.DataDir); err != nil {
		return usagef("%s: %v", c.name("SWAPDESK_DATA_DIR"), err)
	}
	media, err := mediaLocation(c.MediaURL, c.DataDir)
	if err != nil {
		return usagef("%s: %v", c.name("SWAPDESK_MEDIA_URL"), err)
	}
	c.Media = media
	if (c.AWS.AccessKeyID == "") != (c.AWS.SecretAccessKey == "") {
		return usagef("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither")
	}
	return nil
}

// mediaLocation parses SWAPDESK_MEDIA_URL; unset means DATA_DIR/media on
// local disk, where the archive has always been.
func mediaLocation(raw, dataDir string) (storage.Location, error) {
	if raw == "" {
		dir, err := filepath.Abs(filepath.Join(dataDir, "media"))
		if err != nil {
			return storage.Location{}, err
		}
		return storage.Location{Scheme: "file", Dir: filepath.ToSlash(dir)}, nil
	}
	return storage.ParseURL(raw)
}

// awsCredentials reads the standard AWS variables.
func awsCredentials(getenv func(string) string) storage.Credentials {
	return storage.Credentials{AccessKeyID: getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN")}
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (for example :8080 or 127.0.0.1:8080)", addr)
	}
	if host != "" && host != "localhost" && net.ParseIP(host) == nil {
		return fmt.Errorf("%q: host must be an IP address, localhost or empty", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be a number from 0 to 65535", addr)
	}
	return nil
}

func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL like https://swapdesk.example.com", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q: leave out credentials, query and fragment", raw)
	}
	return nil
}

// normalizePublicURL returns raw as scheme://host[:port], the scheme and host
// lower-cased. Every route is root-absolute, so a path other than "/" is
// refused rather than producing links that miss it.
func normalizePublicURL(raw string) (string, error) {
	if err := checkHTTPURL(raw); err != nil {
		return "", err
	}
	if strings.ContainsAny(raw, "?#") {
		return "", fmt.Errorf("%q: leave out credentials, query and fragment", raw)
	}
	u, _ := url.Parse(raw)
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("%q: Swapdesk must be served at the root of its host, so give no path (%s)", raw, u.Path)
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host), nil
}

// secureCookies reports whether the session cookie must be Secure: people
// reach Swapdesk over https.
func (c config) secureCookies() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && u.Scheme == "https"
}

// checkDataDir creates dir if needed and proves it is writable.
func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("must not be empty")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("cannot create %s: %v", dir, unwrapPathErr(err))
	}
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %v", dir, unwrapPathErr(err))
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func dbPath(dataDir string) string { return filepath.Join(dataDir, "swapdesk.db") }
