package echo

import (
	"context"
	"net"
	"time"

	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit/internal/dgram"
	"github.com/sockkit/sockkit/internal/track"
)

// A PacketHandler answers one datagram. It appends its reply to reply
// (which has room for AmplificationFactor times MaxDatagram bytes) and
// returns it; an empty result sends nothing. req is only valid during the
// call; from is the source address, already checked against the rate
// limit. A handler is called from one goroutine per ServePacket call.
//
// The server drops any reply more than [AmplificationFactor] times longer
// than its request, so no handler can turn the server into an amplifier.
type PacketHandler func(reply, req []byte, from net.Addr) []byte

// ServePacket answers the datagrams that arrive on pc until the server
// stops. Each datagram gets one reply datagram: the same bytes, passed
// through Transform, or what PacketHandler returns. Datagrams that are
// too large, come from port 0 or a port below 1024, or exceed their
// source's rate are dropped; see [Server].
//
// ServePacket always returns a non-nil error and closes pc: a setting out
// of range, or [ErrServerClosed] after [Server.Shutdown], [Server.Close]
// or the cancelling of ctx.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init()
	handler := s.PacketHandler
	if handler == nil {
		handler = echoHandler(s.Transform)
	}
	return s.group.Run(ctx, pc, dgram.Unblock(pc), s.set.shutdownTimeout, s.setErr, ErrServerClosed, func(scope *track.Scope) error {
		return dgram.Serve(pc, dgram.Config{
			MaxDatagram: s.set.maxDatagram,
			Stopping:    scope.Stopping,
			Counters:    &s.gate.Counters,
			Logger:      s.Logger,
			Name:        "echo",
		}, func(w *dgram.Writer, d *dgram.Datagram) {
			if !s.gate.Port(d.From.Port()) || !s.gate.Allow(d.From.Key(), time.Now()) {
				return
			}
			reply := handler(w.Buffer(), d.Data, d.From.Net())
			if len(reply) > 0 && w.Reply(d, reply) {
				s.gate.Counters.Request(len(d.Data), 0) // the bytes out are counted as they go
			}
		})
	})
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
