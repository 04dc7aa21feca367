package echo

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// connGoroutines counts goroutines serving connections.
func connGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "echo.(*streamConn).run")
}

func TestIdleConnectionsParkWithoutGoroutines(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addr := serveTCP(t, s)
	const n = 50
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = dialRaw(t, "tcp", addr)
	}
	// A goroutine that has just parked its connection may still be
	// returning; one that keeps waiting for it makes this time out.
	waitFor(t, "new connections to park, leaving no goroutine", func() bool {
		return s.Stats().Parked == n && connGoroutines() == 0
	})
	for round := 0; round < 2; round++ {
		for i, c := range conns {
			msg := []byte(strings.Repeat("x", i+1))
			c.Write(msg)
			if got := readN(t, c, len(msg)); string(got) != string(msg) {
				t.Fatalf("conn %d: got %q", i, got)
			}
		}
		// After their linger, they park again.
		waitFor(t, "connections to park after use, leaving no goroutine", func() bool {
			return s.Stats().Parked == n && connGoroutines() == 0
		})
	}
}

func TestParkedConnectionIdleTimeout(t *testing.T) {
	t.Parallel()
	s := &Server{IdleTimeout: 300 * time.Millisecond}
	addr := serveTCP(t, s)
	c := dialRaw(t, "tcp", addr)
	c.Write([]byte("a"))
	readN(t, c, 1)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("read = %v, want EOF when the server closes the idle connection", err)
	}
	waitFor(t, "the connection to leave the count", func() bool { return s.Stats().Conns == 0 })
	if s.Stats().Parked != 0 {
		t.Fatalf("Parked = %d after the only connection closed", s.Stats().Parked)
	}
}

func TestHalfCloseWhileParked(t *testing.T) {
	t.Parallel()
	s := &Server{Transform: Upper}
	addr := serveTCP(t, s)
	c := dialRaw(t, "tcp", addr).(*net.TCPConn)
	c.Write([]byte("ab\xc3"))
	readN(t, c, 2)
	waitFor(t, "the connection to park", func() bool { return s.Stats().Parked == 1 })
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "\xc3" {
		t.Fatalf("after half-close got %q, %v; want the held byte then EOF", rest, err)
	}
}

func TestShutdownAndCloseReachParkedConnections(t *testing.T) {
	t.Parallel()
	for _, graceful := range []bool{true, false} {
		name := map[bool]string{true: "Shutdown", false: "Close"}[graceful]
		t.Run(name, func(t *testing.T) {
			s := &Server{Transform: Upper}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- s.Serve(context.Background(), l) }()
			held := dialRaw(t, "tcp", l.Addr().String())
			held.Write([]byte("ab\xc3")) // the transformer holds \xc3
			readN(t, held, 2)
			idle := dialRaw(t, "tcp", l.Addr().String())
			waitFor(t, "both connections to park", func() bool { return s.Stats().Parked == 2 })
			if graceful {
				if err := s.Shutdown(context.Background()); err != nil {
					t.Fatal(err)
				}
			} else {
				s.Close()
			}
			if err := <-errc; err != ErrServerClosed {
				t.Fatalf("Serve = %v", err)
			}
			held.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, _ := io.ReadAll(held)
			if graceful && string(rest) != "\xc3" {
				t.Fatalf("graceful shutdown sent %q, want the held byte", rest)
			}
			idle.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := idle.Read(make([]byte, 1)); err == nil {
				t.Fatal("parked connection still open after the server stopped")
			}
			if st := s.Stats(); st.Conns != 0 || st.Parked != 0 {
				t.Fatalf("after %s: Conns = %d, Parked = %d", name, st.Conns, st.Parked)
			}
		})
	}
}

// TestParkChurn makes connections park and wake constantly, with the race
// detector watching the hand-offs.
func TestParkChurn(t *testing.T) {
	old := linger
	linger = time.Millisecond
	defer func() { linger = old }()
	s := &Server{}
	addr := serveTCP(t, s)
	roundTrips(t, addr, 32, 30, func(int) []byte {
		time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
		return randomBytes(1 + rand.IntN(3000))
	})
}
