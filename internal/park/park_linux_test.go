package park

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recorder is a wake function that records its events.
type recorder chan Event

func newRecorder() recorder { return make(recorder, 16) }

func (r recorder) wake(e Event) {
	select {
	case r <- e:
	default:
		panic("park test: too many wakes")
	}
}

// next returns the next event, failing the test if none comes in 10 s.
func (r recorder) next(t *testing.T, what string) Event {
	t.Helper()
	select {
	case e := <-r:
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return 0
	}
}

// none fails the test if an event has been recorded.
func (r recorder) none(t *testing.T, what string) {
	t.Helper()
	select {
	case e := <-r:
		t.Fatalf("%s: unexpected %v", what, e)
	default:
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

// drain reads, without waiting, whatever c holds, and reports whether
// the peer has closed its side.
func drain(t testing.TB, c syscall.Conn) (eof bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Error(err)
		return false
	}
	buf := make([]byte, 4096)
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf)
			switch {
			case err == syscall.EINTR:
			case err != nil:
				return true
			case n == 0:
				eof = true
				return true
			}
		}
	})
	if err != nil && !errors.Is(err, os.ErrClosed) {
		t.Error(err)
	}
	return eof
}

func mustRegister(t *testing.T, p *Poller, c syscall.Conn, wake func(Event)) *Conn {
	t.Helper()
	pc := new(Conn)
	if err := p.Register(pc, c, WakeFunc(wake)); err != nil {
		t.Fatal(err)
	}
	return pc
}

// watch registers c with p, its wakes going to a new recorder.
func watch(t *testing.T, p *Poller, c syscall.Conn) (*Conn, recorder) {
	t.Helper()
	r := newRecorder()
	return mustRegister(t, p, c, r.wake), r
}

// parked registers and parks c with no deadline, its wakes going to the
// returned recorder.
func parked(t *testing.T, p *Poller, c syscall.Conn) recorder {
	t.Helper()
	pc, r := watch(t, p, c)
	mustPark(t, pc, time.Time{})
	return r
}

func mustPark(t *testing.T, pc *Conn, deadline time.Time) {
	t.Helper()
	if err := pc.Park(deadline); err != nil {
		t.Fatal(err)
	}
}

func TestWakeWhenReadable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trigger func(c *net.TCPConn) error
		eof     bool
	}{
		{"data", func(c *net.TCPConn) error { _, err := c.Write([]byte("x")); return err }, false},
		{"half-close", func(c *net.TCPConn) error { return c.CloseWrite() }, true},
		{"reset", func(c *net.TCPConn) error { c.SetLinger(0); return c.Close() }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPoller(t)
			c, s := tcpPair(t)
			r := newRecorder()
			pc := mustRegister(t, p, s, r.wake)
			mustPark(t, pc, time.Time{})
			if n := p.Len(); n != 1 {
				t.Fatalf("Len() = %d after Park", n)
			}
			if err := tc.trigger(c); err != nil {
				t.Fatal(err)
			}
			if e := r.next(t, "the wake"); e != Readable {
				t.Fatalf("woken with %v, want readable", e)
			}
			if n := p.Len(); n != 0 {
				t.Fatalf("Len() = %d after the wake", n)
			}
			if eof := drain(t, s); eof != tc.eof {
				t.Fatalf("after the wake, EOF = %v, want %v", eof, tc.eof)
			}
		})
	}
}

// echoServer echoes on parked connections: a wake starts a goroutine
// that echoes what has arrived and parks the connection again.
type echoServer struct {
	t  testing.TB
	p  *Poller
	wg sync.WaitGroup
}

// echoConn embeds its Conn and is its own Waker, as a server's
// connection state would be.
type echoConn struct {
	es *echoServer
	s  *net.TCPConn
	pc Conn
}

func (es *echoServer) add(t *testing.T, s *net.TCPConn) {
	ec := &echoConn{es: es, s: s}
	if err := es.p.Register(&ec.pc, s, ec); err != nil {
		t.Fatal(err)
	}
	mustPark(t, &ec.pc, time.Time{})
}

func (ec *echoConn) Wake(e Event) {
	if e == Readable {
		ec.es.wg.Go(ec.es.serve(ec))
	}
}

