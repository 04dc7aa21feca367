package dgram

import (
	"net"
	"net/netip"

	"github.com/sockkit/sockkit/internal/ratelimit"
)

// Addr is the source or destination of a datagram: an IP address and port
// for UDP, held without allocation, or any other [net.Addr] (a unixgram
// socket's path, a test conn's address).
type Addr struct {
	ap    netip.AddrPort
	other net.Addr // nil when ap is set
	na    net.Addr // ap as the net.Addr it was read as, if any, so that a reply to it does not allocate
}

// AddrOf returns the Addr of a, which may be nil.
func AddrOf(a net.Addr) Addr {
	switch a := a.(type) {
	case nil:
		return Addr{}
	case *net.UDPAddr:
		r := AddrPort(a.AddrPort())
		r.na = a
		return r
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return AddrPort(ap)
	}
	return Addr{other: a}
}

// AddrPort returns the Addr of a UDP address, IPv4-mapped addresses
// unmapped.
func AddrPort(ap netip.AddrPort) Addr {
	return Addr{ap: netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())}
}

// IsValid reports whether a is an address at all.
func (a Addr) IsValid() bool { return a.other != nil || a.ap.IsValid() }

// AddrPort returns the IP address and port, and false for an address that
// is not IP.
func (a Addr) AddrPort() (netip.AddrPort, bool) { return a.ap, a.other == nil && a.ap.IsValid() }

// Port returns the port of an IP address, or -1 for an address that has
// none, which no port rule applies to.
func (a Addr) Port() int {
	if a.other != nil || !a.ap.IsValid() {
		return -1
	}
	return int(a.ap.Port())
}

// Key returns the rate limiter's and admission gate's key of a: the IP,
// or the /64 of an IPv6 address ([ratelimit.Key]).
func (a Addr) Key() netip.Addr {
	if a.other != nil {
		return ratelimit.Key(a.other)
	}
	return ratelimit.KeyIP(a.ap.Addr())
}

// Net returns a as a [net.Addr].
func (a Addr) Net() net.Addr {
	if a.other != nil {
		return a.other
	}
	if a.na != nil {
		return a.na
	}
	if !a.ap.IsValid() {
		return nil
	}
	return net.UDPAddrFromAddrPort(a.ap)
}

func (a Addr) String() string {
	if a.other != nil {
		return a.other.String()
	}
	return a.ap.String()
}
