// Package park lets a server keep idle connections without a goroutine
// each.
//
// A goroutine waiting in Read costs its stack (at least 2 KiB) and
// whatever buffers it holds; on a server with thousands of mostly idle
// connections that is most of its memory. A connection handed to a
// [Poller] instead waits in a readiness set of the Poller's own (an epoll
// set on Linux), and the caller's [Waker] is told when it becomes
// readable (data, the peer's FIN, or an error), when its deadline passes,
// or when the Poller closes. The caller then gives the connection a
// goroutine again, typically with the goroutine starter it uses for every
// other connection (track.Scope.Go), so that shutdown accounting stays in
// one place.
//
// # Use
//
//	p, err := park.New()     // errors.ErrUnsupported off Linux
//	go p.Run()               // or scope.Go(p.Run); Run returns after Close
//	defer p.Close()          // wakes every parked connection with Closed
//
//	type session struct {
//		park park.Conn // embedded: no allocation of its own
//		...
//	}
//	func (s *session) Wake(e park.Event) { ... } // s is a park.Waker
//
//	err := p.Register(&s.park, tcpConn, s) // once per connection
//	...
//	// The connection's goroutine has nothing in flight: release it.
//	if s.park.Park(deadline) == nil {
//		return // Wake will run when there is something to do
//	}
//	// Not parked (unregistered, or the Poller is closing): keep reading.
//
// Register fails for a connection whose SyscallConn fails, and a nil
// *Poller (what a caller keeps when New failed) refuses every Register,
// leaving the Conn unregistered, which Park refuses: one code path serves
// every platform, and a connection that cannot be parked keeps its
// goroutine. A connection with no descriptor at all (a *tls.Conn, either
// end of net.Pipe) has no SyscallConn method and is never passed to
// Register. Nor may a connection be parked while its owner holds input it
// has read but not handled (a bufio.Reader's buffer, a TLS record):
// readiness of the descriptor says nothing about it.
//
// # Ownership
//
// Each successful [Conn.Park] ends in exactly one of two ways: the
// [Waker]'s Wake runs once, with the [Event] that ended the wait, or
// [Conn.Unpark] returns true. Whichever comes first owns the connection
// again; the other finds nothing to do. Wake may run before Park has
// returned to its caller, so a caller must not touch state that Wake
// also touches after a successful Park. A server that wants to reach a
// parked connection (to write to it, or to shut it down) calls Unpark:
// if it returns true the connection is the server's; if false, Wake has
// been or is being called, and the connection is on its way back anyway.
//
// A flag that must stop a connection from parking (a graceful shutdown
// has begun) is handled with the same two calls: the server sets the
// flag, then calls Unpark; the connection calls Park, then checks the
// flag and calls Unpark if it is set. Either the server's Unpark finds it
// parked, or the connection sees the flag.
//
// Closing a parked connection's descriptor does not wake it: the kernel
// drops a closed descriptor from the set without an event. Its Wake
// still runs, with [Expired] at its deadline or [Closed] when the Poller
// closes, unless Unpark takes it first.
//
// # Goroutines and locks
//
// A Poller has no goroutine of its own: the caller runs [Poller.Run] in
// one, and [Poller.Close] makes it return and waits for it. Wake is
// called from the goroutine running Run, or from the goroutine calling
// Close (with [Closed]); it must not block, nor call Close, since Run
// handles the connections one after the other. When Close returns, every
// Wake it or Run started has returned, Run has returned (or, if it was
// never started, will return at once), and no connection is parked.
//
// A Poller has one lock, and Wake is never called with it held: Wake
// may call Park and Unpark, and a caller may call Park, Unpark and
// Register while holding locks of its own (those are taken before the
// Poller's, never after).
package park

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

// Event says why a parked connection's [Waker] is woken.
type Event uint8

const (
	// Readable: the connection has data to read, the peer has closed
	// its side, or the socket has an error. A read will not wait.
	Readable Event = iota + 1
	// Expired: the deadline given to [Conn.Park] has passed.
	Expired
	// Closed: the [Poller] is closing, or failed; the connection is
	// handed back so that none is lost. Parking it again fails.
	Closed
)

