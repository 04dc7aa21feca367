package chat

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/track"
)

// Idle sessions are parked (see internal/park): a session that has
// handled every line it has read, and finds nothing more to read, gives
// up its goroutine and its read buffer and waits in the poller of its
// Serve call, which gives it a goroutine again when the client sends
// something (or closes), when its deadline passes (the idle timeout, the
// registration timeout, or an IRC client's next PING), or when the Serve
// call ends. Its queue has a goroutine of its own only while lines are
// queued (session.writeLoop), so a parked session with nothing queued
// costs its state alone: no goroutine, no buffer, whatever room it is in.
// A client that has sent part of a line keeps that part (at most
// MaxLineBytes) while it waits.
//
// Reading and waiting for the client are separate: the session reads its
// descriptor without waiting (rawReader, on Unix), and a read that would
// wait (errWouldBlock) parks the session instead. A session parks only
// with nothing unread: a line in flight, a flood-control delay or a
// goodbye being written keep the goroutine. Connections with no
// descriptor of their own (TLS, WebSocket, pipes: anything but a
// *net.TCPConn or *net.UnixConn, since a wrapper that embeds one would
// be read around) and systems where parking is unsupported (every one
// but Linux) read in their goroutine for the whole session, as a
// blocking session (session.blocking).
//
// Who owns a parked session is decided by internal/park: its Wake, or the
// goroutine whose Unpark succeeds. stop, which may be called with other
// locks held, never resumes the session itself: it sets kicked, then
// starts a goroutine that unparks it; a session that has just parked
// looks at kicked and unparks itself. A session that no goroutine can be
// started for (the server is closed) is ended at once by finishNow, in
// the poller's goroutine, where no lock of the chat is held.

// errWouldBlock is returned by rawReader.Read when the client has sent
// nothing more: the session parks.
var errWouldBlock = errors.New("chat: read would block")

// noParking makes every Serve call serve as where parking is
// unsupported; a variable only so that tests can cover that path on
// Linux.
var noParking = false

// serving is what the sessions of one Serve call share.
type serving struct {
	scope    *track.Scope
	poller   *park.Poller // nil: sessions do not park
	lineBufs *sync.Pool   // read buffers for lines of MaxLineBytes
}

// newServing sets up the sessions' part of a Serve call: the read
// buffers and, if parking, the poller, its Run one of the scope's
// goroutines (so that a graceful shutdown can still start goroutines for
// the sessions its Close hands back).
func (s *Server) newServing(scope *track.Scope, parking bool) *serving {
	sv := &serving{scope: scope, lineBufs: newBufPool(bufSize(s.set.maxLine))}
	if !parking || noParking {
		return sv
	}
	if p, err := park.New(); err == nil {
		if scope.Go(p.Run) {
			sv.poller = p
		} else {
			p.Close()
		}
	}
	return sv
}

// close closes the poller, which wakes every parked session: the Serve
// call is ending. It returns once every Wake has returned.
func (sv *serving) close() { sv.poller.Close() }

// useParker registers the session with the poller, if its connection
// can be parked; the session then reads without waiting. It is called
// before the session is known to anyone else.
func (ss *session) useParker() {
	var sc syscall.Conn
	switch c := ss.c.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	ss.raw.init(rc)
	if ss.sv.poller.Register(&ss.parking, &ss.raw, ss) != nil {
		ss.raw = rawReader{}
		return
	}
	ss.blocking = false
	ss.lr.src = &ss.raw
}

// park hands the session to the poller until the client sends something,
// its deadline passes or it is stopped, and reports whether it did; the
// caller must then leave the session alone. It reports false, the
// session still the caller's, if the session was stopped meanwhile or the
// poller refused it (it is closing, or the connection is): the session
// then reads in its goroutine from now on.
func (ss *session) park() bool {
	ss.lr.release()
	ss.scratch = nil // formatting a line is rare for an idle session
	if ss.irc != nil {
		ss.irc.buf = nil
	}
	ss.srv.parked.Add(1)
	if ss.parking.Park(ss.parkDeadline()) != nil {
		ss.srv.parked.Add(-1)
		ss.blocking = true
		ss.lr.src = ss.c
		return false
	}
	// stop sets kicked, then unparks; a session that parked after that
	// looks at kicked, so either finds the other.
	if ss.kicked.Load() && ss.parking.Unpark() {
		ss.srv.parked.Add(-1)
		return false
	}
	return true
}

// parkDeadline is when a parked session must wake by itself: the end of
// its idle or registration timeout, or an IRC client's next PING or
// its end; zero for never.
func (ss *session) parkDeadline() time.Time {
	if ss.irc != nil {
		return ss.irc.readDeadline()
	}
	return ss.readDeadline(ss.lastActive)
}

// Wake implements [park.Waker]: the poller hands a parked session back,
// because the client sent something, its deadline passed, or the Serve
// call is ending (the next park then fails, and the session reads in its
// goroutine until the shutdown or close ends it).
func (ss *session) Wake(ev park.Event) {
	ss.srv.parked.Add(-1)
	ss.expired = ev == park.Expired
	ss.resume()
}

// resume gives the session a goroutine, or ends it at once if the Serve
// call is closed and none can start.
func (ss *session) resume() {
	if !ss.sv.scope.Go(ss.serve) {
		ss.finishNow(&reason{ByeQuit, "connection lost", "connection lost"})
	}
}

// wakeParked makes a session that stop was called for resume, if it is
// parked, through a goroutine of its own, so that stop may be called
// with any lock held. If none can start, the Serve call is closed and
// its poller's Close is about to wake the session.
func (ss *session) wakeParked() {
	if ss.parking.Registered() {
		ss.sv.scope.Go(ss.unpark)
	}
}

// unpark takes the session back from the poller, if it is parked, and
// serves it.
func (ss *session) unpark() {
	if ss.parking.Unpark() {
		ss.srv.parked.Add(-1)
		ss.serve()
	}
}