func (es *echoServer) serve(ec *echoConn) func() {
	return func() {
		buf := make([]byte, 4096)
		ec.s.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := ec.s.Read(buf)
		if err != nil {
			es.t.Error(err)
			return
		}
		ec.s.Write(buf[:n])
		if err := ec.pc.Park(time.Time{}); err != nil && !errors.Is(err, ErrClosed) {
			es.t.Error(err)
		}
	}
}

// settledGoroutines returns the number of goroutines once it has stopped
// changing, so that goroutines of earlier tests that are still on their
// way out (with -count) are not taken for part of the baseline.
func settledGoroutines() int {
	n, same := runtime.NumGoroutine(), 0
	for same < 5 {
		time.Sleep(10 * time.Millisecond)
		if m := runtime.NumGoroutine(); m == n {
			same++
		} else {
			n, same = m, 0
		}
	}
	return n
}

func TestIdleConnectionsHoldNoGoroutine(t *testing.T) {
	es := &echoServer{t: t, p: newPoller(t)}
	base := settledGoroutines() // with Run
	const n = 50
	clients := make([]*net.TCPConn, n)
	for i := range clients {
		var s *net.TCPConn
		clients[i], s = tcpPair(t)
		es.add(t, s)
	}
	for round := range 4 {
		// Fails if anything keeps a goroutine for a parked connection.
		waitFor(t, "every connection to park, leaving no goroutine", func() bool {
			return es.p.Len() == n && runtime.NumGoroutine() == base
		})
		if round == 3 {
			break
		}
		for i, c := range clients {
			msg := strings.Repeat("x", i+1)
			c.Write([]byte(msg))
			got := make([]byte, len(msg))
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
				t.Fatalf("round %d, conn %d: got %q, %v", round, i, got, err)
			}
		}
	}
	es.p.Close() // before the connections close, which would wake them
	es.wg.Wait()
}

func TestDeadlines(t *testing.T) {
	// Not parallel: the deadlines are tens of milliseconds apart.
	p := newPoller(t)
	type woke struct {
		name  string
		ev    Event
		early bool // woken before its deadline
	}
	var mu sync.Mutex
	var got []woke
	// Parked latest first, so that each one's deadline is earlier than
	// the one the Poller is waiting for.
	conns := []struct {
		name  string
		after time.Duration // the deadline, from now; 0 for none
	}{
		{"none", 0},
		{"hour", time.Hour},
		{"150ms", 150 * time.Millisecond},
		{"unparked", 125 * time.Millisecond},
		{"100ms", 100 * time.Millisecond},
		{"50ms", 50 * time.Millisecond},
		{"past", -time.Second},
	}
	// The sockets first, so that parking them all takes microseconds and
	// no deadline passes before the later ones are parked.
	socks := make([]*net.TCPConn, len(conns))
	for i := range conns {
		_, socks[i] = tcpPair(t)
	}
	now := time.Now()
	pcs := map[string]*Conn{}
	for i, c := range conns {
		var deadline time.Time
		if c.after != 0 {
			deadline = now.Add(c.after)
		}
		pc := mustRegister(t, p, socks[i], func(e Event) {
			mu.Lock()
			got = append(got, woke{c.name, e, time.Now().Before(deadline)})
			mu.Unlock()
		})
		mustPark(t, pc, deadline)
		pcs[c.name] = pc
	}
	if !pcs["unparked"].Unpark() {
		t.Fatal("Unpark = false for a parked connection")
	}
	waitFor(t, "four deadlines to pass", func() bool { return p.Len() == 2 })
	p.Close()
	want := []woke{
		{"past", Expired, false}, {"50ms", Expired, false}, {"100ms", Expired, false}, {"150ms", Expired, false},
		{"hour", Closed, true}, {"none", Closed, false},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) == len(want) && got[4].name == "none" {
		got[4], got[5] = got[5], got[4] // Close wakes in no particular order
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(woke{})); diff != "" {
		t.Fatalf("wakes (-want +got):\n%s", diff)
	}
}

