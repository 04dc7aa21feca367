package timesync

import (
	"net"
	"time"

	"github.com/sockkit/sockkit/internal/dgram"
)

// dgramConn reads the client's replies with the time each arrived (see
// [dgram.Reader]).
type dgramConn struct{ r *dgram.Reader }

func newDgramConn(pc net.PacketConn, now func() time.Time) *dgramConn {
	return &dgramConn{r: dgram.NewReader(pc, now)}
}

// read reads one datagram into b. truncated reports a datagram larger
// than b, which the kernel cut short.
func (d *dgramConn) read(b []byte) (n int, from dgram.Addr, rx time.Time, truncated bool, err error) {
	return d.r.Read(b)
}
