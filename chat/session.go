package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/text/transform"
	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// keepBufBytes is the largest write buffer a session keeps for reuse
// between batches while it is busy; larger ones (after a burst) go back
// to the garbage collector at once, and a session whose queue empties
// keeps none.
const keepBufBytes = 16 << 10

// reason says why a session ends: the BYE line the client gets, and the
// reason the others see in its QUIT line.
type reason struct {
	code string // BYE code
	bye  string // BYE text
	quit string // QUIT reason for the others
}

// session is one client connection. Its lines are read and handled by
// a goroutine that exists only while there is input to handle: an idle
// session waits parked, with no goroutine and no read buffer (park.go).
// Its queue is written by a second goroutine that exists only while
// lines are queued (writeLoop). Where a connection cannot be parked
// (no descriptor of its own, or no poller on this system), the reading
// goroutine waits in Read for the whole session instead.
type session struct {
	srv          *Server
	c            net.Conn
	sv           *serving // the Serve call's goroutines, poller and buffers
	maxLine      int
	maxQueue     int
	writeTimeout time.Duration
	interval     time.Duration // least time between writes; 0: automatic, < 0: none
	idleTimeout  time.Duration
	lim          *rate.Limiter // nil: no flood control
	registerBy   time.Time     // when a client without a nickname is disconnected; zero: never
	ticket       admit.Ticket  // the connection's admission, released when it ends
	remove       func()        // unregisters the connection from its Serve call; called once, last

	nick    atomic.Pointer[string] // "" until the client picks one
	room    string                 // the current room ("" for none); session goroutine only
	scratch []byte                 // for formatting lines; session goroutine only
	dialect dialect                // set before the session starts; then session goroutine only

	// operator marks the operator's session ([Server.ServeOperator]):
	// it may take the operator's nickname, and has no timeouts and no
	// flood control. Set before run.
	operator bool

	// tn follows the telnet commands in the client's input; its
	// pointer does not change.
	tn *telnet

	// The client's charset. cs and encoder are written by the session
	// goroutine under mu, and read under mu; decoder and decBuf are the
	// session goroutine's.
	cs      *charset
	encoder transform.Transformer // nil for UTF-8
	encBuf  []byte                // for encoding lines; guarded by mu
	decoder transform.Transformer // nil for UTF-8
	decBuf  []byte                // for decoding lines

	// irc is the state of an IRC session, nil for the plain dialect. It
	// is set once, by the session goroutine under mu, before the session
	// is known to anyone else.
	irc *ircState

	// The read side, the session goroutine's: whichever goroutine reads
	// for the session now (see park.go).
	lr          lineReader
	raw         rawReader // the source of lr while the session can park
	parking     park.Conn // parks the session while it idles, if registered
	began       time.Time // when the session began
	lastActive  time.Time // when the last line came, or the session began
	deadlineSet time.Time // when the read deadline was last moved (blocking only)
	blocking    bool      // reads wait in the goroutine: the session does not park
	expired     bool      // woken by its deadline

	// The outgoing queue, guarded by mu.
	mu       sync.Mutex
	out      []byte // lines waiting for the writer
	spare    []byte // the previous batch's buffer, for reuse
	inflight int    // bytes of the batch being written
	writing  bool   // a goroutine is writing the queue
	noWriter bool   // none could start: the Serve call is ending
	closed   bool   // no more lines are queued; the writer ends after out
	dead     bool   // a write failed: the connection is broken
	why      *reason
	flushed  chan struct{} // made by finish while a writer runs; closed when it ends
	stopped  bool          // stop has been called
	kickCh   chan struct{} // made by the flood control's wait; closed by stop

	// lastWrite is when the last batch was written: the writer's, each
	// writer taking over from the one before under mu.
	lastWrite time.Time

	kicked atomic.Bool // stop has been called
}

