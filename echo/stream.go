package echo

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/track"
)

// maxPending bounds the untransformed bytes a connection may carry from
// one read to the next while its transformer waits for the rest of a
// character. A transformer that wants more is broken; the connection is
// closed rather than left to grow.
const maxPending = 1024

var errEOF = io.EOF

// linger is how long a connection keeps its goroutine after its last
// read before it is parked (see stream_park.go): long enough that a connection
// in steady use never pays for the hand-off, short enough that the
// goroutines of idle connections do not pile up.
var linger = 100 * time.Millisecond // a variable only so that tests can shorten it

// start is when the package was initialised. A connection keeps its
// times as durations since start (see clock), which are a third the size
// of a time.Time: with thousands of connections, every byte of their
// state counts.
var start = time.Now()

// clock returns the monotonic time since start.
func clock() time.Duration { return time.Since(start) }

// streamConn is the state of one TCP connection.
type streamConn struct {
	s          *Server
	c          net.Conn
	raw        rawConn // reads without holding a buffer while idle; nil if c has no fd
	t          transform.Transformer
	pending    []byte // bytes the transformer has not consumed yet
	idle       time.Duration
	write      time.Duration
	wait       time.Duration // read deadline: idle, or linger when parking
	rearm      time.Duration // how stale the deadline may get; see armRead
	armedAt    time.Duration // when the read deadline was last moved (clock)
	lastActive time.Duration // when the connection last read (clock)
	draining   atomic.Bool   // graceful shutdown has begun
	armed      bool          // the read deadline is set, at armedAt

	scope   *track.Scope
	remove  func()       // unregisters the connection from scope; called once, after Close
	ticket  admit.Ticket // its admission, released after remove
	parking park.Conn    // parks the connection while it idles, if registered
}

func (s *Server) newStreamConn(c net.Conn) *streamConn {
	sc := &streamConn{
		s:     s,
		c:     c,
		idle:  opt.Or(s.IdleTimeout, DefaultIdleTimeout),
		write: opt.Or(s.WriteTimeout, DefaultWriteTimeout),
		// A new connection parks before it reads: its idle timeout
		// counts from now.
		lastActive: clock(),
	}
	sc.wait = sc.idle
	sc.rearm = sc.idle / 8
	sc.raw = newRawConn(c, &s.bufs)
	if s.Transform != nil {
		sc.t = s.Transform()
	}
	return sc
}

// run serves the connection in the calling goroutine until it ends, or
// parks.
func (sc *streamConn) run() {
	if !sc.serve() {
		sc.end()
	}
}

// resume gives a connection back from the poller its goroutine again.
func (sc *streamConn) resume() {
	sc.armed = false
	if !sc.scope.Go(sc.run) {
		sc.end() // the server is closed
	}
}

// end closes the connection and unregisters it.
func (sc *streamConn) end() {
	sc.c.Close()
	sc.remove()
	sc.ticket.Release()
}

// shutdown asks the connection to end: it stops reading, sends back what
// it already has, and closes.
func (sc *streamConn) shutdown() {
	sc.draining.Store(true)
	sc.c.SetReadDeadline(time.Unix(1, 0))
	if sc.parking.Unpark() {
		sc.s.parked.Add(-1)
		sc.resume()
	}
}

