// Package track keeps account of what a server owns (listeners, packet
// conns, connections and goroutines) so that Shutdown and Close can stop
// all of it and wait until nothing is left running.
//
// A server embeds one [Group]. Each Serve or ServePacket call opens a
// [Scope] with [Group.Begin], starts its connection goroutines with
// [Scope.Go], registers each connection with [Scope.AddConn], and ends with
// [Scope.Finish], which returns the error Serve must return.
//
// The life of a Group is one-way: running, then shutting down (graceful)
// or closed (immediate). A Group is never reused.
package track

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

type state int

const (
	running state = iota
	shuttingDown
	closed
)

// Group tracks every scope of one server. The zero value is ready to use.
//
// Lock order: a Scope's mu may be held while taking its Group's mu, never
// the other way round.
type Group struct {
	mu     sync.Mutex
	state  state
	scopes map[*Scope]struct{}
	active int           // goroutines started by Scope.Go still running
	idle   chan struct{} // closed when active reaches 0 after shutdown began
	done   chan struct{} // closed when shutdown or close begins
}

// Scope is the part of a Group that belongs to one Serve call: its
// listener, its connections and its goroutines.
type Scope struct {
	g      *Group
	closer io.Closer // closes the listener or packet conn for good
	stop   func()    // stops accepting or reading, for a graceful shutdown

	mu        sync.Mutex
	conns     map[*entry]struct{}
	finishing bool
	wg        sync.WaitGroup
	ctx       context.Context
	stopCtx   func() bool
	grace     time.Duration
	ctxDone   chan struct{} // closed when the shutdown ctx started has returned
}

type entry struct {
	c          io.Closer
	onShutdown func()
}

func (g *Group) lockedInit() {
	if g.scopes == nil {
		g.scopes = make(map[*Scope]struct{})
		g.done = make(chan struct{})
	}
}

// Done returns a channel that is closed when Shutdown or Close begins.
func (g *Group) Done() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lockedInit()
	return g.done
}

// Graceful reports whether a graceful shutdown (Shutdown, or a cancelled
// Serve context) has begun and Close has not: the time for a server to
// say goodbye to its peers.
func (g *Group) Graceful() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state == shuttingDown
}

// ShuttingDown reports whether Shutdown or Close has begun.
func (g *Group) ShuttingDown() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state != running
}

// ErrClosed is returned by [Group.Begin] once the group is shutting down
// or closed. Servers translate it into their own ErrServerClosed.
var ErrClosed = errors.New("track: group closed")

// DefaultShutdownTimeout is the documented default of every server's
// ShutdownTimeout field: how long the graceful shutdown that a cancelled
// Serve context starts may last before what is left is closed.
const DefaultShutdownTimeout = 5 * time.Second

// Begin opens a scope for one Serve call. closer closes the listener or
// packet conn; stop, if not nil, stops accepting or reading without
// closing (a packet conn is stopped by a read deadline in the past so that
// replies in flight can still be written); when stop is nil, closer is used.
//
// Cancelling ctx starts a graceful shutdown of the whole group, exactly as
// [Group.Shutdown] does, bounded by grace (zero or negative means
// [DefaultShutdownTimeout]); when grace runs out, what is left is closed.
// Begin returns [ErrClosed], after closing closer, if the group is already
// shutting down or closed.
func (g *Group) Begin(ctx context.Context, closer io.Closer, stop func(), grace time.Duration) (*Scope, error) {
	if stop == nil {
		stop = func() { closer.Close() }
	}
	if grace <= 0 {
		grace = DefaultShutdownTimeout
	}
	s := &Scope{g: g, closer: closer, stop: stop, conns: make(map[*entry]struct{}), ctx: ctx, grace: grace}
	g.mu.Lock()
	g.lockedInit()
	if g.state != running {
		g.mu.Unlock()
		closer.Close()
		return nil, ErrClosed
	}
	g.scopes[s] = struct{}{}
	g.mu.Unlock()
	s.ctxDone = make(chan struct{})
	s.stopCtx = context.AfterFunc(ctx, s.shutdownForCtx)
	return s, nil
}

