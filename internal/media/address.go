package media

import (
	"net/netip"
	"strconv"
	"strings"
)

type blockedRange struct {
	prefix netip.Prefix
	reason string
}

// Reasons shown to members after "this address is not allowed".
const (
	reasonLoopback    = "loopback"
	reasonPrivate     = "private network"
	reasonLinkLocal   = "link-local"
	reasonMetadata    = "cloud metadata service"
	reasonCGNAT       = "shared carrier network"
	reasonMulticast   = "multicast"
	reasonUnspecified = "unspecified address"
	reasonBroadcast   = "broadcast"
	reasonReserved    = "reserved range"
	reasonDocs        = "documentation range"
	reasonTunnel      = "tunnel address"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// blockedV4 and blockedV6 are parsed once and never written after package
// initialisation: forbiddenReason runs on every dial and every redirect.
var blockedV4 = []blockedRange{
	{mustPrefix("169.254.169.254/32"), reasonMetadata},
	{mustPrefix("255.255.255.255/32"), reasonBroadcast},
	{mustPrefix("0.0.0.0/8"), reasonUnspecified},
	{mustPrefix("10.0.0.0/8"), reasonPrivate},
	{mustPrefix("100.64.0.0/10"), reasonCGNAT},
	{mustPrefix("127.0.0.0/8"), reasonLoopback},
	{mustPrefix("169.254.0.0/16"), reasonLinkLocal},
	{mustPrefix("172.16.0.0/12"), reasonPrivate},
	{mustPrefix("192.0.0.0/24"), reasonReserved},
	{mustPrefix("192.0.2.0/24"), reasonDocs},
	{mustPrefix("192.88.99.0/24"), reasonReserved},
	{mustPrefix("192.168.0.0/16"), reasonPrivate},
	{mustPrefix("198.18.0.0/15"), reasonReserved},
	{mustPrefix("198.51.100.0/24"), reasonDocs},
	{mustPrefix("203.0.113.0/24"), reasonDocs},
	{mustPrefix("224.0.0.0/4"), reasonMulticast},
	{mustPrefix("240.0.0.0/4"), reasonReserved},
}

var blockedV6 = []blockedRange{
	{mustPrefix("::/128"), reasonUnspecified},
	{mustPrefix("::1/128"), reasonLoopback},
	{mustPrefix("::/8"), reasonReserved}, // IPv4-compatible, legacy forms, and 64:ff9b:1::/48 (local-use NAT64)
	{mustPrefix("100::/64"), reasonReserved},
	{mustPrefix("2001::/32"), reasonTunnel}, // Teredo
	{mustPrefix("2001::/23"), reasonReserved},
	{mustPrefix("2001:db8::/32"), reasonDocs},
	{mustPrefix("3fff::/20"), reasonDocs},
	{mustPrefix("fc00::/7"), reasonPrivate},
	{mustPrefix("fe80::/10"), reasonLinkLocal},
	{mustPrefix("fec0::/10"), reasonPrivate}, // deprecated site-local
	{mustPrefix("ff00::/8"), reasonMulticast},
}

// Ranges whose addresses embed an IPv4 address, judged by that address.
var (
	nat64Prefix = mustPrefix("64:ff9b::/96") // RFC 6052 well-known NAT64
	sixToFour   = mustPrefix("2002::/16")    // RFC 3056 6to4
)

// forbiddenReason returns why ip may not be contacted, or "" if it is a public
// unicast address. IPv4-mapped (::ffff:a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
// (2002::/16) addresses are judged by the IPv4 address they embed.
func forbiddenReason(ip netip.Addr) string {
	if !ip.IsValid() {
		return reasonUnspecified
	}
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case nat64Prefix.Contains(ip):
			return forbiddenReason(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			if r := forbiddenReason(netip.AddrFrom4([4]byte(b[2:6]))); r != "" {
				return reasonTunnel + " to a " + r
			}
			return ""
		}
		for _, r := range blockedV6 {
			if r.prefix.Contains(ip) {
				return r.reason
			}
		}
	} else {
		for _, r := range blockedV4 {
			if r.prefix.Contains(ip) {
				return r.reason
			}
		}
	}
	if !ip.IsGlobalUnicast() {
		return reasonReserved
	}
	return ""
}

func forbiddenAddressError(reason string) *Error {
	return newErr(ErrForbiddenAddress, "this address is not allowed ("+reason+")", nil)
}

// parseLegacyIPv4 interprets host the way inet_aton does (so the way some
// resolvers and browsers do): 1 to 4 parts, each decimal, octal (leading 0)
// or hex (0x). It reports ok only for forms that are NOT canonical dotted
// quads, e.g. "2130706433", "0x7f000001", "0177.0.0.1", "127.1".
func parseLegacyIPv4(host string) (netip.Addr, bool) {
	if host == "" || len(host) > 64 {
		return netip.Addr{}, false
	}
	parts := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	vals := make([]uint64, len(parts))
	for i, p := range parts {
		if p == "" {
			return netip.Addr{}, false
		}
		base, digits := 10, p
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
		case p == "0x" || p == "0X":
			base, digits = 16, "0"
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		v, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return netip.Addr{}, false
		}
		vals[i] = v
	}
	// The last part fills all remaining bytes.
	var n uint64
	for i, v := range vals[:len(vals)-1] {
		if v > 255 {
			return netip.Addr{}, false
		}
		n |= v << (24 - 8*uint(i))
	}
	last := vals[len(vals)-1]
	if last >= 1<<(8*uint(5-len(vals))) {
		return netip.Addr{}, false
	}
	n |= last
	ip := netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	if ip.String() == host {
		return ip, false // canonical dotted quad: not legacy
	}
	return ip, true
}