func newSession(s *Server, sv *serving, c net.Conn) *session {
	ss := &session{
		srv:          s,
		c:            c,
		sv:           sv,
		maxLine:      s.set.maxLine,
		maxQueue:     s.set.maxQueue,
		writeTimeout: s.set.writeTimeout,
		interval:     s.WriteInterval,
		idleTimeout:  s.set.idleTimeout,
		remove:       func() {},
		lastActive:   time.Now(),
		blocking:     true,
	}
	ss.began = ss.lastActive
	ss.lr.init(c, ss.maxLine, sv.lineBufs)
	if r := s.set.lineRate; r > 0 {
		ss.lim = rate.NewLimiter(rate.Limit(r), s.set.lineBurst)
	}
	if s.set.registerTimeout > 0 {
		ss.registerBy = ss.lastActive.Add(s.set.registerTimeout)
	}
	empty := ""
	ss.nick.Store(&empty)
	ss.tn = &telnet{send: func(reply []byte) { ss.queue(reply, false) }}
	ss.lr.tn = ss.tn
	ss.setCharset(s.connCharset(c))
	return ss
}

// Nick implements [Member].
func (ss *session) Nick() string { return *ss.nick.Load() }

// Deliver implements [Member]: it appends line to the queue, in the
// client's dialect and charset, and starts the writer if none runs. A
// client whose queue would pass the limit loses what is queued, gets
// "BYE slow" instead, and its session is stopped.
func (ss *session) Deliver(line []byte) { ss.queue(line, true) }

// queue appends line to the queue; if translate, line is in the plain
// dialect and in UTF-8, and an IRC client gets it in its own dialect, a
// plain one in its charset. Otherwise line goes as it is.
func (ss *session) queue(line []byte, translate bool) {
	ss.mu.Lock()
	if ss.closed {
		ss.mu.Unlock()
		return
	}
	switch {
	case !translate:
	case ss.irc != nil:
		if line = ss.irc.translate(line, ss.Nick()); len(line) == 0 {
			ss.mu.Unlock()
			return
		}
	case ss.encoder != nil:
		line = ss.encodeLocked(line)
	}
	if len(ss.out)+ss.inflight+len(line) > ss.maxQueue {
		r := &reason{ByeSlow, "you did not read fast enough", "too slow"}
		if ss.why == nil {
			ss.why = r
		}
		ss.out = ss.appendBye(ss.out[:0], r)
		ss.closed = true
		ss.startWriterLocked()
		ss.mu.Unlock()
		ss.stop(r)
		return
	}
	ss.out = append(ss.out, line...)
	ss.startWriterLocked()
	ss.mu.Unlock()
}

// startWriterLocked makes sure that a goroutine writes the queue; mu is
// held. When none can start (the Serve call is ending), none is tried
// again: the lines wait for finish, which writes them in the session's
// own goroutine.
func (ss *session) startWriterLocked() {
	if ss.writing || ss.dead || ss.noWriter {
		return
	}
	if ss.sv.scope.Go(ss.writeLoop) {
		ss.writing = true
	} else {
		ss.noWriter = true
	}
}

// encodeLocked returns line in the client's charset, in encBuf; mu is
// held. A character the charset lacks becomes "?". In a charset where
// 0xff is a character, a client that speaks telnet gets it doubled, as
// telnet wants its data.
func (ss *session) encodeLocked(line []byte) []byte {
	b := appendTransform(ss.encBuf[:0], ss.encoder, line, "?")
	if ss.cs.ffText && ss.tn.seen.Load() && bytes.IndexByte(b, tnIAC) >= 0 {
		b = bytes.ReplaceAll(b, []byte{tnIAC}, []byte{tnIAC, tnIAC})
	}
	if cap(b) <= keepBufBytes {
		ss.encBuf = b[:0]
	}
	return b
}

// setCharset makes cs the client's charset, for what it sends and what
// it is sent from now on.
func (ss *session) setCharset(cs *charset) {
	var enc, dec transform.Transformer
	if cs.enc != nil {
		enc, dec = cs.enc.NewEncoder(), cs.enc.NewDecoder()
	}
	ss.mu.Lock()
	ss.cs, ss.encoder = cs, enc
	ss.mu.Unlock()
	ss.decoder = dec
}

