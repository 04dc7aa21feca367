package echo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/track"
)

// A PacketHandler answers one datagram. It appends its reply to reply
// (which has room for MaxDatagram+ReplySlack bytes) and returns it; an
// empty result sends nothing. req is only valid during the call; from is
// the source address, already checked against the rate limit. A handler
// is called from one goroutine per ServePacket call.
//
// The server drops any reply more than ReplySlack bytes longer than its
// request, so no handler can turn the server into an amplifier.
type PacketHandler func(reply, req []byte, from net.Addr) []byte

// ServePacket answers the datagrams that arrive on pc until the server
// stops. Each datagram gets one reply datagram: the same bytes, passed
// through Transform, or what PacketHandler returns. Datagrams that are
// too large, come from port 0 or a port below 1024, or exceed their
// source's rate are dropped; see [Server].
//
// ServePacket always returns a non-nil error and closes pc; the error is
// [ErrServerClosed] after [Server.Shutdown] or [Server.Close], and wraps
// ErrServerClosed and the context's cause when ctx is cancelled.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init()
	scope, err := s.group.Begin(ctx, pc, func() { pc.SetReadDeadline(time.Unix(1, 0)) }, 0)
	if err != nil {
		return ErrServerClosed
	}
	maxSize := min(opt.Or(s.MaxDatagram, DefaultMaxDatagram), MaxDatagramLimit)
	in := make([]byte, maxSize+1) // one byte more, to see datagrams that are too large
	out := make([]byte, 0, maxSize+ReplySlack)
	handler := s.PacketHandler
	if handler == nil {
		handler = echoHandler(s.Transform)
	}
	for {
		n, from, err := pc.ReadFrom(in)
		if err != nil {
			if s.group.ShuttingDown() || ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return scope.Finish(err, ErrServerClosed)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				// Someone else set a deadline on pc; it is not ours to keep.
				// Shutdown may have set its own meanwhile: look again after
				// clearing, or its deadline would be lost.
				pc.SetReadDeadline(time.Time{})
				if s.group.ShuttingDown() || ctx.Err() != nil {
					return scope.Finish(err, ErrServerClosed)
				}
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || track.Temporary(err) {
				continue
			}
			// An ICMP error reported on the socket (a peer's port was
			// closed) is about one earlier reply, not about pc.
			if errors.Is(err, ecONNREFUSED) {
				continue
			}
			return scope.Finish(err, ErrServerClosed)
		}
		if !s.admit(from, n, maxSize) {
			continue
		}
		reply := handler(out[:0], in[:n], from)
		if len(reply) == 0 || len(reply) > n+ReplySlack {
			s.stats.reply.Add(1)
			s.log(slog.LevelDebug, "echo: reply dropped", "remote", from, "request", n, "reply", len(reply))
			continue
		}
		if _, err := pc.WriteTo(reply, from); err != nil {
			s.log(slog.LevelDebug, "echo: reply not sent", "remote", from, "err", err)
			continue
		}
		s.stats.datagrams.Add(1)
	}
}

// admit applies the checks a datagram must pass before it is answered.
func (s *Server) admit(from net.Addr, n, maxSize int) bool {
	if n > maxSize {
		s.stats.oversize.Add(1)
		s.log(slog.LevelDebug, "echo: datagram too large; dropped", "remote", from, "max", maxSize)
		return false
	}
	if port := sourcePort(from); port == 0 || port < 1024 && !s.AllowLowPorts {
		s.stats.port.Add(1)
		s.log(slog.LevelDebug, "echo: datagram from a service port; dropped", "remote", from)
		return false
	}
	if s.limiter != nil && !s.limiter.AllowN(time.Now(), ratelimit.Key(from), 1) {
		s.stats.rate.Add(1)
		s.log(slog.LevelDebug, "echo: source over its rate; dropped", "remote", from)
		return false
	}
	return true
}

// sourcePort returns the port of a UDP address, or -1 for addresses that
// have none (a unixgram socket, say), which are not checked.
func sourcePort(a net.Addr) int {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.Port
	}
	return -1
}

// echoHandler returns the handler that sends a datagram back, through a
// transformer made by newT if it is not nil.
func echoHandler(newT func() transform.Transformer) PacketHandler {
	if newT == nil {
		return func(reply, req []byte, _ net.Addr) []byte { return append(reply, req...) }
	}
	t := newT()
	return func(reply, req []byte, _ net.Addr) []byte {
		t.Reset()
		nDst, _, err := t.Transform(reply[:cap(reply)], req, true)
		if err != nil {
			return nil // too large for a reply, or not transformable
		}
		return reply[:nDst]
	}
}
