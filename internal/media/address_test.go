package media

import (
	"net/netip"
	"testing"
)

// Every blocked range, with one address inside it and one just outside it,
// and the reason each gets ("" is allowed). Removing or narrowing any row of
// blockedV4/blockedV6 makes a case here fail.
func TestBlockedRanges(t *testing.T) {
	tests := []struct {
		prefix                string
		inside, insideReason  string
		outside, outsideWhy   string
		outside2, outside2Why string // the other side, where it is meaningful
	}{
		{"169.254.169.254/32", "169.254.169.254", reasonMetadata, "169.254.169.253", reasonLinkLocal, "169.254.169.255", reasonLinkLocal},
		{"255.255.255.255/32", "255.255.255.255", reasonBroadcast, "255.255.255.254", reasonReserved, "", ""},
		{"0.0.0.0/8", "0.1.2.3", reasonUnspecified, "1.0.0.0", "", "", ""},
		{"10.0.0.0/8", "10.1.2.3", reasonPrivate, "11.0.0.0", "", "9.255.255.255", ""},
		{"100.64.0.0/10", "100.100.0.1", reasonCGNAT, "100.128.0.0", "", "100.63.255.255", ""},
		{"127.0.0.0/8", "127.1.2.3", reasonLoopback, "128.0.0.0", "", "126.255.255.255", ""},
		{"169.254.0.0/16", "169.254.1.1", reasonLinkLocal, "169.255.0.0", "", "169.253.255.255", ""},
		{"172.16.0.0/12", "172.20.0.1", reasonPrivate, "172.32.0.0", "", "172.15.255.255", ""},
		{"192.0.0.0/24", "192.0.0.9", reasonReserved, "192.0.1.0", "", "191.255.255.255", ""},
		{"192.0.2.0/24", "192.0.2.1", reasonDocs, "192.0.3.0", "", "192.0.1.255", ""},
		{"192.88.99.0/24", "192.88.99.1", reasonReserved, "192.88.100.0", "", "192.88.98.255", ""},
		{"192.168.0.0/16", "192.168.1.1", reasonPrivate, "192.169.0.0", "", "192.167.255.255", ""},
		{"198.18.0.0/15", "198.19.255.255", reasonReserved, "198.20.0.0", "", "198.17.255.255", ""},
		{"198.51.100.0/24", "198.51.100.7", reasonDocs, "198.51.101.0", "", "198.51.99.255", ""},
		{"203.0.113.0/24", "203.0.113.7", reasonDocs, "203.0.114.0", "", "203.0.112.255", ""},
		{"224.0.0.0/4", "239.255.255.250", reasonMulticast, "223.255.255.255", "", "", ""},
		{"240.0.0.0/4", "240.0.0.1", reasonReserved, "239.255.255.255", reasonMulticast, "", ""},

		{"::/128", "::", reasonUnspecified, "::2", reasonReserved, "", ""},
		{"::1/128", "::1", reasonLoopback, "::2", reasonReserved, "", ""},
		{"::/8", "::1.2.3.4", reasonReserved, "100::", reasonReserved, "101::1", ""}, // 100:: starts 100::/64
		{"100::/64", "100::1", reasonReserved, "100:0:0:1::", "", "ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", reasonReserved},
		{"2001::/32", "2001:0:4136:e378:8000:63bf:3fff:fdd2", reasonTunnel, "2001:1::1", reasonReserved, "", ""},
		{"2001::/23", "2001:100::1", reasonReserved, "2001:200::1", "", "2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"2001:db8::/32", "2001:db8:1::1", reasonDocs, "2001:db9::", "", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"3fff::/20", "3fff:fff::1", reasonDocs, "3fff:1000::", "", "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"fc00::/7", "fd12:3456::1", reasonPrivate, "fe00::", "", "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"fe80::/10", "fe80::1", reasonLinkLocal, "fec0::", reasonPrivate, "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ""},
		{"fec0::/10", "fec0::1", reasonPrivate, "ff00::", reasonMulticast, "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", reasonLinkLocal},
		{"ff00::/8", "ff02::1", reasonMulticast, "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", reasonPrivate, "", ""},
	}
	tested := map[netip.Prefix]bool{}
	for _, tt := range tests {
		p := netip.MustParsePrefix(tt.prefix)
		tested[p] = true
		t.Run(tt.prefix, func(t *testing.T) {
			if !p.Contains(netip.MustParseAddr(tt.inside)) {
				t.Fatalf("test bug: %s is not in %s", tt.inside, p)
			}
			check := func(addr, want string, in bool) {
				t.Helper()
				if addr == "" {
					return
				}
				a := netip.MustParseAddr(addr)
				if !in && p.Contains(a) {
					t.Fatalf("test bug: %s is in %s", addr, p)
				}
				if got := forbiddenReason(a); got != want {
					t.Errorf("forbiddenReason(%s) = %q, want %q", addr, got, want)
				}
			}
			check(tt.inside, tt.insideReason, true)
			check(tt.outside, tt.outsideWhy, false)
			check(tt.outside2, tt.outside2Why, false)
		})
	}
	for _, table := range [][]blockedRange{blockedV4, blockedV6} {
		for _, r := range table {
			if !tested[r.prefix] {
				t.Errorf("blocked range %s has no case in this test", r.prefix)
			}
		}
	}
}

// 64:ff9b:1::/48 (RFC 8215 local-use NAT64) has no row of its own: ::/8
// holds all of it.
func TestLocalUseNAT64IsInsideColonColonSlash8(t *testing.T) {
	local := netip.MustParsePrefix("64:ff9b:1::/48")
	legacy := netip.MustParsePrefix("::/8")
	if !legacy.Contains(local.Addr()) || local.Bits() < legacy.Bits() {
		t.Fatalf("%s is not inside %s", local, legacy)
	}
	last := netip.MustParseAddr("64:ff9b:1:ffff:ffff:ffff:ffff:ffff")
	for _, a := range []netip.Addr{local.Addr(), netip.MustParseAddr("64:ff9b:1::a9fe:a9fe"), last} {
		if got := forbiddenReason(a); got != reasonReserved {
			t.Errorf("forbiddenReason(%s) = %q, want %q", a, got, reasonReserved)
		}
	}
}
