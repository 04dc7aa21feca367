package timesync

import (
	"net"
	"net/netip"
	"time"
)

// peer is the source of a datagram: an address and port for UDP (no
// allocation per datagram), or any net.Addr for other packet conns.
type peer struct {
	ap   netip.AddrPort
	addr net.Addr // nil when ap is set
}

func (p peer) String() string {
	if p.addr != nil {
		return p.addr.String()
	}
	return p.ap.String()
}

// port returns the source port, or -1 for addresses that have none.
func (p peer) port() int {
	if p.addr == nil {
		return int(p.ap.Port())
	}
	if u, ok := p.addr.(*net.UDPAddr); ok {
		return u.Port
	}
	return -1
}

// dgramConn reads datagrams with the time each arrived: the kernel's
// receive timestamp when the conn is a UDP socket on Linux and the clock
// is the system clock, and the clock read right after the read otherwise.
type dgramConn struct {
	pc  net.PacketConn
	udp *net.UDPConn // set when kernel timestamps are on
	oob []byte
	now func() time.Time
}

func newDgramConn(pc net.PacketConn, now func() time.Time) *dgramConn {
	d := &dgramConn{pc: pc, now: now}
	if now == nil {
		d.now = time.Now
		if u, ok := pc.(*net.UDPConn); ok && enableRxTimestamps(u) {
			d.udp = u
			d.oob = make([]byte, oobSize)
		}
	}
	return d
}

// read reads one datagram into b. truncated reports a datagram larger
// than b, which the kernel cut short.
func (d *dgramConn) read(b []byte) (n int, from peer, rx time.Time, truncated bool, err error) {
	if d.udp != nil {
		var oobn, flags int
		n, oobn, flags, from.ap, err = d.udp.ReadMsgUDPAddrPort(b, d.oob)
		if err != nil {
			return 0, peer{}, time.Time{}, false, err
		}
		rx, ok := rxTimestamp(d.oob[:oobn])
		if !ok {
			rx = d.now()
		}
		from.ap = netip.AddrPortFrom(from.ap.Addr().Unmap(), from.ap.Port())
		return n, from, rx, flags&msgTrunc != 0 || n == len(b), nil
	}
	n, from.addr, err = d.pc.ReadFrom(b)
	if err != nil {
		return 0, peer{}, time.Time{}, false, err
	}
	return n, from, d.now(), n == len(b), nil
}

// write sends b to p.
func (d *dgramConn) write(b []byte, p peer) error {
	if p.addr == nil {
		if u, ok := d.pc.(*net.UDPConn); ok {
			_, err := u.WriteToUDPAddrPort(b, p.ap)
			return err
		}
		_, err := d.pc.WriteTo(b, net.UDPAddrFromAddrPort(p.ap))
		return err
	}
	_, err := d.pc.WriteTo(b, p.addr)
	return err
}
