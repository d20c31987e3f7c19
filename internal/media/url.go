package media

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// MaxURLLength is the longest link accepted.
const MaxURLLength = 2048

// ValidateURL checks a link a member typed and returns it parsed, with the
// fragment dropped. Surrounding white space is trimmed. It refuses (with an
// *Error of kind ErrInvalidURL) empty, overlong and unparsable links, inner
// spaces and control characters, schemes other than http and https, user
// names and passwords, a missing host, bad ports and unusual numeric host
// forms (2130706433, 0x7f000001, 0177.0.0.1). Unless allowPrivate is set it
// also refuses (kind ErrForbiddenAddress) IP literals and "localhost" names
// that point at internal addresses; host names are checked again for every
// address they resolve to when the connection is made.
func ValidateURL(raw string, allowPrivate bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, newErr(ErrInvalidURL, "enter a link starting with http:// or https://", nil)
	}
	if len(raw) > MaxURLLength {
		return nil, newErr(ErrInvalidURL, "this link is too long", nil)
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return nil, newErr(ErrInvalidURL, "links must not contain spaces or control characters", nil)
		}
	}
	if !hasScheme(raw) {
		return nil, newErr(ErrInvalidURL, "links must start with http:// or https://", nil)
	}
	u, err := url.Parse(raw)
	if err != nil {
		if hasScheme(raw) && !isHTTPScheme(raw) {
			return nil, newErr(ErrInvalidURL, "only http and https links are supported", err)
		}
		return nil, newErr(ErrInvalidURL, "this is not a valid link", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	case "":
		return nil, newErr(ErrInvalidURL, "links must start with http:// or https://", nil)
	default:
		return nil, newErr(ErrInvalidURL, "only http and https links are supported", nil)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Opaque != "" {
		return nil, newErr(ErrInvalidURL, "links must start with http:// or https://", nil)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return nil, newErr(ErrInvalidURL, "links with a username or password are not allowed", nil)
	}
	host := u.Hostname()
	if host == "" {
		return nil, newErr(ErrInvalidURL, "this link has no server name", nil)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, newErr(ErrInvalidURL, "this link has an invalid port", err)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, newErr(ErrInvalidURL, "this link has an invalid port", nil)
	}
	u.Host = strings.ToLower(u.Host)
	host = strings.ToLower(host)
	u.Fragment, u.RawFragment = "", ""

	if ip, legacy := parseLegacyIPv4(host); legacy {
		if r := forbiddenReason(ip); r != "" && !allowPrivate {
			return nil, forbiddenAddressError(r)
		}
		return nil, newErr(ErrInvalidURL, "write the address as a host name or a normal IP address", nil)
	}
	if allowPrivate {
		return u, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if r := forbiddenReason(ip); r != "" {
			return nil, forbiddenAddressError(r)
		}
	} else if h := strings.TrimSuffix(host, "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil, forbiddenAddressError(reasonLoopback)
	}
	return u, nil
}

// hasScheme reports whether s starts with something shaped like a URL scheme
// followed by a colon ("javascript:", "file:", "data:").
func hasScheme(s string) bool {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return false
	}
	for j, c := range s[:i] {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case j > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

func isHTTPScheme(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http:") || strings.HasPrefix(l, "https:")
}