// shutdownForCtx is the graceful shutdown a cancelled Serve context
// starts: Shutdown bounded by the scope's grace period.
func (s *Scope) shutdownForCtx() {
	defer close(s.ctxDone)
	ctx, cancel := context.WithTimeout(context.Background(), s.grace)
	defer cancel()
	s.g.Shutdown(ctx)
}

// Run is the whole life of one Serve call, for servers whose Serve is a
// loop: if setErr (the server's settings error) is not nil, it closes
// closer and returns setErr; otherwise it opens a scope with
// [Group.Begin] and runs loop in it, and returns what [Scope.Finish]
// makes of loop's error: closed after Shutdown, Close or the cancelling of
// ctx, or on a group that has shut down already.
func (g *Group) Run(ctx context.Context, closer io.Closer, stop func(), grace time.Duration, setErr, closed error, loop func(*Scope) error) error {
	if setErr != nil {
		closer.Close()
		return setErr
	}
	s, err := g.Begin(ctx, closer, stop, grace)
	if err != nil {
		return closed
	}
	return s.Finish(loop(s), closed)
}

// Go runs f in a goroutine that Finish, Shutdown and Close wait for. It
// reports false, and does not run f, once the scope is finishing, the
// group is closed, or a shutdown has begun and nothing is left running
// (a goroutine of the scope may still start helpers while it drains).
func (s *Scope) Go(f func()) bool {
	g := s.g
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finishing {
		return false
	}
	g.mu.Lock()
	if g.state == closed || (g.state == shuttingDown && g.active == 0) {
		g.mu.Unlock()
		return false
	}
	g.active++
	g.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.goDone()
		f()
	}()
	return true
}

func (s *Scope) goDone() {
	g := s.g
	g.mu.Lock()
	g.active--
	g.lockedCheckIdle()
	g.mu.Unlock()
	s.wg.Done()
}

// lockedCheckIdle wakes Shutdown and Close once nothing of the group
// runs: no goroutine started by Scope.Go, and no Serve call (a scope),
// whose loop runs in its caller's goroutine. g.mu must be held.
func (g *Group) lockedCheckIdle() {
	if g.active == 0 && len(g.scopes) == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// AddConn registers c so that Close, a cancelled Serve context and a
// Shutdown whose context runs out close it. When graceful shutdown
// begins, onShutdown (if not nil) is called once to ask the session to end
// by itself: typically it sets a read deadline in the past. The returned
// remove must be called when the connection is done. AddConn reports false
// if the scope is already closing; the caller then closes c itself.
func (s *Scope) AddConn(c io.Closer, onShutdown func()) (remove func(), ok bool) {
	e := &entry{c: c, onShutdown: onShutdown}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.finishing || s.g.ShuttingDown() {
		return nil, false
	}
	s.conns[e] = struct{}{}
	return func() {
		s.mu.Lock()
		delete(s.conns, e)
		s.mu.Unlock()
	}, true
}

// Stopping reports whether the scope's loop should end when its read or
// accept fails: a shutdown or close has begun, the scope is finishing, or
// the Serve context is done (whose shutdown may not have begun yet).
func (s *Scope) Stopping() bool {
	if s.g.ShuttingDown() || s.ctx.Err() != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finishing
}

// Conns returns the number of connections registered in the scope.
func (s *Scope) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// closeAll closes the listener and every connection of the scope.
func (s *Scope) closeAll() {
	s.closer.Close()
	s.mu.Lock()
	cs := make([]io.Closer, 0, len(s.conns))
	for e := range s.conns {
		cs = append(cs, e.c)
	}
	s.mu.Unlock()
	for _, c := range cs {
		c.Close()
	}
}

// beginShutdown stops the listener and asks each connection to end.
func (s *Scope) beginShutdown() {
	s.stop()
	s.mu.Lock()
	var fs []func()
	for e := range s.conns {
		if e.onShutdown != nil {
			fs = append(fs, e.onShutdown)
		}
	}
	s.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// Finish ends the scope and returns the error Serve should return; it is
// called once by Serve when its accept or read loop has ended with
// loopErr. It waits for every goroutine of the scope and closes the
// listener. During a graceful shutdown the connections are left to end by
// themselves (Shutdown closes them when its context runs out); in every
// other case they are closed at once.
//
// When the loop ended because of Shutdown, Close or the cancelling of
// the Serve context (which starts a shutdown), Finish returns closedErr;
// otherwise it returns loopErr. When the context started the shutdown,
// Finish also waits for that shutdown to return, so that no goroutine of
// the scope outlives Serve.
func (s *Scope) Finish(loopErr, closedErr error) error {
	s.mu.Lock()
	s.finishing = true
	s.mu.Unlock()
	ctxShutdown := !s.stopCtx()

	g := s.g
	if ctxShutdown {
		// The loop may have seen the cancelled context before the
		// shutdown it starts had begun: begin it here, so that the
		// connections are left to end gracefully.
		g.markShuttingDown()
	}
	g.mu.Lock()
	st := g.state
	g.mu.Unlock()

	if st != shuttingDown {
		s.closeAll()
	}
	s.wg.Wait()
	s.closer.Close()

	g.mu.Lock()
	delete(g.scopes, s)
	g.lockedCheckIdle()
	st = g.state
	g.mu.Unlock()

	if ctxShutdown {
		<-s.ctxDone
	}
	if st != running {
		return closedErr
	}
	return loopErr
}

// lockedScopes returns the scopes; g.mu must be held.
func (g *Group) lockedScopes() []*Scope {
	ss := make([]*Scope, 0, len(g.scopes))
	for s := range g.scopes {
		ss = append(ss, s)
	}
	return ss
}

// waitIdle returns a channel closed once no goroutine of the group runs
// and every Serve call has returned (see lockedCheckIdle).
func (g *Group) waitIdle() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active == 0 && len(g.scopes) == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	return g.idle
}

// Shutdown stops every listener, asks every connection to end, and waits
// until all goroutines have returned and every Serve call has finished
// (called Scope.Finish), or ctx is done. If ctx ends first, it closes
// everything, waits the same way, and returns ctx.Err().
func (g *Group) Shutdown(ctx context.Context) error {
	g.markShuttingDown()
	g.mu.Lock()
	ss := g.lockedScopes()
	g.mu.Unlock()
	for _, s := range ss {
		s.beginShutdown()
	}
	select {
	case <-g.waitIdle():
		return nil
	case <-ctx.Done():
		g.closeAll()
		<-g.waitIdle()
		return ctx.Err()
	}
}

// markShuttingDown moves a running group to shutting down.
func (g *Group) markShuttingDown() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lockedInit()
	if g.state == running {
		g.state = shuttingDown
		close(g.done)
	}
}