// decode returns raw, a line in the client's charset, as UTF-8, and
// reports whether it was valid. A line that holds U+FFFD once decoded
// is not: the decoder puts it where bytes were not text.
func (ss *session) decode(raw []byte) (string, bool) {
	if ss.decoder == nil {
		if !utf8.Valid(raw) {
			return "", false
		}
		return string(raw), true
	}
	ss.decBuf = appendTransform(ss.decBuf[:0], ss.decoder, raw, "\uFFFD")
	if bytes.ContainsRune(ss.decBuf, utf8.RuneError) {
		return "", false
	}
	return string(ss.decBuf), true
}

// send queues an event for this client alone.
func (ss *session) send(e Event) {
	ss.scratch = e.appendLine(ss.scratch[:0], true)
	ss.Deliver(ss.scratch)
}

func (ss *session) sendError(code, format string, args ...any) {
	ss.send(Event{Kind: KindError, Code: code, Text: fmt.Sprintf(format, args...)})
}

// publish sends an event to everyone in room.
func (ss *session) publish(room string, e Event) {
	ss.scratch = e.appendLine(ss.scratch[:0], true)
	if h, ok := ss.srv.hub.(SenderHub); ok {
		h.PublishFrom(room, ss, ss.scratch)
		return
	}
	ss.srv.hub.Publish(room, ss.scratch)
}

// closeQueue queues the BYE line of r as the last line and lets the
// writer end after it, and makes r the reason unless there is one. It
// queues nothing if the queue is already closed.
func (ss *session) closeQueue(r *reason) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.why == nil {
		ss.why = r // also when a failed write closed the queue: its stop may not have come yet
	}
	if ss.closed {
		return
	}
	ss.out = ss.appendBye(ss.out, r)
	ss.closed = true
	ss.startWriterLocked()
}

// appendBye appends the last line, for r, in the client's dialect; mu
// is held.
func (ss *session) appendBye(b []byte, r *reason) []byte {
	if ss.irc != nil {
		return appendIRC(b, "", "ERROR", "Closing link: "+r.bye)
	}
	return Event{Kind: KindBye, Code: r.code, Text: r.bye}.appendLine(b, true)
}

// stop ends the session with reason r (unless a reason is set already):
// a reading goroutine sees kicked, a read in progress is ended by a read
// deadline in the past, a flood-control wait by kickCh, and a parked
// session is woken. It does not block, and may be called with any lock
// held but mu.
func (ss *session) stop(r *reason) {
	ss.mu.Lock()
	if ss.why == nil {
		ss.why = r
	}
	first := !ss.stopped
	ss.stopped = true
	if first && ss.kickCh != nil {
		close(ss.kickCh)
	}
	ss.mu.Unlock()
	ss.kicked.Store(true)
	ss.c.SetReadDeadline(time.Unix(1, 0))
	if first {
		ss.wakeParked()
	}
}

// pause waits d, for the flood control, and reports false if the session
// was stopped meanwhile.
func (ss *session) pause(d time.Duration) bool {
	ss.mu.Lock()
	if ss.kickCh == nil {
		ss.kickCh = make(chan struct{})
		if ss.stopped {
			close(ss.kickCh)
		}
	}
	kick := ss.kickCh
	ss.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-kick:
		return false
	}
}

// shutdown is called by Server.Shutdown: the client gets "BYE shutdown"
// after what is queued for it, and nothing more.
func (ss *session) shutdown() {
	r := &reason{ByeShutdown, "server shutting down", "server shutting down"}
	ss.closeQueue(r)
	ss.stop(r)
}

func (ss *session) reason() *reason {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.why
}

