package echo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/text/transform"
)

// maxPending bounds the untransformed bytes a connection may carry from
// one read to the next while its transformer waits for the rest of a
// character. A transformer that wants more is broken; the connection is
// closed rather than left to grow.
const maxPending = 1024

var errEOF = io.EOF

// streamConn is the state of one TCP connection.
type streamConn struct {
	s        *Server
	c        net.Conn
	raw      rawReader // reads without holding a buffer while idle; nil if c has no fd
	t        transform.Transformer
	pending  []byte // bytes the transformer has not consumed yet
	idle     time.Duration
	write    time.Duration
	draining atomic.Bool // graceful shutdown has begun
}

func (s *Server) newStreamConn(c net.Conn) *streamConn {
	sc := &streamConn{
		s:     s,
		c:     c,
		idle:  orDefault(s.IdleTimeout, DefaultIdleTimeout),
		write: orDefault(s.WriteTimeout, DefaultWriteTimeout),
	}
	sc.raw = newRawReader(c, &s.bufs)
	if s.Transform != nil {
		sc.t = s.Transform()
	}
	return sc
}

// shutdown asks the connection to end: it stops reading, sends back what
// it already has, and closes.
func (sc *streamConn) shutdown() {
	sc.draining.Store(true)
	sc.c.SetReadDeadline(time.Unix(1, 0))
}

// armRead sets the idle deadline for the next read, without undoing a
// shutdown that has begun meanwhile.
func (sc *streamConn) armRead() {
	if sc.idle > 0 {
		sc.c.SetReadDeadline(time.Now().Add(sc.idle))
	}
	if sc.draining.Load() {
		sc.c.SetReadDeadline(time.Unix(1, 0))
	}
}

// read returns the next bytes from the peer in a buffer borrowed from the
// server's pool, which the caller gives back with release.
func (sc *streamConn) read() (*[]byte, int, error) {
	if sc.raw != nil {
		return sc.raw.read()
	}
	buf := sc.s.bufs.Get().(*[]byte)
	n, err := sc.c.Read(*buf)
	return buf, n, err
}

func (sc *streamConn) release(buf *[]byte) {
	if buf != nil {
		sc.s.bufs.Put(buf)
	}
}

func (sc *streamConn) serve() {
	defer sc.c.Close()
	for {
		sc.armRead()
		buf, n, err := sc.read()
		if n > 0 {
			if werr := sc.send((*buf)[:n], false); werr != nil {
				sc.release(buf)
				sc.s.log(slog.LevelDebug, "echo: write failed; closing", "remote", sc.c.RemoteAddr(), "err", werr)
				return
			}
		}
		sc.release(buf)
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, io.EOF), sc.draining.Load() && errors.Is(err, os.ErrDeadlineExceeded):
			// The peer is done sending, or the server is shutting down:
			// flush what the transformer still holds, then close.
			if werr := sc.send(nil, true); werr != nil {
				sc.s.log(slog.LevelDebug, "echo: write failed; closing", "remote", sc.c.RemoteAddr(), "err", werr)
			}
		case errors.Is(err, os.ErrDeadlineExceeded):
			sc.s.log(slog.LevelDebug, "echo: idle timeout; closing", "remote", sc.c.RemoteAddr(), "timeout", sc.idle)
		case errors.Is(err, net.ErrClosed):
		default:
			sc.s.log(slog.LevelDebug, "echo: read failed; closing", "remote", sc.c.RemoteAddr(), "err", err)
		}
		return
	}
}

// send writes p back, through the transformer if there is one; atEOF
// says that no more input will follow.
func (sc *streamConn) send(p []byte, atEOF bool) error {
	if sc.t == nil {
		return sc.writeAll(p)
	}
	src := p
	if len(sc.pending) > 0 {
		src = append(sc.pending, p...)
	}
	dstp := sc.s.bufs.Get().(*[]byte)
	defer sc.s.bufs.Put(dstp)
	dst := *dstp
	for {
		nDst, nSrc, err := sc.t.Transform(dst, src, atEOF)
		if werr := sc.writeAll(dst[:nDst]); werr != nil {
			return werr
		}
		src = src[nSrc:]
		switch {
		case err == nil:
			sc.pending = sc.pending[:0]
			return nil
		case errors.Is(err, transform.ErrShortDst) && (nDst > 0 || nSrc > 0):
			continue // dst was full: write more
		case errors.Is(err, transform.ErrShortSrc) && !atEOF:
			if len(src) > maxPending {
				return fmt.Errorf("echo: transform holds %d bytes back, more than %d", len(src), maxPending)
			}
			sc.pending = append(sc.pending[:0], src...)
			return nil
		default:
			return fmt.Errorf("echo: transform: %w", err)
		}
	}
}

func (sc *streamConn) writeAll(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if sc.write > 0 {
		sc.c.SetWriteDeadline(time.Now().Add(sc.write))
	}
	n, err := sc.c.Write(p)
	sc.s.stats.bytes.Add(int64(n))
	return err
}

// rawReader reads from a connection's file descriptor without holding a
// buffer while it waits, so that an idle connection costs its goroutine
// and little else.
type rawReader interface {
	read() (*[]byte, int, error)
}