// String returns the event's name: "readable", "expired" or "closed".
func (e Event) String() string {
	switch e {
	case Readable:
		return "readable"
	case Expired:
		return "expired"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("park.Event(%d)", uint8(e))
}

var (
	// ErrUnsupported is returned by [New] where parking is not
	// implemented (every system but Linux), and by [Poller.Register] for
	// a nil Poller or a connection that gives no descriptor. It wraps
	// [errors.ErrUnsupported].
	ErrUnsupported = fmt.Errorf("park: parking not supported: %w", errors.ErrUnsupported)

	// ErrClosed is returned by [Conn.Park] and [Poller.Register] once
	// the Poller is closing.
	ErrClosed = errors.New("park: poller closed")

	// ErrUnregistered is returned by [Conn.Park] for a Conn that
	// [Poller.Register] has not set up (because it failed, say).
	ErrUnregistered = errors.New("park: connection not registered")

	// ErrParked is returned by [Conn.Park] for a connection that is
	// parked already.
	ErrParked = errors.New("park: connection already parked")
)

// Poller holds parked connections. Make one with [New]; run [Poller.Run]
// in a goroutine; end with [Poller.Close]. Its methods may be called from
// any goroutine. A nil *Poller is valid: it parks nothing (Register
// returns [ErrUnsupported]), and its Run and Close return at once.
type Poller struct {
	f      *os.File        // the readiness set, itself in the runtime's poller
	rc     syscall.RawConn // f's, for waiting without a thread
	set    int             // f's descriptor
	base   time.Time       // deadlines are kept as monotonic time since base
	waitFn func(fd uintptr) bool
	armFn  func(fd uintptr)
	done   chan struct{} // closed when Run returns
	once   sync.Once     // shut

	// Run's own, between its wait and its wakes.
	events []event
	nev    int
	werr   error // the set's wait failed
	woken  []wakeup

	mu      sync.Mutex
	closed  bool
	started bool    // Run has begun
	slots   []*Conn // parked connections, by the low 32 bits of their token
	free    []uint32
	seq     uint32  // the high 32 bits of the next token; never 0
	timers  []timer // the deadlines of parked connections; see timers.go
	armed   bool    // f has a read deadline, at armedAt
	armedAt int64

	// The arguments and result of armFn, so that Park allocates no
	// closure; Park holds mu around the call.
	armToken      uint64
	armRegistered bool
	armErr        error
}

type wakeup struct {
	c  *Conn
	ev Event
}

// A Waker is told, once per successful [Conn.Park], that the wait has
// ended, unless [Conn.Unpark] takes the connection back first. Wake must
// not block: it typically starts a goroutine for the connection.
type Waker interface {
	Wake(Event)
}

// WakeFunc adapts a function to a [Waker].
type WakeFunc func(Event)

// Wake calls f(e).
func (f WakeFunc) Wake(e Event) { f(e) }

// Conn is one connection's registration with a [Poller]. The zero value
// is unregistered; [Poller.Register] sets it up. Embed it in the
// connection's own state (it then costs no allocation) and do not copy
// it after Register. Its methods may be called from any goroutine once
// Register has returned.
type Conn struct {
	p  *Poller // nil: unregistered
	rc syscall.RawConn
	w  Waker

	// Guarded by p.mu.
	token      uint64 // 0: not parked
	hidx       int32  // index of its deadline in p.timers, or -1
	registered bool   // the descriptor is in p's set
}

// New returns a Poller, or an error wrapping [ErrUnsupported] where
// parking is not implemented. It starts no goroutine: call [Poller.Run].
func New() (*Poller, error) {
	set, err := openSet()
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(set), "park")
	rc, err := f.SyscallConn()
	if err == nil {
		// Fails if the runtime could not add the set to its poller, in
		// which case Run could not wait without holding a thread.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("park: %w", err)
	}
	p := &Poller{
		f:      f,
		rc:     rc,
		set:    set,
		base:   time.Now(),
		done:   make(chan struct{}),
		events: make([]event, 128),
		seq:    1,
	}
	p.waitFn = p.collect
	p.armFn = p.arm
	return p, nil
}