// writeLoop writes the queue in batches until it is empty: everything
// queued since the last write goes out in one Write, and a client is
// written to at most once per interval, so a busy client costs one
// system call per batch rather than one per line. A writer that had to
// wait for the interval (the client is busy) waits one more after its
// write, for the lines that gather meanwhile, and ends if none came; one
// that did not wait (a line now and then) ends with its write, and the
// next line starts another.
func (ss *session) writeLoop() {
	waited := false
	for {
		if iv := ss.writeInterval(); iv > 0 {
			if wait := iv - time.Since(ss.lastWrite); wait > 0 {
				time.Sleep(wait) // short; closing waits for it too
				waited = true
			}
		}
		ss.mu.Lock()
		buf := ss.out
		if len(buf) == 0 {
			ss.writerDoneLocked()
			ss.mu.Unlock()
			return
		}
		ss.out = ss.spare[:0]
		ss.spare = nil
		ss.inflight = len(buf)
		closed := ss.closed
		ss.mu.Unlock()

		if ss.writeTimeout > 0 {
			ss.c.SetWriteDeadline(time.Now().Add(ss.writeTimeout))
		}
		n, err := ss.c.Write(buf)
		ss.srv.gate.Counters.Bytes(0, n)
		ss.lastWrite = time.Now()

		ss.mu.Lock()
		ss.inflight = 0
		if cap(buf) <= keepBufBytes {
			ss.spare = buf[:0]
		}
		if err != nil {
			ss.closed, ss.dead = true, true
			ss.out = nil
		}
		// closed: that batch held the last line.
		done := err != nil || closed || !waited && len(ss.out) == 0
		if done {
			ss.writerDoneLocked()
		}
		ss.mu.Unlock()
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			ss.stop(&reason{ByeSlow, "write timed out", "too slow"})
		case err != nil:
			ss.stop(&reason{ByeQuit, "connection lost", "connection lost"})
		}
		if done {
			return
		}
	}
}

// writerDoneLocked ends the writer's turn; mu is held. A session whose
// queue is empty keeps no buffer.
func (ss *session) writerDoneLocked() {
	ss.writing = false
	if len(ss.out) == 0 {
		ss.out, ss.spare = nil, nil
	}
	if ss.flushed != nil {
		close(ss.flushed)
		ss.flushed = nil
	}
}

// flush returns once the queue, which is closed, has been written (or
// the connection has failed): it waits for the writer if one runs, and
// otherwise writes what is left itself.
func (ss *session) flush() {
	ss.mu.Lock()
	switch {
	case ss.writing:
		done := make(chan struct{})
		ss.flushed = done
		ss.mu.Unlock()
		<-done // bounded by the write timeout, or by Close
	case len(ss.out) == 0 || ss.dead:
		ss.mu.Unlock()
	default:
		ss.writing = true
		ss.mu.Unlock()
		ss.writeLoop()
	}
}

// writeInterval returns the least time between two writes now.
func (ss *session) writeInterval() time.Duration {
	if ss.interval != 0 {
		return ss.interval
	}
	iv := time.Duration(ss.srv.gate.Counters.Open()) * AutoWriteIntervalPerConn
	return min(max(iv, MinAutoWriteInterval), MaxAutoWriteInterval)
}

// begin starts the session, in the accepting goroutine: the greeting,
// then the wait for the client's first line, parked where it can be.
// An IRC client talks first, so an IRC session gets no greeting.
func (ss *session) begin() {
	if ss.dialect == dialectIRC {
		ss.startIRC()
		ircReader(&ss.lr)
	} else {
		ss.send(Event{Kind: KindHello, Text: fmt.Sprintf(
			"sockkit chat: send your nickname (1-%d letters, digits, _ or -); /help lists the commands", MaxNickLen)})
	}
	if !ss.blocking && ss.park() {
		return
	}
	ss.resume()
}

// serve reads and handles lines until the session parks or ends: the
// body of the session's goroutine, each time it has one.
func (ss *session) serve() {
	if r := ss.readLoop(); r != nil {
		ss.finish(r)
	}
}

