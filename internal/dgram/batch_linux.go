//go:build linux

package dgram

import (
	"net"

	"github.com/sockkit/sockkit/internal/admit"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// batchConn reads and writes many datagrams per system call (recvmmsg,
// sendmmsg). ipv4.Message and ipv6.Message are the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

type batch struct {
	bc  batchConn
	in  []ipv4.Message
	out []ipv4.Message
}

// newBatch returns a batch reader for a UDP socket, or nil.
func newBatch(c *conn, maxSize int) *batch {
	if c.udp == nil {
		return nil
	}
	la, ok := c.udp.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil
	}
	b := &batch{in: make([]ipv4.Message, batchSize), out: make([]ipv4.Message, batchSize)}
	if la.IP.To4() != nil {
		b.bc = ipv4.NewPacketConn(c.udp)
	} else {
		b.bc = ipv6.NewPacketConn(c.udp)
	}
	for i := range b.in {
		b.in[i].Buffers = [][]byte{make([]byte, maxSize+1)}
		if c.stamp {
			b.in[i].OOB = make([]byte, oobSize)
		}
	}
	for i := range b.out {
		b.out[i].Buffers = [][]byte{nil}
	}
	return b
}

// serveBatch is [Serve]'s loop for UDP sockets on Linux: it reads up to
// batchSize datagrams at once, hands them to h in order, and sends the
// replies together.
func serveBatch(c *conn, b *batch, cfg *Config, w *Writer, h Handler) error {
	d := &Datagram{}
	for {
		n, err := b.bc.ReadBatch(b.in, 0)
		if err != nil {
			if c.readFailed(err, cfg) {
				return loopErr(err, cfg)
			}
			continue
		}
		for i := range n {
			m := &b.in[i]
			if m.Flags&unix.MSG_TRUNC != 0 || m.N > cfg.MaxDatagram {
				cfg.drop(admit.Oversize)
				continue
			}
			rx, ok := rxTimestamp(m.OOB[:m.NN])
			if !ok {
				rx = cfg.Now()
			}
			d.Data, d.From, d.RX = m.Buffers[0][:m.N], AddrOf(m.Addr), rx
			cfg.received(m.N)
			h(w, d)
		}
		w.flush()
		w.reset()
	}
}

// write sends the queued datagrams, many per sendmmsg call.
func (c *conn) write(q []pending, cfg *Config) {
	b := c.batch
	if b == nil {
		for _, p := range q {
			cfg.sent(p, c.writeOne(p.b, p.to))
		}
		return
	}
	for i, p := range q {
		b.out[i].Buffers[0] = p.b
		b.out[i].Addr = p.to.Net()
	}
	for sent := 0; sent < len(q); {
		n, err := b.bc.WriteBatch(b.out[sent:len(q)], 0)
		if err == nil && n <= 0 {
			break // nothing moved and nothing said why: do not spin
		}
		n = max(n, 0)
		for _, p := range q[sent : sent+n] {
			cfg.sent(p, nil)
		}
		sent += n
		if err != nil && sent < len(q) {
			// The datagram at q[sent] failed (a peer gone, an address the
			// kernel will not send to): skip it and go on with the rest.
			cfg.sent(q[sent], err)
			sent++
		}
	}
	for i := range q {
		b.out[i].Buffers[0], b.out[i].Addr = nil, nil
	}
}
