package dgram

import (
	"bytes"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
)

// server runs Serve on pc with an upper-casing echo handler that obeys the
// anti-amplification rule, until stop is called.
type server struct {
	pc       net.PacketConn
	counters admit.Counters
	stopping atomic.Bool
	done     chan error
}

func startServer(t *testing.T, pc net.PacketConn, handle Handler) *server {
	t.Helper()
	s := &server{pc: pc, done: make(chan error, 1)}
	cfg := Config{
		MaxDatagram: 64,
		MaxReply:    1024,
		Stopping:    s.stopping.Load,
		Counters:    &s.counters,
		Stamp:       func(b []byte, _ time.Time) { b[0] = '!' },
		Name:        "test",
	}
	go func() { s.done <- Serve(pc, cfg, handle) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

func (s *server) stop(t *testing.T) {
	if s.stopping.Swap(true) {
		return
	}
	Unblock(s.pc)()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("Serve = %v, want nil after stopping", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after Unblock")
	}
	s.pc.Close()
}

func upper(w *Writer, d *Datagram) {
	switch {
	case bytes.HasPrefix(d.Data, []byte("big")):
		// A reply past three times the request on the wire: refused.
		w.Reply(d, make([]byte, admit.Budget(len(d.Data))+1))
	case bytes.HasPrefix(d.Data, []byte("edge")):
		// Exactly at the budget: sent.
		w.Reply(d, make([]byte, admit.Budget(len(d.Data))))
	case bytes.HasPrefix(d.Data, []byte("stamp")):
		w.SendStamped(d.From, append(w.Buffer(), d.Data...))
	case bytes.HasPrefix(d.Data, []byte("many")):
		// More replies than one batch holds, all to the sender.
		b := append(w.Buffer(), d.Data...)
		for range 40 {
			w.Send(d.From, b)
		}
	default:
		w.Reply(d, bytes.ToUpper(append(w.Buffer(), d.Data...)))
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) string {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1024)
	n, err := c.Read(b)
	if err != nil {
		t.Fatalf("%q: %v", msg, err)
	}
	return string(b[:n])
}

func expectNothing(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := c.Read(make([]byte, 512)); err == nil {
		t.Fatalf("%q: got a %d-byte reply, want none", msg, n)
	}
}

func testLoop(t *testing.T, pc net.PacketConn, dial func() net.Conn) {
	s := startServer(t, pc, upper)
	c := dial()
	defer c.Close()
	if got := roundTrip(t, c, "hello"); got != "HELLO" {
		t.Errorf("reply %q", got)
	}
	expectNothing(t, c, "big reply")
	if got := roundTrip(t, c, "edge"); len(got) != admit.Budget(4) {
		t.Errorf("reply at the budget: %d bytes", len(got))
	}
	expectNothing(t, c, string(bytes.Repeat([]byte("x"), 65))) // one byte over MaxDatagram
	if got := roundTrip(t, c, string(bytes.Repeat([]byte("y"), 64))); len(got) != 64 {
		t.Errorf("a datagram of exactly MaxDatagram: reply of %d bytes", len(got))
	}
	if got := roundTrip(t, c, "stamp"); got != "!tamp" {
		t.Errorf("stamped reply %q", got)
	}
	if got := roundTrip(t, c, "many"); got != "many" {
		t.Errorf("reply %q", got)
	}
	for i := 1; i < 40; i++ {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 16)); err != nil {
			t.Fatalf("reply %d of 40: %v", i+1, err)
		}
	}
	// A deadline someone else set is cleared, and the loop goes on.
	pc.SetReadDeadline(time.Now())
	time.Sleep(20 * time.Millisecond)
	if got := roundTrip(t, c, "after"); got != "AFTER" {
		t.Errorf("after a foreign deadline: reply %q", got)
	}
	d := s.counters.Load().Dropped
	if d.Oversize != 1 || d.Amplification != 1 {
		t.Errorf("drops %+v, want one oversize and one amplification", d)
	}
	s.stop(t)
}

func TestLoopUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	testLoop(t, pc, func() net.Conn {
		c, err := net.Dial("udp", pc.LocalAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// A packet conn that is not UDP (a unixgram socket) goes through the loop
// that reads one datagram at a time, with net.Addr addresses.
func TestLoopUnixgram(t *testing.T) {
	dir := t.TempDir()
	srvPath := filepath.Join(dir, "s")
	pc, err := net.ListenPacket("unixgram", srvPath)
	if err != nil {
		t.Skip("no unixgram sockets here:", err)
	}
	testLoop(t, pc, func() net.Conn {
		la := &net.UnixAddr{Name: filepath.Join(dir, "c"), Net: "unixgram"}
		c, err := net.DialUnix("unixgram", la, &net.UnixAddr{Name: srvPath, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

// A reply to a port where nobody listens comes back as ICMP "port
// unreachable", reported on the socket as ECONNREFUSED: the loop must go
// on serving everyone else.
func TestLoopSurvivesRefused(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	goneAddr := AddrOf(gone.LocalAddr())
	gone.Close()
	startServer(t, pc, func(w *Writer, d *Datagram) {
		w.Send(goneAddr, []byte("to nobody"))
		w.Reply(d, append(w.Buffer(), d.Data...))
	})
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 5 {
		if got := roundTrip(t, c, "ping"); got != "ping" {
			t.Fatalf("round %d: %q", i, got)
		}
	}
}

func TestAddr(t *testing.T) {
	a := AddrOf(&net.UDPAddr{IP: net.ParseIP("::ffff:127.0.0.1"), Port: 7})
	if a.String() != "127.0.0.1:7" || a.Port() != 7 || a.Key().String() != "127.0.0.1" {
		t.Errorf("mapped address: %v port %d key %v", a, a.Port(), a.Key())
	}
	u := AddrOf(&net.UnixAddr{Name: "/tmp/x", Net: "unixgram"})
	if u.Port() != -1 || u.String() != "/tmp/x" || !u.IsValid() {
		t.Errorf("unix address: %v port %d", u, u.Port())
	}
	if AddrOf(nil).IsValid() {
		t.Error("nil address is valid")
	}
	v6 := AddrOf(&net.UDPAddr{IP: net.ParseIP("2001:db8::1:2"), Port: 9})
	if v6.Key().String() != "2001:db8::" {
		t.Errorf("IPv6 key %v, want the /64", v6.Key())
	}
}