// readLoop reads and handles lines until the session must end, and
// returns why, or until it has parked, and returns nil.
func (ss *session) readLoop() *reason {
	for {
		if ss.blocking {
			ss.moveDeadline()
		}
		if ss.kicked.Load() { // after SetReadDeadline, so that no stop is missed
			return ss.reason()
		}
		var line []byte
		var err error
		if ss.expired { // parked until the deadline
			ss.expired = false
			err = os.ErrDeadlineExceeded
		} else {
			line, err = ss.lr.next()
		}
		if err == nil || err == errLineTooLong {
			ss.lastActive = time.Now()
		}
		switch {
		case err == errWouldBlock:
			if ss.park() {
				return nil
			}
			continue
		case err == errLineTooLong && ss.irc != nil:
			ss.ircReply("417", "Input line was too long")
			continue
		case err == errLineTooLong:
			ss.srv.gate.Counters.Drop(admit.Oversize)
			if ss.dialect == dialectSniff { // not the way IRC begins
				ss.dialect = dialectPlain
			}
			ss.sendError(CodeTooLong, "line longer than %d bytes; dropped", ss.maxLine)
			continue
		case err == nil:
		case ss.kicked.Load():
			return ss.reason()
		case errors.Is(err, os.ErrDeadlineExceeded):
			if r := ss.timedOut(); r != nil {
				return r
			}
			continue
		case err == io.EOF:
			return &reason{ByeQuit, "connection closed", "connection closed"}
		default:
			return &reason{ByeQuit, "connection lost", "connection lost"}
		}
		if ss.lim != nil {
			if d := ss.lim.Reserve().Delay(); d > 0 && !ss.pause(d) {
				return ss.reason()
			}
		}
		if ss.dialect == dialectSniff {
			ss.dialect = dialectPlain
			if ircFirstLine(line) {
				ss.startIRC()
				ircReader(&ss.lr)
			}
		}
		registered := ss.Nick() != ""
		var r *reason
		if ss.irc != nil {
			r = ss.ircHandle(line)
		} else {
			r = ss.handle(line)
		}
		if r != nil {
			return r
		}
		if !registered && ss.Nick() != "" {
			ss.deadlineSet = time.Time{} // the registration deadline no longer applies
		}
	}
}

// moveDeadline sets the read deadline of a session whose reads wait in
// its goroutine. Moving it costs a little; doing it at most once a
// second makes the idle timeout up to a second shorter.
func (ss *session) moveDeadline() {
	if ss.irc != nil {
		ss.ircDeadline()
		return
	}
	if ss.idleTimeout > 0 || !ss.registerBy.IsZero() {
		if now := time.Now(); now.Sub(ss.deadlineSet) >= time.Second {
			ss.c.SetReadDeadline(ss.readDeadline(now))
			ss.deadlineSet = now
		}
	}
}

// timedOut handles a read deadline that has passed, and returns why the
// session ends, or nil if it goes on: an IRC client may just be due a
// PING, and a parked session may have been woken for a deadline that no
// longer applies.
func (ss *session) timedOut() *reason {
	now := time.Now()
	switch {
	case ss.irc != nil:
		return ss.ircTimeout()
	case ss.unregistered(now):
		return &reason{ByeTimeout, "no nickname within " + ss.srv.set.registerTimeout.String(), "registration timeout"}
	case ss.blocking || ss.idleTimeout > 0 && now.Sub(ss.lastActive) >= ss.idleTimeout:
		return &reason{ByeIdle, "nothing received for " + ss.idleTimeout.String(), "idle"}
	}
	return nil
}

// readDeadline returns the read deadline at now: the idle timeout, or
// the registration deadline of a client without a nickname if sooner.
func (ss *session) readDeadline(now time.Time) time.Time {
	var d time.Time
	if ss.idleTimeout > 0 {
		d = now.Add(ss.idleTimeout)
	}
	if !ss.registerBy.IsZero() && ss.Nick() == "" && (d.IsZero() || ss.registerBy.Before(d)) {
		d = ss.registerBy
	}
	return d
}

