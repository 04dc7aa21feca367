//go:build linux

package timesync

import (
	"context"
	"log/slog"
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// batchSize is how many datagrams one recvmmsg or sendmmsg call moves.
const batchSize = 32

// batchConn reads and writes many datagrams per system call (recvmmsg,
// sendmmsg). ipv4.Message and ipv6.Message are the same type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// newBatchConn returns a batchConn for a UDP socket, or nil.
func newBatchConn(dc *dgramConn) batchConn {
	u, ok := dc.pc.(*net.UDPConn)
	if !ok {
		return nil
	}
	la, ok := u.LocalAddr().(*net.UDPAddr)
	if !ok {
		return nil
	}
	if la.IP.To4() != nil {
		return ipv4.NewPacketConn(u)
	}
	return ipv6.NewPacketConn(u)
}

// serveBatch is the read loop of ServePacket for UDP sockets on Linux: it
// reads up to batchSize datagrams at once, answers them in order, and
// sends the replies together, their transmit timestamps read just before
// the sendmmsg call that sends them. It returns the error that ended it.
func (s *Server) serveBatch(ctx context.Context, pc net.PacketConn, dc *dgramConn, bc batchConn, maxSize int) error {
	in := make([]ipv4.Message, batchSize)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, maxSize+1)}
		if dc.udp != nil {
			in[i].OOB = make([]byte, oobSize)
		}
	}
	out := make([]ipv4.Message, batchSize)
	outBufs := make([][]byte, batchSize)
	stamps := make([]bool, batchSize)
	for i := range outBufs {
		outBufs[i] = make([]byte, 0, maxSize)
		out[i].Buffers = [][]byte{nil}
	}
	for {
		n, err := bc.ReadBatch(in, 0)
		if err != nil {
			if s.readFailed(ctx, pc, err) {
				return err
			}
			continue
		}
		k := 0
		for i := range n {
			m := &in[i]
			from := peer{addr: m.Addr}
			if m.Flags&unix.MSG_TRUNC != 0 || m.N > maxSize {
				s.drop(&s.stats.malformed, "datagram too large", from)
				continue
			}
			rx, ok := rxTimestamp(m.OOB[:m.NN])
			if !ok {
				rx = dc.now()
			}
			reply, stamp := s.answer(outBufs[k][:0], m.Buffers[0][:m.N], from, rx)
			if len(reply) == 0 {
				continue
			}
			out[k].Buffers[0] = reply
			out[k].Addr = m.Addr
			stamps[k] = stamp
			k++
		}
		if k == 0 {
			continue
		}
		ts := TimestampOf(dc.now())
		for j := range k {
			if stamps[j] {
				putTransmit(out[j].Buffers[0], ts)
			}
		}
		for sent := 0; sent < k; {
			w, err := bc.WriteBatch(out[sent:k], 0)
			if err != nil {
				// The reply at out[sent] failed (a peer gone, an address
				// the kernel will not send to): skip it. On failure the
				// count can be -1; it must not stop the loop moving on.
				s.log(slog.LevelDebug, "timesync: reply not sent", "remote", out[sent].Addr.String(), "err", err)
				w = max(w, 0) + 1
			}
			sent += w
		}
	}
}
