package servertest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/servertest"
	"github.com/sockkit/sockkit/internal/track"
)

// errRefClosed is the reference servers' ErrServerClosed.
var errRefClosed = errors.New("ref: server closed")

// flaw is a way for the reference servers to break the contract, so that
// the tests can show that the suite notices.
type flaw int

const (
	sound                  flaw = iota
	wrapClosed                  // Serve wraps ErrServerClosed with the context's cause
	ignoreTimeout               // Serve passes no ShutdownTimeout to track.Begin
	noSourceCap                 // MaxConnsPerSource is not enforced
	leakGoroutine               // a goroutine outlives Shutdown
	acceptNegative              // a negative ShutdownTimeout is taken as the default
	silentShutdown              // no "BYE shutdown" line
	cancelSkipsFarewell         // a cancelled context closes without the closing line
	shutdownIgnoresContext      // Shutdown returns nil though its context ran out
)

// refStream is a line-echo server that follows the contract, the way
// sockkit's servers do, on internal/track and internal/admit: a client
// gets "HELLO", each line it sends comes back, "flood" makes the server
// write until the connection is closed, and a graceful shutdown sends
// "BYE shutdown".
type refStream struct {
	ShutdownTimeout   time.Duration
	MaxConnsPerSource int

	flaw     flaw
	group    track.Group
	initOnce sync.Once
	gate     *admit.Gate
	grace    time.Duration
	setErr   error
	leak     chan struct{}
}

func (s *refStream) init() {
	s.initOnce.Do(func() {
		r := opt.New("ref")
		if s.flaw == acceptNegative && s.ShutdownTimeout < 0 {
			s.ShutdownTimeout = 0
		}
		s.grace = opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, track.DefaultShutdownTimeout)
		per := opt.Unlimited(r, "MaxConnsPerSource", s.MaxConnsPerSource, 8)
		if s.flaw == noSourceCap {
			per = -1
		}
		s.gate = admit.New(admit.Config{MaxConns: -1, MaxPerSource: per})
		s.setErr = r.Err()
		s.leak = make(chan struct{})
	})
}

// refStats is the reference servers' Stats.
type refStats struct {
	sockkit.Counters
}

func (s *refStream) Stats() refStats {
	s.init()
	return refStats{s.gate.Counters.Load()}
}

func (s *refStream) Serve(ctx context.Context, l net.Listener) error {
	s.init()
	if s.setErr != nil {
		l.Close()
		return s.setErr
	}
	grace := s.grace
	if s.flaw == ignoreTimeout {
		grace = 0
	}
	scope, err := s.group.Begin(ctx, l, nil, grace)
	if err != nil {
		return errRefClosed
	}
	if s.flaw == leakGoroutine {
		go func() { <-s.leak }()
	}
	for {
		c, err := scope.Accept(l, nil)
		if err != nil {
			err = scope.Finish(err, errRefClosed)
			if s.flaw == wrapClosed && ctx.Err() != nil {
				err = fmt.Errorf("%w: %w", err, context.Cause(ctx))
			}
			return err
		}
		ticket, why := s.gate.Conn(c.RemoteAddr())
		release := ticket.Release
		if why != admit.OK {
			io.WriteString(c, "BYE "+strings.ReplaceAll(why.String(), " ", "-")+"\n")
			c.Close()
			continue
		}
		rc := &refConn{s: s, c: c}
		remove, ok := scope.AddConn(c, rc.shutdown)
		if !ok {
			release()
			c.Close()
			continue
		}
		if !scope.Go(func() {
			defer release()
			defer remove()
			defer c.Close()
			rc.run(ctx)
		}) {
			remove()
			release()
			c.Close()
		}
	}
}

func (s *refStream) Shutdown(ctx context.Context) error {
	if s.flaw == shutdownIgnoresContext {
		s.group.Shutdown(ctx)
		return nil
	}
	return s.group.Shutdown(ctx)
}

func (s *refStream) Close() error { return s.group.Close() }

// refConn is one connection of a refStream.
type refConn struct {
	s        *refStream
	c        net.Conn
	mu       sync.Mutex
	draining bool
}

func (rc *refConn) shutdown() {
	rc.mu.Lock()
	rc.draining = true
	rc.mu.Unlock()
	rc.c.SetReadDeadline(time.Unix(1, 0))
}

