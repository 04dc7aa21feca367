package echo

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestServeWithoutParking serves as on systems where idle connections
// cannot be parked: each waits in its goroutine, with or without an idle
// timeout, and still ends when its peer is done.
func TestServeWithoutParking(t *testing.T) {
	noParking = true
	defer func() { noParking = false }()
	for _, tc := range []struct {
		name string
		idle time.Duration
	}{
		{"default idle timeout", 0},
		{"no idle timeout", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{IdleTimeout: tc.idle, Transform: Upper}
			addr := serveTCP(t, s)
			c := dialRaw(t, "tcp", addr).(*net.TCPConn)
			c.Write([]byte("ab\xc3"))
			if got := readN(t, c, 2); string(got) != "AB" {
				t.Fatalf("got %q, want %q", got, "AB")
			}
			if st := s.Stats(); st.Parked != 0 || st.Conns != 1 {
				t.Fatalf("Parked = %d, Conns = %d; want 0 and 1", st.Parked, st.Conns)
			}
			c.CloseWrite()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			rest, err := io.ReadAll(c)
			if err != nil || string(rest) != "\xc3" {
				t.Fatalf("after half-close got %q, %v; want the held byte then EOF", rest, err)
			}
			waitFor(t, "the connection to leave the count", func() bool { return s.Stats().Conns == 0 })
		})
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
