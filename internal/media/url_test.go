package media

import (
	"net/netip"
	"strings"
	"testing"
)

func TestValidateURLAccepts(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com/a.png", "https://example.com/a.png"},
		{"  HTTP://Example.COM/Path/A.PNG?x=1#frag  ", "http://example.com/Path/A.PNG?x=1"},
		{"http://8.8.8.8:8080/v.mp4", "http://8.8.8.8:8080/v.mp4"},
		{"https://[2606:4700::1111]/v.mp4", "https://[2606:4700::1111]/v.mp4"},
		{"http://[64:ff9b::808:808]/", "http://[64:ff9b::808:808]/"}, // NAT64 of a public address
		{"https://cdn.example.com/a%20b.png", "https://cdn.example.com/a%20b.png"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ValidateURL(tt.in, false)
			if err != nil {
				t.Fatalf("ValidateURL(%q) error = %v", tt.in, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("ValidateURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidateURLRefuses(t *testing.T) {
	tests := []struct {
		in      string
		kind    error
		message string
	}{
		{"", ErrInvalidURL, "enter a link starting with http:// or https://"},
		{"example.com/a.png", ErrInvalidURL, "links must start with http:// or https://"},
		{"//example.com/a.png", ErrInvalidURL, "links must start with http:// or https://"},
		{"file:///etc/passwd", ErrInvalidURL, "only http and https links are supported"},
		{"javascript:alert(1)", ErrInvalidURL, "only http and https links are supported"},
		{"JavaScript:alert(document.cookie)", ErrInvalidURL, "only http and https links are supported"},
		{"ftp://example.com/a.png", ErrInvalidURL, "only http and https links are supported"},
		{"data:image/png;base64,iVBORw0KGgo=", ErrInvalidURL, "only http and https links are supported"},
		{"gopher://example.com:70/", ErrInvalidURL, "only http and https links are supported"},
		{"http:example.com/a.png", ErrInvalidURL, "links must start with http:// or https://"},
		{"http:///a.png", ErrInvalidURL, "this link has no server name"},
		{"http://user:pass@example.com/a.png", ErrInvalidURL, "links with a username or password are not allowed"},
		{"http://user@example.com/a.png", ErrInvalidURL, "links with a username or password are not allowed"},
		{"https://:secret@example.com/", ErrInvalidURL, "links with a username or password are not allowed"},
		{"http://exa mple.com/", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com/a b.png", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com/a\tb.png", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com/a\x00.png", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com/\r\nHost: evil", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com/\u00a0x", ErrInvalidURL, "links must not contain spaces or control characters"},
		{"http://example.com:99999/", ErrInvalidURL, "this link has an invalid port"},
		{"http://example.com:0/", ErrInvalidURL, "this link has an invalid port"},
		{"http://example.com:/", ErrInvalidURL, "this link has an invalid port"},
		{"http://example.com/" + strings.Repeat("a", MaxURLLength), ErrInvalidURL, "this link is too long"},
		{"http://[::1/", ErrInvalidURL, "this is not a valid link"},
		{"http://%zz/", ErrInvalidURL, "this is not a valid link"},

		{"http://127.0.0.1/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://127.9.9.9:8080/x", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://[::1]/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://0x7f000001/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://2130706433/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://0177.0.0.1/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://127.1/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://0x7f.0.0.1/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://017700000001/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://10.0.0.1/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://172.16.5.4/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://192.168.1.1/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://169.254.169.254/latest/meta-data/", ErrForbiddenAddress, "this address is not allowed (cloud metadata service)"},
		{"http://169.254.1.1/", ErrForbiddenAddress, "this address is not allowed (link-local)"},
		{"http://100.64.0.1/", ErrForbiddenAddress, "this address is not allowed (shared carrier network)"},
		{"http://[fe80::1]/", ErrForbiddenAddress, "this address is not allowed (link-local)"},
		{"http://[fe80::1%25eth0]/", ErrForbiddenAddress, "this address is not allowed (link-local)"},
		{"http://[fc00::1]/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://[fd12:3456::1]/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://[::ffff:127.0.0.1]/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://[::ffff:a9fe:a9fe]/", ErrForbiddenAddress, "this address is not allowed (cloud metadata service)"},
		{"http://[64:ff9b::7f00:1]/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://[64:ff9b::a00:1]/", ErrForbiddenAddress, "this address is not allowed (private network)"},
		{"http://[2002:7f00:1::]/", ErrForbiddenAddress, "this address is not allowed (tunnel address to a loopback)"},
		{"http://[2001::1]/", ErrForbiddenAddress, "this address is not allowed (tunnel address)"},
		{"http://[::]/", ErrForbiddenAddress, "this address is not allowed (unspecified address)"},
		{"http://0.0.0.0/", ErrForbiddenAddress, "this address is not allowed (unspecified address)"},
		{"http://0/", ErrForbiddenAddress, "this address is not allowed (unspecified address)"},
		{"http://224.0.0.1/", ErrForbiddenAddress, "this address is not allowed (multicast)"},
		{"http://[ff02::1]/", ErrForbiddenAddress, "this address is not allowed (multicast)"},
		{"http://255.255.255.255/", ErrForbiddenAddress, "this address is not allowed (broadcast)"},
		{"http://240.0.0.1/", ErrForbiddenAddress, "this address is not allowed (reserved range)"},
		{"http://192.0.2.1/", ErrForbiddenAddress, "this address is not allowed (documentation range)"},
		{"http://localhost:8080/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://LOCALHOST./", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		{"http://api.localhost/", ErrForbiddenAddress, "this address is not allowed (loopback)"},
		// Numeric forms of public addresses are refused too: resolvers
		// disagree on them.
		{"http://134744072/", ErrInvalidURL, "write the address as a host name or a normal IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ValidateURL(tt.in, false)
			e := wantKind(t, err, tt.kind)
			if e.Message != tt.message {
				t.Errorf("message = %q, want %q", e.Message, tt.message)
			}
			if e.Error() != e.Message {
				t.Errorf("Error() = %q, want the message", e.Error())
			}
		})
	}
}

func TestValidateURLAllowPrivate(t *testing.T) {
	for _, in := range []string{"http://127.0.0.1:8080/a.png", "http://[::1]/", "http://localhost/", "http://10.0.0.1/"} {
		if _, err := ValidateURL(in, true); err != nil {
			t.Errorf("ValidateURL(%q, allowPrivate) error = %v, want nil", in, err)
		}
	}
	// AllowPrivate lifts only the address rule.
	for _, in := range []string{"file:///etc/passwd", "http://u:p@127.0.0.1/", "http://0x7f000001/", "http://a b/"} {
		if _, err := ValidateURL(in, true); err == nil {
			t.Errorf("ValidateURL(%q, allowPrivate) = nil error, want one", in)
		} else {
			wantKind(t, err, ErrInvalidURL)
		}
	}
}

func TestForbiddenReason(t *testing.T) {
	tests := []struct {
		ip      string
		allowed bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.216.34", true},
		{"2606:4700::1111", true},
		{"2a00:1450:4001::200e", true},
		{"64:ff9b::808:808", true},
		{"2002:808:808::1", true},
		{"::ffff:8.8.8.8", true},
		{"127.0.0.1", false},
		{"10.255.255.255", false},
		{"172.31.255.255", false},
		{"172.32.0.1", true},
		{"100.63.255.255", true},
		{"100.64.0.0", false},
		{"100.127.255.255", false},
		{"100.128.0.0", true},
		{"169.254.169.254", false},
		{"198.18.0.1", false},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false}, // IPv4-compatible (deprecated)
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::a9fe:a9fe", false},
		{"64:ff9b:1::1", false},
		{"2001:db8::1", false},
		{"2001:0:4136:e378:8000:63bf:3fff:fdd2", false}, // Teredo
		{"fe80::1", false},
		{"fec0::1", false},
		{"fd00::1", false},
		{"ff05::2", false},
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got := forbiddenReason(netip.MustParseAddr(tt.ip))
			if (got == "") != tt.allowed {
				t.Errorf("forbiddenReason(%s) = %q, want allowed=%v", tt.ip, got, tt.allowed)
			}
		})
	}
	if got := forbiddenReason(netip.Addr{}); got == "" {
		t.Errorf("the zero address must be forbidden")
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	tests := []struct {
		in     string
		want   string
		legacy bool
	}{
		{"2130706433", "127.0.0.1", true},
		{"0x7f000001", "127.0.0.1", true},
		{"0X7F000001", "127.0.0.1", true},
		{"0177.0.0.1", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"127.0.1", "127.0.0.1", true},
		{"10.0.0.1.", "10.0.0.1", true},
		{"0", "0.0.0.0", true},
		{"127.0.0.1", "", false},
		{"8.8.8.8", "", false},
		{"example.com", "", false},
		{"1.2.3.4.5", "", false},
		{"256.1.1.1", "", false},
		{"4294967296", "", false},
		{"09", "", false},
		{"deadbeef", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			ip, legacy := parseLegacyIPv4(tt.in)
			if legacy != tt.legacy {
				t.Fatalf("parseLegacyIPv4(%q) legacy = %v, want %v", tt.in, legacy, tt.legacy)
			}
			if legacy && ip.String() != tt.want {
				t.Errorf("parseLegacyIPv4(%q) = %s, want %s", tt.in, ip, tt.want)
			}
		})
	}
}