// Register sets pc up so that c can be parked with p; w is told when a
// parked wait ends (see [Event]). It registers nothing with the system
// yet, and is called once per connection, typically when it is accepted,
// before pc is shared with other goroutines. It returns an error
// wrapping [ErrUnsupported], leaving pc unregistered, if p is nil or c
// gives no descriptor; [ErrClosed] once p is closing; and an error if pc
// is registered already.
func (p *Poller) Register(pc *Conn, c syscall.Conn, w Waker) error {
	if p == nil {
		return ErrUnsupported
	}
	switch {
	case w == nil:
		return errors.New("park: Register with a nil Waker")
	case pc.p != nil:
		return errors.New("park: Conn registered twice")
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	*pc = Conn{p: p, rc: rc, w: w, hidx: -1}
	return nil
}

// Registered reports whether [Poller.Register] has set pc up.
func (pc *Conn) Registered() bool { return pc.p != nil }

// Park hands the connection to its Poller until it becomes readable,
// deadline passes (a zero deadline never does), the Poller closes, or
// [Conn.Unpark] takes it back; the Waker is woken once for the first
// three. Park returns [ErrUnregistered] for a Conn that is not
// registered, [ErrClosed] once the Poller is closing, [ErrParked] if the
// connection is parked already, or the system's error (the connection is
// closed, say); the caller then still owns the connection. On success the
// caller must leave the connection alone: Wake may already be running.
func (c *Conn) Park(deadline time.Time) error {
	p := c.p
	if p == nil {
		return ErrUnregistered
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case c.token != 0:
		return ErrParked
	}
	slot := p.lockedSlot()
	token := uint64(p.seq)<<32 | uint64(slot)
	if p.seq++; p.seq == 0 {
		p.seq = 1
	}
	// The descriptor is armed while p.mu is held, so that Run, which
	// takes p.mu to look the token up, cannot miss the connection.
	p.armToken, p.armRegistered, p.armErr = token, c.registered, nil
	err := c.rc.Control(p.armFn)
	if err == nil {
		err = p.armErr
	}
	p.armErr = nil
	if err != nil {
		p.free = append(p.free, slot)
		return err
	}
	c.registered = true
	c.token = token
	p.slots[slot] = c
	if !deadline.IsZero() {
		at := int64(deadline.Sub(p.base))
		p.lockedPushTimer(timer{at, c})
		if !p.armed || at < p.armedAt {
			p.lockedArm(at)
		}
	}
	return nil
}

// Unpark takes the connection back if it is parked, and reports whether
// it was: true means the Waker will not be woken for this Park and the
// caller owns the connection; false means it was not parked (or not
// registered), or its Wake has been or is being called.
//
// The descriptor stays in the Poller's set, disarmed only when its next
// event is reported (and ignored): one spurious wake-up of Run, where
// removing it at once would cost a system call on every Unpark.
func (c *Conn) Unpark() bool {
	p := c.p
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.token == 0 {
		return false
	}
	p.lockedRemove(c)
	return true
}

// Len returns the number of connections parked now.
func (p *Poller) Len() int {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.slots) - len(p.free)
}

// Run waits for the events of parked connections and wakes their
// Wakers, until [Poller.Close] is called or the system fails (then it
// wakes every parked connection with [Closed], as Close does). Call it
// once, in a goroutine; a second call, or a call after Close, returns at
// once.
func (p *Poller) Run() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.closed || p.started {
		p.mu.Unlock()
		return
	}
	p.started = true
	p.mu.Unlock()
	defer close(p.done)
	for {
		p.nev = 0
		err := p.rc.Read(p.waitFn)
		expired := errors.Is(err, os.ErrDeadlineExceeded)
		if err == nil {
			err = p.werr
		}
		if err != nil && !expired {
			p.once.Do(p.shut) // closed by Close, or broken
			return
		}
		p.deliver(expired)
	}
}