// unregistered reports whether the client has no nickname past its
// registration deadline.
func (ss *session) unregistered(now time.Time) bool {
	return !ss.registerBy.IsZero() && ss.Nick() == "" && !now.Before(ss.registerBy)
}

// finish leaves the room, says goodbye and closes the connection.
func (ss *session) finish(r *reason) {
	ss.leave(r)
	ss.closeQueue(r)
	ss.flush()
	ss.lr.release()
	ss.mu.Lock()
	dead := ss.dead
	ss.mu.Unlock()
	// The place is free once the client has its last line: the linger
	// below only waits for the client to go.
	ss.ticket.Release()
	ss.count()
	if !dead {
		// Let the client read the last line: closing with unread input
		// would send a reset, which can destroy it in the client's
		// buffer. Half-close, then read what the client still sends
		// until it closes too (or briefly, at most).
		if cw, ok := ss.c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
			ss.c.SetReadDeadline(time.Now().Add(lingerTime))
			io.CopyN(io.Discard, ss.c, lingerBytes)
		}
	}
	ss.ended()
}

// finishNow ends a session at once, without its last lines: the server
// is closed, and no goroutine can start for it. It does not block.
func (ss *session) finishNow(r *reason) {
	ss.leave(r)
	ss.mu.Lock()
	if ss.why == nil {
		ss.why = r
	}
	ss.closed, ss.dead = true, true
	ss.out = nil
	ss.mu.Unlock()
	ss.ticket.Release()
	ss.count()
	ss.ended()
}

// leave takes the client out of its room, telling the others why, and
// gives its nickname back.
func (ss *session) leave(r *reason) {
	if nick := ss.Nick(); nick != "" {
		if ss.room != "" {
			ss.srv.hub.Leave(ss.room, ss)
			ss.publish(ss.room, Event{Kind: KindQuit, Room: ss.room, Nick: nick, Text: r.quit})
		}
		ss.srv.releaseNick(ss, nick)
	}
}

// count counts a session that the server ended, by its reason.
func (ss *session) count() {
	switch ss.reason().code {
	case ByeIdle, ByeTimeout:
		ss.srv.gate.Counters.Drop(admit.Idle)
	case ByeSlow:
		ss.srv.gate.Counters.Drop(admit.Slow)
	}
}

// ended closes and unregisters a session that has said goodbye.
func (ss *session) ended() {
	why := ss.reason()
	ss.c.Close()
	ss.srv.log(slog.LevelInfo, "chat: session ended", "remote", ss.c.RemoteAddr(), "nick", ss.Nick(), "reason", why.code, "detail", why.bye,
		"duration", time.Since(ss.began).Round(time.Millisecond))
	ss.remove()
}

