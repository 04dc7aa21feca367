//go:build linux

package echo

import (
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/track"
)

// parker keeps idle TCP connections in an epoll set of its own, with no
// goroutine: a goroutine's stack is most of what a connection costs, and
// most connections of a busy server are idle most of the time. When data
// (or the peer's FIN) arrives on a parked connection, the parker starts a
// goroutine for it again.
//
// The epoll descriptor is itself in the Go runtime's poller (an epoll set
// is pollable), so the parker's goroutine waits without holding a thread,
// and closing the descriptor stops it. Connections parked for longer than
// IdleTimeout are closed by a sweep that runs every IdleTimeout/8.
//
// Each connection is registered once (EPOLLONESHOT, re-armed with
// EPOLL_CTL_MOD when it parks again) under an id of its own, never its file
// descriptor, so that an event for a connection closed meanwhile (whose
// descriptor number may already be reused) finds nothing.
type parker struct {
	s     *Server
	scope *track.Scope
	f     *os.File
	rc    syscall.RawConn
	epfd  int
	sweep time.Duration // 0: no idle timeout

	mu      sync.Mutex
	parked  map[int32]*streamConn
	nextID  int32
	stopped bool

	events []unix.EpollEvent
	n      int
	waitFn func(fd uintptr) bool
}

// newParker returns a parker for the connections of one Serve call, or
// nil if the system will not give it an epoll set (the connections then
// wait in goroutines).
func newParker(s *Server, scope *track.Scope) *parker {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil
	}
	f := os.NewFile(uintptr(epfd), "echo-parked")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	p := &parker{
		s:      s,
		scope:  scope,
		f:      f,
		rc:     rc,
		epfd:   epfd,
		parked: make(map[int32]*streamConn),
		events: make([]unix.EpollEvent, 128),
	}
	if idle := opt.Or(s.IdleTimeout, DefaultIdleTimeout); idle > 0 {
		p.sweep = max(idle/8, time.Millisecond)
	}
	p.waitFn = p.wait
	if !scope.Go(p.run) {
		f.Close()
		return nil
	}
	return p
}

// wait is the runtime poller's callback on the epoll descriptor: it
// reports false, to be called again when the set is ready, while no
// connection has an event.
func (p *parker) wait(fd uintptr) bool {
	for {
		n, err := unix.EpollWait(int(fd), p.events, 0)
		if err == unix.EINTR {
			continue
		}
		p.n = n
		return n > 0 || err != nil
	}
}

func (p *parker) run() {
	for {
		if p.sweep > 0 {
			p.f.SetReadDeadline(time.Now().Add(p.sweep))
		}
		p.n = 0
		err := p.rc.Read(p.waitFn)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			p.expire(time.Now())
			continue
		case err != nil:
			return // closed by stop
		}
		for _, ev := range p.events[:p.n] {
			p.wake(ev.Fd)
		}
	}
}

// park hands sc to the parker. It reports false, leaving sc with its
// goroutine, if the parker has stopped, the connection is draining, or
// the system refuses.
func (p *parker) park(sc *streamConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || sc.draining.Load() {
		return false
	}
	for {
		p.nextID++
		if p.nextID <= 0 {
			p.nextID = 1
		}
		if _, used := p.parked[p.nextID]; !used {
			break
		}
	}
	id := p.nextID
	op := unix.EPOLL_CTL_ADD
	if sc.inEpoll {
		op = unix.EPOLL_CTL_MOD
	}
	var ctlErr error
	err := sc.raw.control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: id}
		ctlErr = unix.EpollCtl(p.epfd, op, int(fd), &ev)
	})
	if err != nil || ctlErr != nil {
		return false
	}
	sc.inEpoll = true
	sc.parkID = id
	p.parked[id] = sc
	p.s.parked.Add(1)
	return true
}

// take removes the connection with id from the parked set.
func (p *parker) take(id int32) *streamConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	sc := p.parked[id]
	if sc != nil {
		delete(p.parked, id)
		p.s.parked.Add(-1)
	}
	return sc
}

// wake gives a connection that has an event its goroutine back.
func (p *parker) wake(id int32) {
	if sc := p.take(id); sc != nil {
		sc.resume()
	}
}

// unpark takes sc out of the parked set if it is there, and reports
// whether it was; the caller then owns it. It is how a graceful shutdown
// reaches parked connections: draining is set under the parker's lock,
// so sc is either parked already (and taken here) or will not park.
func (p *parker) unpark(sc *streamConn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	sc.draining.Store(true)
	if p.parked[sc.parkID] != sc {
		return false
	}
	delete(p.parked, sc.parkID)
	p.s.parked.Add(-1)
	return true
}

// expire closes the connections parked since before the idle timeout.
func (p *parker) expire(now time.Time) {
	idle := opt.Or(p.s.IdleTimeout, DefaultIdleTimeout)
	var old []*streamConn
	p.mu.Lock()
	for id, sc := range p.parked {
		if now.Sub(sc.lastActive) >= idle {
			delete(p.parked, id)
			old = append(old, sc)
		}
	}
	p.s.parked.Add(-int64(len(old)))
	p.mu.Unlock()
	for _, sc := range old {
		p.s.log(slog.LevelDebug, "echo: idle timeout; closing", "remote", sc.c.RemoteAddr(), "timeout", idle)
		sc.end()
	}
}

// stop stops the parker's goroutine and ends every connection still
// parked: each one finishes (sending back what its transformer holds)
// in a goroutine of its own, or at once if the server is closed.
func (p *parker) stop() {
	p.mu.Lock()
	p.stopped = true
	left := make([]*streamConn, 0, len(p.parked))
	for id, sc := range p.parked {
		delete(p.parked, id)
		left = append(left, sc)
	}
	p.s.parked.Add(-int64(len(left)))
	p.mu.Unlock()
	// Resume before closing: while the parker's goroutine runs, a
	// shutting-down group still lets the scope start goroutines.
	for _, sc := range left {
		sc.draining.Store(true)
		sc.resume()
	}
	p.f.Close()
}
