package udpcolor

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/sockkit/sockkit/echo"
)

// The tests in this file start what an off-path attacker would with one
// spoofed datagram: a plain line that seems to come from another UDP
// service, so that the server's answer goes to that service. They send it
// from the service's own socket, which is what the spoofed datagram looks
// like on arrival, and check that the exchange dies out.

// listen returns a loopback UDP socket.
func listen(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// serveOn runs s on pc until the test ends.
func serveOn(t *testing.T, s *Server, pc net.PacketConn) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), pc) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServePacket: %v", err)
		}
	})
}

// echoOn runs an echo server on pc until the test ends.
func echoOn(t *testing.T, s *echo.Server, pc net.PacketConn) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), pc) }()
	t.Cleanup(func() {
		s.Close()
		<-errc
	})
}

// waitFor polls cond until it holds, for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// marker checks that s still answers, and so has handled every datagram
// that reached it before: it sends a plain line from a socket of its
// own and waits for the answer.
func marker(t *testing.T, s *Server, addr net.Addr) {
	t.Helper()
	c := listen(t)
	defer c.Close()
	if _, err := c.WriteTo([]byte("marker : still there?"), addr); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, MaxDatagram)
	n, _, err := c.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "server : received" {
		t.Fatalf("marker got %q, %v", buf[:n], err)
	}
}

// Two udpcolor servers: the first answers a plain line "from" the second,
// whose answer is a line in the operator's name, which the second drops.
func TestLoopTwoServers(t *testing.T) {
	t.Parallel()
	a, b := &Server{}, &Server{}
	pa, pb := listen(t), listen(t)
	serveOn(t, a, pa)
	serveOn(t, b, pb)
	line := []byte("alex : 我要退学")
	if _, err := pb.WriteTo(line, pa.LocalAddr()); err != nil { // as a spoofed datagram would arrive
		t.Fatal(err)
	}
	waitFor(t, "b to drop a's answer", func() bool { return b.Stats().Dropped.Malformed == 1 })
	marker(t, a, pa.LocalAddr())
	marker(t, b, pb.LocalAddr())
	if st := a.Stats(); st.Plain != 2 || st.PlainReplies != 2 || st.Dropped.Malformed != 0 {
		t.Errorf("a: Plain %d, PlainReplies %d, Malformed %d; want 2, 2, 0 (the line and a marker)", st.Plain, st.PlainReplies, st.Dropped.Malformed)
	}
	if st := b.Stats(); st.Plain != 1 || st.PlainReplies != 1 {
		t.Errorf("b: Plain %d, PlainReplies %d; want 1, 1 (its marker)", st.Plain, st.PlainReplies)
	}
}

// An echo server, plain or upper-casing, sends the server's answer back
// in the operator's name: dropped.
func TestLoopEcho(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		srv  *echo.Server
	}{
		{"echo", &echo.Server{}},
		{"upper", &echo.Server{Transform: echo.Upper}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{}
			ps, pe := listen(t), listen(t)
			serveOn(t, s, ps)
			echoOn(t, tt.srv, pe)
			if _, err := pe.WriteTo([]byte("alex : hi"), ps.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the echo of the answer to be dropped", func() bool { return s.Stats().Dropped.Malformed == 1 })
			marker(t, s, ps.LocalAddr())
			if st := s.Stats(); st.Plain != 2 || st.PlainReplies != 2 {
				t.Errorf("Plain %d, PlainReplies %d; want 2, 2", st.Plain, st.PlainReplies)
			}
			if st := tt.srv.Stats(); st.Requests != 1 {
				t.Errorf("the echo server answered %d datagrams, want 1", st.Requests)
			}
		})
	}
}

// A service that answers everything with the same plain line gets three
// answers, and the exchange ends.
func TestLoopFixedAnswer(t *testing.T) {
	t.Parallel()
	s := &Server{}
	bot := &echo.Server{PacketHandler: func(reply, _ []byte, _ net.Addr) []byte {
		return append(reply, "bot : what?"...)
	}}
	ps, pb := listen(t), listen(t)
	serveOn(t, s, ps)
	echoOn(t, bot, pb)
	if _, err := pb.WriteTo([]byte("bot : what?"), ps.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fourth line", func() bool { return s.Stats().Plain >= 1+plainRepeats })
	marker(t, s, ps.LocalAddr())
	if st := s.Stats(); st.Plain != 2+plainRepeats || st.PlainReplies != 1+plainRepeats {
		t.Errorf("Plain %d, PlainReplies %d; want %d, %d", st.Plain, st.PlainReplies, 2+plainRepeats, 1+plainRepeats)
	}
	if st := bot.Stats(); st.Requests != plainRepeats {
		t.Errorf("the service answered %d times, want %d", st.Requests, plainRepeats)
	}
}