// handle acts on one line and returns a reason when the session must end.
func (ss *session) handle(raw []byte) *reason {
	decoded, ok := ss.decode(raw)
	if !ok {
		ss.srv.gate.Counters.Drop(admit.Malformed)
		if ss.decoder == nil {
			ss.sendError(CodeBadUTF8, "line is not valid UTF-8; dropped")
		} else {
			ss.sendError(CodeBadCharset, "line is not valid %s; dropped", ss.cs.name)
		}
		return nil
	}
	ss.srv.gate.Counters.Request(len(raw), 0)
	text := textsafe.Clean(decoded)
	dirty := len(text) != len(decoded) // control characters were removed
	in := parseInput(text)
	if in.cmd == "" && ss.isQuitWord(text) {
		return &reason{ByeQuit, "goodbye", ""}
	}
	if ss.Nick() == "" {
		switch in.cmd {
		case "":
			if name := strings.TrimSpace(in.arg); name != "" {
				ss.setNick(name, dirty)
			}
		case "nick":
			ss.setNick(in.arg, dirty)
		case "quit":
			return &reason{ByeQuit, "goodbye", in.arg}
		case "help":
			ss.help()
		case "charset":
			ss.charset(in.arg)
		default:
			ss.sendError(CodeNeedNick, "choose a nickname first: /nick NAME")
		}
		return nil
	}
	switch in.cmd {
	case "":
		if strings.TrimSpace(in.arg) != "" {
			ss.say(KindMessage, in.arg)
		}
	case "me":
		if in.arg == "" {
			ss.sendError(CodeUsage, "/me ACTION")
			return nil
		}
		ss.say(KindAction, in.arg)
	case "msg":
		to, msg, _ := strings.Cut(in.arg, " ")
		msg = strings.TrimSpace(msg)
		if to == "" || msg == "" {
			ss.sendError(CodeUsage, "/msg NICK TEXT")
			return nil
		}
		ss.private(to, msg)
	case "nick":
		ss.setNick(in.arg, dirty)
	case "join":
		ss.join(strings.TrimPrefix(in.arg, "#"))
	case "rooms":
		ss.rooms()
	case "who":
		ss.who(strings.TrimPrefix(in.arg, "#"))
	case "charset":
		ss.charset(in.arg)
	case "quit":
		return &reason{ByeQuit, "goodbye", in.arg}
	case "help":
		ss.help()
	default:
		ss.sendError(CodeUnknownCommand, "no command /%s; /help lists the commands", in.cmd)
	}
	return nil
}

func (ss *session) isQuitWord(text string) bool {
	if len(ss.srv.QuitWords) == 0 {
		return false
	}
	t := strings.TrimSpace(text)
	for _, w := range ss.srv.QuitWords {
		if strings.EqualFold(t, w) {
			return true
		}
	}
	return false
}

func (ss *session) setNick(name string, dirty bool) {
	if dirty || !ValidNick(name) {
		ss.sendError(CodeBadNick, "a nickname is 1-%d letters, digits, _ or -, not starting with -", MaxNickLen)
		return
	}
	old := ss.Nick()
	if old == name {
		return
	}
	if !ss.srv.claimNick(ss, old, name) {
		ss.sendError(CodeNickTaken, "%s is taken; choose another nickname", name)
		return
	}
	ss.nick.Store(&name)
	if old != "" {
		ss.publish(ss.room, Event{Kind: KindNick, Room: ss.room, Nick: old, Target: name})
		return
	}
	ss.srv.log(slog.LevelInfo, "chat: session started", "remote", ss.c.RemoteAddr(), "nick", name)
	ss.send(Event{Kind: KindWelcome, Nick: name, Text: "welcome; you are in " + ss.srv.room})
	ss.move(ss.srv.room)
}

// filter runs the server's filter, if any, and reports whether the
// message may go; it tells the sender when not.
func (ss *session) filter(m *Message) bool {
	if ss.srv.Filter == nil {
		return true
	}
	if err := ss.srv.Filter(m); err != nil {
		ss.sendError(CodeRejected, "%s", textsafe.Clean(strings.ReplaceAll(err.Error(), "\n", " ")))
		return false
	}
	m.Text = textsafe.Clean(strings.ReplaceAll(m.Text, "\n", " "))
	return true
}

func (ss *session) say(kind Kind, text string) {
	m := Message{Kind: kind, Room: ss.room, From: ss.Nick(), Text: text, Addr: ss.c.RemoteAddr()}
	if !ss.filter(&m) {
		return
	}
	ss.publish(ss.room, Event{Kind: kind, Room: ss.room, Nick: m.From, Text: m.Text})
}

func (ss *session) private(to, text string) {
	peer := ss.srv.lookupNick(to)
	if peer == nil || !peer.joined() {
		if !ss.privateRemote(to, text) {
			ss.sendError(CodeNoSuchNick, "nobody is called %s", to)
		}
		return
	}
	m := Message{Kind: KindPrivate, From: ss.Nick(), To: peer.Nick(), Text: text, Addr: ss.c.RemoteAddr()}
	if !ss.filter(&m) {
		return
	}
	ss.scratch = Event{Kind: KindPrivate, Nick: m.From, Target: m.To, Text: m.Text}.appendLine(ss.scratch[:0], true)
	peer.Deliver(ss.scratch)
	if peer != ss {
		ss.Deliver(ss.scratch)
	}
}

