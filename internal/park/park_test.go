package park

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Readable, "readable"},
		{Expired, "expired"},
		{Closed, "closed"},
		{0, "park.Event(0)"},
		{9, "park.Event(9)"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.e.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// A nil Poller is what a caller keeps when New fails: it must refuse
// every connection and stop at once, so that callers need no second path.
func TestNilPollerParksNothing(t *testing.T) {
	var p *Poller
	_, s := tcpPair(t)
	pc, err := p.Register(s, func(Event) { t.Error("wake called") })
	if pc != nil || !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Register on a nil Poller = %v, %v; want ErrUnsupported", pc, err)
	}
	p.Run()
	if n := p.Len(); n != 0 {
		t.Errorf("Len() = %d", n)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

func TestNewOnlyOnLinux(t *testing.T) {
	p, err := New()
	if runtime.GOOS != "linux" {
		if p != nil || !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("New() on %s = %v, %v; want ErrUnsupported", runtime.GOOS, p, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	p.Close()
}

// noFD is a syscall.Conn that has no descriptor to give, like a closed
// or wrapped connection.
type noFD struct{}

func (noFD) SyscallConn() (syscall.RawConn, error) { return nil, syscall.EINVAL }

func TestRegisterRefuses(t *testing.T) {
	p := newPoller(t)
	wake := func(Event) {}
	_, s := tcpPair(t)
	for _, tc := range []struct {
		name string
		c    syscall.Conn
		wake func(Event)
		want error
	}{
		{"no descriptor", noFD{}, wake, ErrUnsupported},
		{"nil wake", s, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc, err := p.Register(tc.c, tc.wake)
			if pc != nil || err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Register = %v, %v; want an error (%v)", pc, err, tc.want)
			}
		})
	}
}

// newPoller returns a Poller with Run going, closed at the end of the
// test; it skips where parking is not implemented.
func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := New()
	if errors.Is(err, errors.ErrUnsupported) {
		t.Skipf("parking is not implemented on %s", runtime.GOOS)
	}
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	go func() {
		p.Run()
		close(ran)
	}()
	t.Cleanup(func() {
		p.Close()
		runReturned(t, ran)
	})
	return p
}

// tcpPair returns the two ends of a loopback TCP connection, closed at
// the end of the test.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// runReturned fails t unless ran, which the goroutine that called Run
// closes when Run returns, is closed soon: Close makes Run return and
// waits for it, so only the goroutine's last step can still be running.
func runReturned(t *testing.T, ran chan struct{}) {
	t.Helper()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Error("Run still running 10 s after Close returned")
	}
}
