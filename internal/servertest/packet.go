package servertest

import (
	"context"
	"net"
	"testing"
)

// RunPacket runs the lifecycle contract (see the package doc) against the
// datagram server p describes, one subtest per rule. The rules about
// connections (the per-source cap, stuck sessions) are for stream servers
// and are not part of it: a datagram server has no connection to cap, and
// nothing a client does can hold its shutdown up. The test that calls it
// must not call t.Parallel.
func RunPacket[S PacketServer](t *testing.T, p Packet[S]) {
	t.Helper()
	if p.New == nil || p.Session == nil || p.ErrServerClosed == nil {
		t.Fatal("servertest: a Packet needs New, ErrServerClosed and Session")
	}
	sub := subject{
		name:   p.Name,
		serve:  "ServePacket",
		closed: p.ErrServerClosed,
		new: func(t *testing.T) *instance {
			srv := p.New(t)
			return &instance{
				srv: srv,
				listen: func(t *testing.T) (any, string) {
					pc := listenPacket(t)
					return pc, pc.LocalAddr().String()
				},
				serve:    func(ctx context.Context, x any) error { return srv.ServePacket(ctx, x.(net.PacketConn)) },
				shutdown: srv.Shutdown,
				close:    srv.Close,
			}
		},
		session: p.Session,
		bad:     badCases(p.BadSettings),
	}
	if p.Hold != nil {
		sub.hold = func(t *testing.T, addr string) held {
			t.Helper()
			ps, err := p.Hold(patientContext(t), addr)
			if err != nil {
				t.Fatalf("opening a session to hold: %v", err)
			}
			t.Cleanup(func() { ps.Close() })
			return packetHeld{ps}
		}
	}
	sub.runAll(t, nil, nil)
}

// packetHeld is a session made by Packet.Hold.
type packetHeld struct{ ps PacketSession }

// graceful checks that the server has ended the session as a graceful
// shutdown ends one.
func (h packetHeld) graceful(t *testing.T) {
	t.Helper()
	if err := h.ps.Ended(patientContext(t)); err != nil {
		t.Errorf("held session, during the graceful shutdown: %v", err)
	}
}

// closed checks nothing: Close ends a datagram session without a word,
// and the client cannot tell.
func (packetHeld) closed(*testing.T) {}