func (ss *session) join(name string) {
	if !ValidRoom(name) {
		ss.sendError(CodeBadRoom, "a room name is 1-%d letters, digits, _ or -, not starting with -", MaxRoomLen)
		return
	}
	room := fold(name)
	if room == ss.room {
		ss.send(Event{Kind: KindInfo, Text: "you are already in " + room})
		return
	}
	ss.move(room)
}

// move takes the client out of its room, if it is in one, and into room,
// unless room is "" (only IRC clients can be in no room). Both rooms see
// it happen, and so does the client.
func (ss *session) move(room string) {
	nick := ss.Nick()
	if ss.room != "" {
		ss.publish(ss.room, Event{Kind: KindPart, Room: ss.room, Nick: nick})
		ss.srv.hub.Leave(ss.room, ss)
	}
	ss.room = room
	if room != "" {
		ss.srv.hub.Join(room, ss)
		ss.publish(room, Event{Kind: KindJoin, Room: room, Nick: nick})
	}
}

func (ss *session) rooms() {
	var b strings.Builder
	for i, r := range ss.srv.hub.Rooms() {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(r.Name)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(r.Members))
	}
	ss.send(Event{Kind: KindRooms, Text: b.String()})
}

func (ss *session) who(arg string) {
	room := ss.room
	if arg != "" {
		if !ValidRoom(arg) {
			ss.sendError(CodeBadRoom, "a room name is 1-%d letters, digits, _ or -, not starting with -", MaxRoomLen)
			return
		}
		room = fold(arg)
	}
	ss.send(Event{Kind: KindWho, Room: room, Text: strings.Join(ss.srv.hub.Who(room), " ")})
}

// charset shows the client's charset, or changes it to the one called
// name.
func (ss *session) charset(name string) {
	if name == "" {
		ss.send(Event{Kind: KindInfo, Text: "your charset is " + ss.cs.name + "; /charset NAME changes it to one of " + charsetNames()})
		return
	}
	cs, err := lookupCharset(name)
	if err != nil {
		ss.sendError(CodeNoSuchCharset, "%s", err)
		return
	}
	if cs != utf8Charset && isUTF8Conn(ss.c) {
		ss.sendError(CodeUsage, "this connection carries UTF-8 only")
		return
	}
	ss.setCharset(cs)
	ss.send(Event{Kind: KindInfo, Text: "your charset is now " + cs.name})
}

func (ss *session) help() {
	lines := []string{
		"commands: /nick NAME, /join ROOM (or #ROOM), /rooms, /who [ROOM], /msg NICK TEXT, /me ACTION, /charset [NAME], /quit [REASON], /help",
		"any other line is a message to your room; start it with // to begin it with /",
	}
	if len(ss.srv.QuitWords) > 0 {
		lines = append(lines, "these words alone on a line also quit: "+strings.Join(ss.srv.QuitWords, ", "))
	}
	for _, l := range lines {
		ss.send(Event{Kind: KindInfo, Text: l})
	}
}

// privateRemote sends a private message to a client of another server,
// through the Hub's [Directory], and reports whether anyone there is
// called to.
func (ss *session) privateRemote(to, text string) bool {
	dir, ok := ss.srv.hub.(Directory)
	if !ok {
		return false
	}
	name, ok := dir.Lookup(to)
	if !ok {
		return false
	}
	m := Message{Kind: KindPrivate, From: ss.Nick(), To: name, Text: text, Addr: ss.c.RemoteAddr()}
	if ss.filter(&m) {
		ss.scratch = Event{Kind: KindPrivate, Nick: m.From, Target: m.To, Text: m.Text}.appendLine(ss.scratch[:0], true)
		dir.Private(ss, m.To, ss.scratch)
	}
	return true
}