func TestUnpark(t *testing.T) {
	t.Parallel()
	p := newPoller(t)
	c, s := tcpPair(t)
	pc, r := watch(t, p, s)
	if pc.Unpark() {
		t.Fatal("Unpark = true before Park")
	}
	mustPark(t, pc, time.Now().Add(time.Hour))
	if !pc.Unpark() {
		t.Fatal("Unpark = false for a parked connection")
	}
	if pc.Unpark() {
		t.Fatal("second Unpark = true")
	}
	if n := p.Len(); n != 0 {
		t.Fatalf("Len() = %d after Unpark", n)
	}
	// Data arriving now fires the registration left armed; Run must
	// ignore it. Parked again, the connection is readable at once.
	c.Write([]byte("x"))
	other, otherS := tcpPair(t)
	ro := parked(t, p, otherS)
	other.Write([]byte("y"))
	ro.next(t, "the other connection's wake")
	r.none(t, "unparked connection")
	mustPark(t, pc, time.Time{})
	if e := r.next(t, "the wake after parking again"); e != Readable {
		t.Fatalf("woken with %v, want readable", e)
	}
	p.Close()
	r.none(t, "after Close")
}

// An unparked connection's registration stays armed, under a token
// whose slot goes to the next connection that parks. Its event must wake
// neither.
func TestStaleEventWakesNobody(t *testing.T) {
	t.Parallel()
	p := newPoller(t)
	a, as := tcpPair(t)
	pa, ra := watch(t, p, as)
	mustPark(t, pa, time.Time{})
	pa.Unpark()
	_, bs := tcpPair(t)
	rb := parked(t, p, bs) // in a's slot
	c, cs := tcpPair(t)
	rc := parked(t, p, cs)
	a.Write([]byte("x"))
	c.Write([]byte("x")) // reported with or after a's event
	rc.next(t, "the wake of the connection written to last")
	ra.none(t, "unparked connection")
	rb.none(t, "connection in the unparked one's slot")
}

func TestParkRefuses(t *testing.T) {
	t.Parallel()
	p := newPoller(t)
	t.Run("twice", func(t *testing.T) {
		_, s := tcpPair(t)
		pc := mustRegister(t, p, s, newRecorder().wake)
		mustPark(t, pc, time.Time{})
		if err := pc.Park(time.Time{}); !errors.Is(err, ErrParked) {
			t.Fatalf("second Park = %v, want ErrParked", err)
		}
		pc.Unpark()
	})
	t.Run("closed connection", func(t *testing.T) {
		_, s := tcpPair(t)
		pc := mustRegister(t, p, s, newRecorder().wake)
		s.Close()
		if err := pc.Park(time.Time{}); err == nil {
			t.Fatal("Park of a closed connection succeeded")
		}
		if pc.Unpark() {
			t.Fatal("Unpark = true after a failed Park")
		}
	})
	if n := p.Len(); n != 0 {
		t.Fatalf("Len() = %d", n)
	}
}

// A connection closed while parked leaves the kernel's set silently; its
// descriptor number may go to the next connection. Neither may be woken
// for the other, and the closed one is still handed back.
func TestClosedWhileParked(t *testing.T) {
	t.Parallel()
	p := newPoller(t)
	_, a := tcpPair(t)
	pa, ra := watch(t, p, a)
	mustPark(t, pa, time.Time{})
	a.Close()
	b, bs := tcpPair(t)
	rb := parked(t, p, bs)
	b.Write([]byte("x"))
	if e := rb.next(t, "the new connection's wake"); e != Readable {
		t.Fatalf("new connection woken with %v", e)
	}
	ra.none(t, "closed connection")
	p.Close()
	if e := ra.next(t, "the closed connection's wake"); e != Closed {
		t.Fatalf("closed connection woken with %v, want closed", e)
	}
}

