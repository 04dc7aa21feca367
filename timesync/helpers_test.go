package timesync

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// startServer runs srv on a loopback UDP port until the test ends, and
// checks that ServePacket returns ErrServerClosed.
func startServer(t *testing.T, srv *Server) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.Background(), pc) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServePacket returned %v, want ErrServerClosed", err)
		}
	})
	return pc.LocalAddr().String()
}

// dialUDP opens a client socket to addr, closed when the test ends.
func dialUDP(t *testing.T, addr string) *net.UDPConn {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UDPConn)
}

// roundTrip sends req on c and returns the next datagram received.
func roundTrip(t *testing.T, c net.Conn, req []byte) []byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	return readOne(t, c)
}

func readOne(t *testing.T, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	return buf[:n]
}

// ntpRequest returns an encoded client request.
func ntpRequest(version uint8, xmt Timestamp) []byte {
	p := Packet{Version: version, Mode: ModeClient, Poll: 6, Transmit: xmt}
	b, _ := p.MarshalBinary()
	return b
}

// fakePC is a PacketConn fed by the test, for sources a test cannot
// bind (low ports) and for checking what the server sends.
type fakePC struct {
	in     chan fakeDgram
	out    chan fakeDgram
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	dl     time.Time
	kick   chan struct{}
}

type fakeDgram struct {
	b    []byte
	addr net.Addr
}

func newFakePC() *fakePC {
	return &fakePC{in: make(chan fakeDgram, 16), out: make(chan fakeDgram, 16), closed: make(chan struct{}), kick: make(chan struct{}, 1)}
}

func (f *fakePC) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		f.mu.Lock()
		dl := f.dl
		f.mu.Unlock()
		if !dl.IsZero() && !time.Now().Before(dl) {
			return 0, nil, os.ErrDeadlineExceeded
		}
		select {
		case d := <-f.in:
			return copy(b, d.b), d.addr, nil
		case <-f.closed:
			return 0, nil, net.ErrClosed
		case <-f.kick:
		}
	}
}

func (f *fakePC) WriteTo(b []byte, addr net.Addr) (int, error) {
	f.out <- fakeDgram{append([]byte(nil), b...), addr}
	return len(b), nil
}

func (f *fakePC) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakePC) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 123} }
func (f *fakePC) SetDeadline(t time.Time) error {
	return f.SetReadDeadline(t)
}
func (f *fakePC) SetWriteDeadline(time.Time) error { return nil }
func (f *fakePC) SetReadDeadline(t time.Time) error {
	f.mu.Lock()
	f.dl = t
	f.mu.Unlock()
	select {
	case f.kick <- struct{}{}:
	default:
	}
	return nil
}