// armRead sets the read deadline for the next read, without undoing a
// shutdown that has begun meanwhile. Moving a deadline costs a timer
// update, so it is moved only when sc.rearm has passed since it was last
// set: an eighth of the idle timeout (a connection is closed after between
// 7/8 of IdleTimeout and all of it without data), or half the linger when
// the connection parks (it parks after 50 to 100 ms without data).
// Measured at 1,000 connections doing round trips every 10 ms, moving it
// every eighth of the linger cost about 5% more server CPU per round trip.
func (sc *streamConn) armRead() {
	if sc.wait > 0 {
		now := clock()
		sc.lastActive = now
		if !sc.armed || now-sc.armedAt > sc.rearm {
			sc.armed, sc.armedAt = true, now
			sc.c.SetReadDeadline(start.Add(now + sc.wait))
		}
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

// serve echoes until the peer is done, the connection idles out, or the
// server stops, and reports false; or it parks the connection and reports
// true. Its frame and those of the data path are kept small (the rarely
// taken branches live in functions that are not inlined) so that the
// goroutine's stack stays at its initial 2 KiB: with thousands of
// connections, stacks are most of the server's memory.
func (sc *streamConn) serve() (parked bool) {
	for {
		sc.armRead()
		buf, n, err := sc.read()
		if n > 0 {
			if werr := sc.echo((*buf)[:n]); werr != nil {
				sc.release(buf)
				sc.writeFailed(werr)
				return false
			}
		}
		sc.release(buf)
		if err != nil {
			if sc.parking.Registered() && sc.lingered(err) {
				if sc.park() {
					return true
				}
				continue // parking was refused: wait here
			}
			sc.finish(err)
			return false
		}
	}
}

// lingered reports whether err ends only the connection's linger: its
// read deadline passed, but neither its idle timeout nor a shutdown has
// come. It then clears armed, so that the next read deadline is set
// afresh if the connection does not park.
//
//go:noinline
func (sc *streamConn) lingered(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) || sc.draining.Load() {
		return false
	}
	if sc.idle > 0 && clock()-sc.lastActive >= sc.idle {
		return false // idle timeout
	}
	sc.armed = false
	return true
}

// echo sends p back, through the transformer if there is one.
func (sc *streamConn) echo(p []byte) error {
	if sc.t == nil {
		return sc.writeAll(p)
	}
	return sc.send(p, false)
}

//go:noinline
func (sc *streamConn) writeFailed(err error) {
	sc.s.log(slog.LevelDebug, "echo: write failed; closing", "remote", sc.c.RemoteAddr(), "err", err)
}

// finish handles the error that ended the read loop.
//
//go:noinline
func (sc *streamConn) finish(err error) {
	switch {
	case errors.Is(err, io.EOF), sc.draining.Load() && errors.Is(err, os.ErrDeadlineExceeded):
		// The peer is done sending, or the server is shutting down: flush
		// what the transformer still holds, then close.
		if sc.t != nil {
			if werr := sc.send(nil, true); werr != nil {
				sc.writeFailed(werr)
			}
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		sc.s.log(slog.LevelDebug, "echo: idle timeout; closing", "remote", sc.c.RemoteAddr(), "timeout", sc.idle)
	case errors.Is(err, net.ErrClosed):
	default:
		sc.s.log(slog.LevelDebug, "echo: read failed; closing", "remote", sc.c.RemoteAddr(), "err", err)
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

// writeAll writes p. It first tries once without a deadline, which is
// all it takes while the peer keeps reading; only when the socket buffer
// is full does it set the write deadline and wait.
func (sc *streamConn) writeAll(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	if sc.raw != nil {
		n, err := sc.raw.tryWrite(p)
		sc.s.bytes.Add(int64(n))
		if err != nil || n == len(p) {
			return err
		}
		p = p[n:]
	}
	if sc.write > 0 {
		sc.c.SetWriteDeadline(time.Now().Add(sc.write))
	}
	n, err := sc.c.Write(p)
	sc.s.bytes.Add(int64(n))
	return err
}

// rawConn reads from a connection's file descriptor without holding a
// buffer while it waits, so that an idle connection costs its goroutine
// and little else, and writes without a deadline when the socket can take
// the bytes at once.
type rawConn interface {
	read() (*[]byte, int, error)
	// tryWrite makes one write attempt that does not wait; it returns
	// how much was written, and an error only for a failure other than
	// a full socket buffer.
	tryWrite(p []byte) (int, error)
	// SyscallConn returns the connection's own raw conn, which the
	// poller that parks it uses.
	syscall.Conn
}