func TestCloseHandsEveryConnectionBack(t *testing.T) {
	t.Parallel()
	p := newPoller(t)
	const n = 20
	var woken atomic.Int32
	var pcs []*Conn
	for range n {
		_, s := tcpPair(t)
		pc := mustRegister(t, p, s, func(e Event) {
			if e != Closed {
				t.Errorf("woken with %v, want closed", e)
			}
			woken.Add(1)
		})
		mustPark(t, pc, time.Now().Add(time.Hour))
		pcs = append(pcs, pc)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if w := woken.Load(); w != n {
		t.Fatalf("%d of %d connections woken when Close returned", w, n)
	}
	if err := pcs[0].Park(time.Time{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Park after Close = %v, want ErrClosed", err)
	}
	_, s := tcpPair(t)
	if err := p.Register(new(Conn), s, WakeFunc(func(Event) {})); !errors.Is(err, ErrClosed) {
		t.Fatalf("Register after Close = %v, want ErrClosed", err)
	}
	if pcs[0].Unpark() {
		t.Fatal("Unpark = true after Close")
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	p.Run() // returns at once
}

func TestCloseWithoutRun(t *testing.T) {
	t.Parallel()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, s := tcpPair(t)
	r := parked(t, p, s)
	p.Close() // must not wait for a Run that never started
	if e := r.next(t, "the wake"); e != Closed {
		t.Fatalf("woken with %v", e)
	}
	p.Run()
}

func TestConcurrentClose(t *testing.T) {
	t.Parallel()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ran := goRun(p)
	waitFor(t, "Run to start", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.started
	})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			p.Close()
			runReturned(t, ran)
		})
	}
	wg.Wait()
}

// TestRaces parks, wakes, unparks, expires and re-parks connections from
// several goroutines at once, then closes the Poller in the middle of it,
// with the race detector watching. Each successful Park must end in
// exactly one wake or one successful Unpark, every connection must be
// handed back once the Poller closes, and no wake may run after Close
// has returned.
func TestRaces(t *testing.T) {
	t.Parallel()
	for round := range 4 {
		t.Run("", func(t *testing.T) {
			raceRound(t, 30*time.Millisecond*time.Duration(round+1))
		})
	}
}

type raceConn struct {
	c, s                          *net.TCPConn
	pc                            *Conn
	parks, wakes, unparks, closes atomic.Int64
}

func raceRound(t *testing.T, runFor time.Duration) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ran := goRun(p)
	var (
		wg       sync.WaitGroup // connection goroutines
		closed   atomic.Bool    // Close has returned
		conns    = make([]*raceConn, 16)
		serve    func(rc *raceConn)
		stop     = make(chan struct{})
		loadDone sync.WaitGroup
	)
	serve = func(rc *raceConn) {
		drain(t, rc.s)
		var deadline time.Time
		if rand.IntN(3) == 0 {
			deadline = time.Now().Add(rand.N(3 * time.Millisecond))
		}
		switch err := rc.pc.Park(deadline); {
		case err == nil:
			rc.parks.Add(1)
		case errors.Is(err, ErrClosed):
			rc.closes.Add(1)
		default:
			t.Error(err)
		}
	}
	for i := range conns {
		rc := &raceConn{}
		conns[i] = rc
		rc.c, rc.s = tcpPair(t)
		rc.pc = mustRegister(t, p, rc.s, func(e Event) {
			rc.wakes.Add(1)
			if closed.Load() {
				t.Error("wake after Close returned")
			}
			if e == Closed {
				rc.closes.Add(1)
				return
			}
			wg.Go(func() { serve(rc) })
		})
		wg.Go(func() { serve(rc) })
	}
	loadDone.Go(func() { // the peers write
		for i := 0; i < 100000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			conns[rand.IntN(len(conns))].c.Write([]byte("x"))
			if i%64 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	})
	loadDone.Go(func() { // the server reaches for parked connections
		for i := 0; i < 100000; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rc := conns[rand.IntN(len(conns))]
			if rc.pc.Unpark() {
				rc.unparks.Add(1)
				wg.Go(func() { serve(rc) })
			}
			runtime.Gosched()
		}
	})
	time.Sleep(runFor)
	p.Close()
	closed.Store(true)
	runReturned(t, ran)
	close(stop)
	loadDone.Wait()
	wg.Wait()
	if n := p.Len(); n != 0 {
		t.Errorf("Len() = %d after Close", n)
	}
	var total int64
	for i, rc := range conns {
		parks, wakes, unparks, closes := rc.parks.Load(), rc.wakes.Load(), rc.unparks.Load(), rc.closes.Load()
		total += parks
		if parks != wakes+unparks {
			t.Errorf("conn %d: %d parks ended in %d wakes and %d unparks", i, parks, wakes, unparks)
		}
		if closes != 1 {
			t.Errorf("conn %d: handed back at Close %d times, want once", i, closes)
		}
	}
	t.Logf("%d parks over %d connections", total, len(conns))
}
