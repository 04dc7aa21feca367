package dgram

import (
	"net"
	"net/netip"
	"time"
)

// conn reads and writes datagrams with [Addr] addresses, without
// allocating when pc is a *net.UDPConn.
type conn struct {
	pc    net.PacketConn
	udp   *net.UDPConn
	oob   []byte // set when kernel receive timestamps are on
	now   func() time.Time
	stamp bool
	batch *batch // set when the platform moves many datagrams per system call
}

func newConn(pc net.PacketConn, rxStamps bool, now func() time.Time) *conn {
	c := &conn{pc: pc, now: now}
	c.udp, _ = pc.(*net.UDPConn)
	if rxStamps && c.udp != nil && enableRxTimestamps(c.udp) {
		c.stamp = true
		c.oob = make([]byte, oobSize)
	}
	return c
}

// read reads one datagram into b. trunc reports a datagram larger than b.
func (c *conn) read(b []byte) (n int, from Addr, rx time.Time, trunc bool, err error) {
	if c.udp != nil {
		var oobn, flags int
		var ap netip.AddrPort
		n, oobn, flags, ap, err = c.udp.ReadMsgUDPAddrPort(b, c.oob)
		if err != nil {
			return 0, Addr{}, time.Time{}, false, err
		}
		rx, ok := rxTimestamp(c.oob[:oobn])
		if !ok {
			rx = c.now()
		}
		return n, AddrPort(ap), rx, flags&msgTrunc != 0 || n == len(b), nil
	}
	n, a, err := c.pc.ReadFrom(b)
	if err != nil {
		return 0, Addr{}, time.Time{}, false, err
	}
	return n, AddrOf(a), c.now(), n == len(b), nil
}

// writeOne sends b to to.
func (c *conn) writeOne(b []byte, to Addr) error { return WriteTo(c.pc, b, to) }

// WriteTo sends b to to on pc, without allocating when pc is a UDP
// socket: for what a server sends outside the loop's handler (a
// farewell, an expiry notice).
func WriteTo(pc net.PacketConn, b []byte, to Addr) error {
	if ap, ok := to.AddrPort(); ok {
		if u, ok := pc.(*net.UDPConn); ok {
			_, err := u.WriteToUDPAddrPort(b, ap)
			return err
		}
	}
	_, err := pc.WriteTo(b, to.Net())
	return err
}

// Reader reads datagrams with the time each arrived, for clients that
// need it (an NTP client's receive timestamp): the kernel's timestamp
// when pc is a UDP socket on Linux and now is nil, and the clock read
// right after the read otherwise.
type Reader struct{ c *conn }

// NewReader returns a Reader for pc; now nil means the system clock.
func NewReader(pc net.PacketConn, now func() time.Time) *Reader {
	stamps := now == nil
	if now == nil {
		now = time.Now
	}
	return &Reader{c: newConn(pc, stamps, now)}
}

// Read reads one datagram into b. trunc reports a datagram larger than b.
func (r *Reader) Read(b []byte) (n int, from Addr, rx time.Time, trunc bool, err error) {
	return r.c.read(b)
}
