package park

import (
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func TestEventString(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	var p *Poller
	_, s := tcpPair(t)
	var pc Conn
	err := p.Register(&pc, s, WakeFunc(func(Event) { t.Error("woken") }))
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Register on a nil Poller = %v; want ErrUnsupported", err)
	}
	if pc.Registered() {
		t.Fatal("Registered() = true after a failed Register")
	}
	if err := pc.Park(time.Time{}); !errors.Is(err, ErrUnregistered) {
		t.Fatalf("Park of an unregistered Conn = %v, want ErrUnregistered", err)
	}
	if pc.Unpark() {
		t.Fatal("Unpark of an unregistered Conn = true")
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
	t.Parallel()
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
	t.Parallel()
	p := newPoller(t)
	wake := WakeFunc(func(Event) {})
	_, s := tcpPair(t)
	var registered Conn
	if err := p.Register(&registered, s, wake); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pc   *Conn
		c    syscall.Conn
		w    Waker
		want error
	}{
		{"no descriptor", new(Conn), noFD{}, wake, ErrUnsupported},
		{"nil Waker", new(Conn), s, nil, nil},
		{"twice", &registered, s, wake, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			was := tc.pc.Registered()
			err := p.Register(tc.pc, tc.c, tc.w)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("Register = %v; want an error (%v)", err, tc.want)
			}
			if tc.pc.Registered() != was {
				t.Fatalf("Registered() = %v after a failed Register, was %v", !was, was)
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
	ran := goRun(p)
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

// goRun runs p.Run in a goroutine and returns a channel closed when Run
// has returned.
func goRun(p *Poller) chan struct{} {
	ran := make(chan struct{})
	go func() {
		p.Run()
		close(ran)
	}()
	return ran
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

// TestTimerHeap pushes and removes deadlines at random and checks the
// heap after every step, then that they leave it in order.
func TestTimerHeap(t *testing.T) {
	t.Parallel()
	var p Poller
	r := rand.New(rand.NewPCG(1, 2))
	var in []*Conn
	check := func(step int) {
		t.Helper()
		for i, tm := range p.timers {
			if int(tm.c.hidx) != i {
				t.Fatalf("step %d: timer %d has hidx %d", step, i, tm.c.hidx)
			}
			if i > 0 && p.timers[(i-1)/2].at > tm.at {
				t.Fatalf("step %d: timer %d is earlier than its parent", step, i)
			}
		}
	}
	for step := range 2000 {
		if len(in) > 0 && r.IntN(3) == 0 {
			k := r.IntN(len(in))
			p.lockedRemoveTimer(int(in[k].hidx))
			if in[k].hidx != -1 {
				t.Fatalf("step %d: a removed timer keeps hidx %d", step, in[k].hidx)
			}
			in = append(in[:k], in[k+1:]...)
		} else {
			c := &Conn{}
			p.lockedPushTimer(timer{r.Int64N(100), c}) // many equal deadlines
			in = append(in, c)
		}
		check(step)
	}
	last := int64(-1)
	for len(p.timers) > 0 {
		at := p.timers[0].at
		if at < last {
			t.Fatalf("deadline %d after %d", at, last)
		}
		last = at
		p.lockedRemoveTimer(0)
		check(-1)
	}
}
