package echo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/internal/servertest"
)

// TestConformanceTCP runs the lifecycle contract that every sockkit
// server meets (internal/servertest) against Serve.
func TestConformanceTCP(t *testing.T) {
	servertest.RunStream(t, servertest.Stream[*echo.Server]{
		Name:            "echo",
		New:             func(testing.TB) *echo.Server { return new(echo.Server) },
		ErrServerClosed: echo.ErrServerClosed,
		Session:         tcpRoundTrip,
		Hold:            holdTCP,
		Stuck:           stuckTCP,
		BadSettings: []servertest.BadSetting[*echo.Server]{
			{Field: "BufferSize", Set: func(s *echo.Server) { s.BufferSize = echo.MaxBufferSize + 1 }},
			{Field: "PacketBurst", Set: func(s *echo.Server) { s.PacketBurst = -1 }},
			{Field: "MaxSources", Set: func(s *echo.Server) { s.MaxSources = -1 }},
		},
	})
}

// TestConformanceUDP runs the lifecycle contract against ServePacket.
func TestConformanceUDP(t *testing.T) {
	servertest.RunPacket(t, servertest.Packet[*echo.Server]{
		Name:            "echo",
		New:             func(testing.TB) *echo.Server { return new(echo.Server) },
		ErrServerClosed: echo.ErrServerClosed,
		Session:         udpRoundTrip,
		BadSettings: []servertest.BadSetting[*echo.Server]{
			{Field: "MaxDatagram", Set: func(s *echo.Server) { s.MaxDatagram = echo.MaxDatagramLimit + 1 }},
			{Field: "PacketBurst", Set: func(s *echo.Server) { s.PacketBurst = -1 }},
		},
	})
}

var conformanceMsg = []byte("conformance\n")

// tcpRoundTrip is one echo over TCP with the package's client.
func tcpRoundTrip(ctx context.Context, dial servertest.DialFunc, addr string) error {
	c, err := (&echo.Client{Dial: dial}).Connect(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	got, err := c.Echo(ctx, conformanceMsg)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, conformanceMsg) {
		return fmt.Errorf("echoed %q; want %q", got, conformanceMsg)
	}
	return nil
}

// udpRoundTrip is one echo over UDP with the package's client.
func udpRoundTrip(ctx context.Context, addr string) error {
	c, err := echo.Dial(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	got, err := c.Echo(ctx, conformanceMsg)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, conformanceMsg) {
		return fmt.Errorf("echoed %q; want %q", got, conformanceMsg)
	}
	return nil
}

// holdTCP opens a connection, makes one round trip of a byte so that the
// server has admitted it, and leaves it idle.
func holdTCP(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	b := []byte{'x'}
	if _, err := c.Write(b); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.ReadFull(c, b); err != nil {
		c.Close()
		return nil, fmt.Errorf("no echo: %w", err)
	}
	return c, nil
}

// stuckTCP opens a connection whose client writes and never reads: once
// its writes no longer go through, the server is stuck writing the echo
// back, which a graceful shutdown lets it finish.
func stuckTCP(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, err := holdTCP(ctx, dial, addr)
	if err != nil {
		return nil, err
	}
	chunk := make([]byte, 64<<10)
	for range (256 << 20) / len(chunk) {
		if err := ctx.Err(); err != nil {
			c.Close()
			return nil, err
		}
		// Not a measurement: a write that makes no progress for this
		// long means that every buffer between client and server is full.
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Write(chunk); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.SetWriteDeadline(time.Time{})
				return c, nil
			}
			c.Close()
			return nil, err
		}
	}
	c.Close()
	return nil, errors.New("the server read 256 MiB without blocking on its writes")
}
