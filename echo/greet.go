package echo

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/track"
)

// greetLinger bounds how long a greeting connection stays open after the
// greeting: the server half-closes it and reads (and drops) what the
// client still sends until the client closes too, so that closing does
// not make the kernel reset the connection, which can destroy the
// greeting before the client has read it. greetDrain bounds the bytes
// dropped.
const (
	greetLinger = time.Second
	greetDrain  = 64 << 10
)

// greet serves one connection of a greeting server (see
// [Server.Greeting]) in a goroutine of scope; ticket is its admission.
func (s *Server) greet(scope *track.Scope, c net.Conn, ticket admit.Ticket) {
	release := ticket.Release
	var stopping atomic.Bool
	remove, ok := scope.AddConn(c, func() {
		stopping.Store(true)
		c.SetReadDeadline(time.Unix(1, 0))
	})
	if !ok {
		release()
		c.Close()
		return
	}
	end := func() {
		c.Close()
		remove()
		release()
	}
	if !scope.Go(func() {
		s.sendGreeting(c, &stopping)
		end()
	}) {
		end()
	}
}

// sendGreeting writes the greeting line to c, half-closes it and waits,
// for at most greetLinger, for the client to close its side.
func (s *Server) sendGreeting(c net.Conn, stopping *atomic.Bool) {
	line := s.Greeting
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	if wt := opt.Or(s.WriteTimeout, DefaultWriteTimeout); wt > 0 {
		c.SetWriteDeadline(time.Now().Add(wt))
	}
	n, err := io.WriteString(c, line)
	s.bytes.Add(int64(n))
	if err != nil {
		s.log(slog.LevelDebug, "echo: greeting failed", "remote", c.RemoteAddr(), "err", err)
		return
	}
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	linger := greetLinger
	if idle := opt.Or(s.IdleTimeout, DefaultIdleTimeout); idle > 0 {
		linger = min(linger, idle)
	}
	c.SetReadDeadline(time.Now().Add(linger))
	if stopping.Load() {
		c.SetReadDeadline(time.Unix(1, 0)) // Shutdown began meanwhile
	}
	io.Copy(io.Discard, io.LimitReader(c, greetDrain))
}