// arm is Park's callback for the connection's descriptor; p.mu is held.
func (p *Poller) arm(fd uintptr) {
	p.armErr = armFD(p.set, int(fd), p.armToken, p.armRegistered)
}

// collect is the runtime poller's callback on the set's descriptor: it
// reports false, to be called again when the set is ready, while no
// connection has an event.
func (p *Poller) collect(fd uintptr) bool {
	p.nev, p.werr = wait(int(fd), p.events)
	return p.nev > 0 || p.werr != nil
}

// deliver takes the connections that have an event, and those whose
// deadline has passed if expired, out of the parked set, re-arms the
// set's deadline, and wakes them.
func (p *Poller) deliver(expired bool) {
	woken := p.woken[:0]
	p.mu.Lock()
	for i := range p.events[:p.nev] {
		t := tokenOf(&p.events[i])
		slot := uint32(t)
		if int(slot) < len(p.slots) {
			if c := p.slots[slot]; c != nil && c.token == t {
				p.lockedRemove(c)
				woken = append(woken, wakeup{c, Readable})
			}
		}
	}
	if expired || len(p.timers) > 0 {
		now := int64(time.Since(p.base))
		for len(p.timers) > 0 && p.timers[0].at <= now {
			c := p.timers[0].c
			p.lockedRemove(c)
			woken = append(woken, wakeup{c, Expired})
		}
	}
	switch {
	case len(p.timers) > 0:
		// After an expiry the set's deadline has passed: move it even
		// if it was set to the next deadline already.
		if next := p.timers[0].at; expired || !p.armed || next != p.armedAt {
			p.lockedArm(next)
		}
	case p.armed:
		p.armed = false
		p.f.SetReadDeadline(time.Time{})
	}
	p.mu.Unlock()
	for i := range woken {
		woken[i].c.w.Wake(woken[i].ev)
		woken[i] = wakeup{}
	}
	p.woken = woken
}

// Close wakes every parked connection with [Closed], in the calling
// goroutine, makes Run return, and waits for it (and for the wakes Run
// is calling). It always returns nil, and is idempotent: every call
// returns only once the Poller is closed. It must not be called from a
// Wake method.
func (p *Poller) Close() error {
	if p == nil {
		return nil
	}
	p.once.Do(p.shut)
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if started {
		<-p.done
	}
	return nil
}

// shut closes the Poller: no connection parks from now on, every parked
// one is woken with Closed, and the set's descriptor is closed, which
// makes Run return. It runs once.
func (p *Poller) shut() {
	p.mu.Lock()
	p.closed = true
	var left []*Conn
	for _, c := range p.slots {
		if c != nil {
			left = append(left, c)
		}
	}
	for _, c := range left {
		p.lockedRemove(c)
	}
	p.slots, p.free, p.timers = nil, nil, nil
	p.mu.Unlock()
	// Wake before closing: while Run has not returned, a caller's
	// goroutine starter that counts it (track.Scope.Go during a graceful
	// shutdown) still starts goroutines for these connections.
	for _, c := range left {
		c.w.Wake(Closed)
	}
	p.f.Close()
}

// lockedSlot returns a free slot. p.mu must be held.
func (p *Poller) lockedSlot() uint32 {
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		return s
	}
	p.slots = append(p.slots, nil)
	return uint32(len(p.slots) - 1)
}

// lockedRemove takes c out of the parked set. p.mu must be held.
func (p *Poller) lockedRemove(c *Conn) {
	slot := uint32(c.token)
	p.slots[slot] = nil
	p.free = append(p.free, slot)
	c.token = 0
	if c.hidx >= 0 {
		p.lockedRemoveTimer(int(c.hidx))
	}
}

// lockedArm sets the set's read deadline, which ends Run's wait, to at
// (since p.base). p.mu must be held.
func (p *Poller) lockedArm(at int64) {
	p.armed, p.armedAt = true, at
	p.f.SetReadDeadline(p.base.Add(time.Duration(at)))
}