func (g *Group) closeAll() {
	g.mu.Lock()
	ss := g.lockedScopes()
	g.mu.Unlock()
	for _, s := range ss {
		s.closeAll()
	}
}

// Close closes every listener and connection at once and waits until all
// goroutines have returned and every Serve call has finished. It is
// idempotent. It must not be called from a goroutine started by
// [Scope.Go], nor from a Serve loop, which it would wait for.
func (g *Group) Close() error {
	g.mu.Lock()
	g.lockedInit()
	if g.state == running {
		close(g.done)
	}
	g.state = closed
	g.mu.Unlock()
	g.closeAll()
	<-g.waitIdle()
	return nil
}

// Temporary reports errors that pass by themselves: out of file
// descriptors or of buffer memory. A server retries them after a pause
// instead of giving up, or spinning.
func Temporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// Accept waits for the next connection on l, the scope's listener.
// Temporary failures ([Temporary]) are retried after a pause that doubles
// from 5 ms up to 1 s, as net/http does, and reported to onRetry if it is
// not nil; any other error, or any error once the scope is closing, is
// returned.
func (s *Scope) Accept(l net.Listener, onRetry func(err error, delay time.Duration)) (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Accept()
		if err == nil || !Temporary(err) || s.g.ShuttingDown() || s.ctx.Err() != nil {
			return c, err
		}
		delay = min(max(2*delay, 5*time.Millisecond), time.Second)
		if onRetry != nil {
			onRetry(err, delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.g.Done():
		case <-s.ctx.Done():
		}
		t.Stop()
	}
}

// Every calls f every d until stop is closed, and returns then. It is the
// body of a server's or client's housekeeping goroutine (expiring members,
// renewing a lease, keeping a session alive, checkpointing).
func Every(stop <-chan struct{}, d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			f()
		}
	}
}