func (rc *refConn) run(ctx context.Context) {
	if _, err := io.WriteString(rc.c, "HELLO\n"); err != nil {
		return
	}
	buf := make([]byte, 4096)
	var line []byte
	for {
		n, err := rc.c.Read(buf)
		for _, b := range buf[:n] {
			if b != '\n' {
				line = append(line, b)
				continue
			}
			if string(line) == "flood" {
				rc.flood()
				return
			}
			rc.c.Write(append(line, '\n'))
			line = line[:0]
		}
		if err != nil {
			rc.mu.Lock()
			draining := rc.draining
			rc.mu.Unlock()
			farewell := draining && rc.s.flaw != silentShutdown &&
				!(rc.s.flaw == cancelSkipsFarewell && ctx.Err() != nil)
			if farewell {
				rc.c.SetWriteDeadline(time.Now().Add(time.Second))
				io.WriteString(rc.c, "BYE shutdown\n")
			}
			return
		}
	}
}

// flood writes until the connection fails, at most 1 GiB: a session a
// graceful shutdown cannot end while its client does not read.
func (rc *refConn) flood() {
	chunk := make([]byte, 64<<10)
	for range (1 << 30) / len(chunk) {
		if _, err := rc.c.Write(chunk); err != nil {
			return
		}
	}
}

// refBare is a refStream whose Stats lacks sockkit.Counters.
type refBare struct{ refStream }

func (s *refBare) Stats() struct{ Conns int64 } { return struct{ Conns int64 }{} }

// refOpenListener is a refStream that, once closed, leaves the listener
// of a later Serve open.
type refOpenListener struct{ refStream }

func (s *refOpenListener) Serve(ctx context.Context, l net.Listener) error {
	if s.group.ShuttingDown() {
		return errRefClosed
	}
	return s.refStream.Serve(ctx, l)
}

// refSession says one line and reads it back.
func refSession(ctx context.Context, dial servertest.DialFunc, addr string) error {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if line, err := servertest.ReadLine(c); err != nil || line != "HELLO" {
		return fmt.Errorf("greeting %q, %v", line, err)
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		return err
	}
	if line, err := servertest.ReadLine(c); err != nil || line != "ping" {
		return fmt.Errorf("echo %q, %v", line, err)
	}
	return nil
}

// refHold connects, reads the greeting and leaves the connection idle.
func refHold(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if line, err := servertest.ReadLine(c); err != nil || line != "HELLO" {
		c.Close()
		return nil, fmt.Errorf("greeting %q, %v", line, err)
	}
	return c, nil
}

// refStuck asks for a flood and reads its first byte, so that the server
// is known to be flooding, then reads no more.
func refStuck(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, err := refHold(ctx, dial, addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, "flood\n"); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// refClosing expects "BYE shutdown".
func refClosing(c net.Conn) error {
	line, err := servertest.ReadLine(c)
	if err != nil {
		return fmt.Errorf("no BYE line: %v", err)
	}
	if line != "BYE shutdown" {
		return fmt.Errorf("got %q; want \"BYE shutdown\"", line)
	}
	return nil
}

// refPacket is a datagram echo server that follows the contract.
type refPacket struct {
	ShutdownTimeout time.Duration

	group    track.Group
	initOnce sync.Once
	counters admit.Counters
	grace    time.Duration
	setErr   error
}

func (s *refPacket) init() {
	s.initOnce.Do(func() {
		r := opt.New("ref")
		s.grace = opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, track.DefaultShutdownTimeout)
		s.setErr = r.Err()
	})
}

func (s *refPacket) Stats() refStats { return refStats{s.counters.Load()} }

func (s *refPacket) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init()
	if s.setErr != nil {
		pc.Close()
		return s.setErr
	}
	scope, err := s.group.Begin(ctx, pc, func() { pc.SetReadDeadline(time.Unix(1, 0)) }, s.grace)
	if err != nil {
		return errRefClosed
	}
	buf := make([]byte, 2048)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if !scope.Stopping() && errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return scope.Finish(err, errRefClosed)
		}
		// Counted before the reply goes: a client that has its answer
		// may look at Stats at once.
		s.counters.Request(n, n)
		pc.WriteTo(buf[:n], from)
	}
}

func (s *refPacket) Shutdown(ctx context.Context) error { return s.group.Shutdown(ctx) }
func (s *refPacket) Close() error                       { return s.group.Close() }

// refPacketSession sends one datagram and reads it back.
func refPacketSession(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, 16)
	for {
		if _, err := c.Write([]byte("ping")); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) == "ping" {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}
