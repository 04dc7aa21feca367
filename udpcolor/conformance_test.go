package udpcolor_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sockkit/sockkit/internal/servertest"
	"github.com/sockkit/sockkit/udpcolor"
)

// TestConformance runs the lifecycle contract that every sockkit server
// meets (internal/servertest) against ServePacket; a member is the
// session that lasts.
func TestConformance(t *testing.T) {
	servertest.RunPacket(t, servertest.Packet[*udpcolor.Server]{
		Name:            "udpcolor",
		New:             func(testing.TB) *udpcolor.Server { return new(udpcolor.Server) },
		ErrServerClosed: udpcolor.ErrServerClosed,
		Session:         joinLeave,
		Hold:            joinStay,
		BadSettings: []servertest.BadSetting[*udpcolor.Server]{
			{Field: "Color", Set: func(s *udpcolor.Server) { s.Color = udpcolor.ColorMode(99) }},
		},
	})
}

// names numbers the names of the members, which must be unique on a
// server.
var names atomic.Int64

func nextName() string { return fmt.Sprintf("conf%d", names.Add(1)) }

// joinLeave joins the group and leaves it.
func joinLeave(ctx context.Context, addr string) error {
	c, err := new(udpcolor.Client).Join(ctx, addr, nextName())
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Leave(ctx)
}

// joinStay joins the group and stays a member.
func joinStay(ctx context.Context, addr string) (servertest.PacketSession, error) {
	c, err := new(udpcolor.Client).Join(ctx, addr, nextName())
	if err != nil {
		return nil, err
	}
	return member{c}, nil
}

// member is a membership held open by the suite.
type member struct{ *udpcolor.Conn }

// Ended waits for the session to end; the server's "bye NAME shutdown"
// ends it with ErrShutdown.
func (m member) Ended(ctx context.Context) error {
	select {
	case <-m.Done():
		if err := m.Err(); !errors.Is(err, udpcolor.ErrShutdown) {
			return fmt.Errorf("the membership ended with %v; want %v", err, udpcolor.ErrShutdown)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("no \"bye NAME shutdown\" ended the membership: %w", ctx.Err())
	}
}
