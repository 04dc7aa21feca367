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
	"github.com/sockkit/sockkit/internal/textsafe"
)

// keepBufBytes is the largest write buffer a session keeps for reuse
// between batches; larger ones (after a burst) go back to the garbage
// collector, so an idle session holds little memory.
const keepBufBytes = 16 << 10

// reason says why a session ends: the BYE line the client gets, and the
// reason the others see in its QUIT line.
type reason struct {
	code string // BYE code
	bye  string // BYE text
	quit string // QUIT reason for the others
}

// session is one client connection. Its goroutine (run) reads and
// handles lines; a second goroutine (writeLoop) writes the queue.
type session struct {
	srv          *Server
	c            net.Conn
	maxLine      int
	maxQueue     int
	writeTimeout time.Duration
	interval     time.Duration // least time between writes; 0: automatic, < 0: none
	idleTimeout  time.Duration
	lim          *rate.Limiter // nil: no flood control
	registerBy   time.Time     // when a client without a nickname is disconnected; zero: never
	release      func()        // gives the connection's admission slot back; called once

	nick    atomic.Pointer[string] // "" until the client picks one
	room    string                 // the current room ("" for none); session goroutine only
	scratch []byte                 // for formatting lines; session goroutine only
	dialect dialect                // set before run; then session goroutine only

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

	// The outgoing queue, guarded by mu.
	mu       sync.Mutex
	out      []byte // lines waiting for the writer
	spare    []byte // the previous batch's buffer, for reuse
	inflight int    // bytes of the batch being written
	signaled bool   // a wake-up is pending in wake
	closed   bool   // no more lines are queued; the writer ends after out
	dead     bool   // a write failed: the connection is broken
	why      *reason
	wake     chan struct{}
	done     chan struct{} // closed when writeLoop returns

	kicked   atomic.Bool // stop has been called
	kickCh   chan struct{}
	kickOnce sync.Once
}

func newSession(s *Server, c net.Conn) *session {
	ss := &session{
		srv:          s,
		c:            c,
		maxLine:      s.set.maxLine,
		maxQueue:     s.set.maxQueue,
		writeTimeout: s.set.writeTimeout,
		interval:     s.WriteInterval,
		idleTimeout:  s.set.idleTimeout,
		release:      func() {},
		wake:         make(chan struct{}, 1),
		done:         make(chan struct{}),
		kickCh:       make(chan struct{}),
	}
	if r := s.set.lineRate; r > 0 {
		ss.lim = rate.NewLimiter(rate.Limit(r), s.set.lineBurst)
	}
	if s.set.registerTimeout > 0 {
		ss.registerBy = time.Now().Add(s.set.registerTimeout)
	}
	empty := ""
	ss.nick.Store(&empty)
	ss.tn = &telnet{send: func(reply []byte) { ss.queue(reply, false) }}
	ss.setCharset(s.connCharset(c))
	return ss
}

// Nick implements [Member].
func (ss *session) Nick() string { return *ss.nick.Load() }

// Deliver implements [Member]: it appends line to the queue, in the
// client's dialect and charset, and wakes the writer. A client whose
// queue would pass the limit loses what is queued, gets "BYE slow"
// instead, and its session is stopped.
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
		ss.signalLocked()
		ss.mu.Unlock()
		ss.stop(r)
		return
	}
	ss.out = append(ss.out, line...)
	ss.signalLocked()
	ss.mu.Unlock()
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

// signalLocked wakes the writer unless a wake-up is pending; mu is held.
func (ss *session) signalLocked() {
	if !ss.signaled {
		ss.signaled = true
		ss.wake <- struct{}{} // never blocks: cap 1, and signaled was false
	}
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
// writer end after it. It does nothing if the queue is already closed.
func (ss *session) closeQueue(r *reason) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.closed {
		return
	}
	if ss.why == nil {
		ss.why = r
	}
	ss.out = ss.appendBye(ss.out, r)
	ss.closed = true
	ss.signalLocked()
}

// appendBye appends the last line, for r, in the client's dialect; mu
// is held.
func (ss *session) appendBye(b []byte, r *reason) []byte {
	if ss.irc != nil {
		return appendIRC(b, "", "ERROR", "Closing link: "+r.bye)
	}
	return Event{Kind: KindBye, Code: r.code, Text: r.bye}.appendLine(b, true)
}

// stop ends the read loop with reason r (unless a reason is set
// already): it sets a read deadline in the past.
func (ss *session) stop(r *reason) {
	ss.mu.Lock()
	if ss.why == nil {
		ss.why = r
	}
	ss.mu.Unlock()
	ss.kicked.Store(true)
	ss.kickOnce.Do(func() { close(ss.kickCh) })
	ss.c.SetReadDeadline(time.Unix(1, 0))
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

// writeLoop writes the queue in batches: everything queued since the
// last write goes out in one Write, and a client is written to at most
// once per interval, so a busy client costs one system call per batch
// rather than one per line.
func (ss *session) writeLoop() {
	defer close(ss.done)
	var last time.Time
	for {
		<-ss.wake
		if iv := ss.writeInterval(); iv > 0 {
			if wait := iv - time.Since(last); wait > 0 {
				time.Sleep(wait) // short; closing waits for it too
			}
		}
		ss.mu.Lock()
		buf := ss.out
		ss.out = ss.spare[:0]
		ss.spare = nil
		ss.signaled = false
		ss.inflight = len(buf)
		closed := ss.closed
		ss.mu.Unlock()

		var err error
		if len(buf) > 0 {
			if ss.writeTimeout > 0 {
				ss.c.SetWriteDeadline(time.Now().Add(ss.writeTimeout))
			}
			var n int
			n, err = ss.c.Write(buf)
			ss.srv.gate.Counters.Bytes(0, n)
			last = time.Now()
		}

		ss.mu.Lock()
		ss.inflight = 0
		if cap(buf) <= keepBufBytes {
			ss.spare = buf[:0]
		}
		if err != nil {
			ss.closed, ss.dead = true, true
			ss.out = nil
		}
		ss.mu.Unlock()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				ss.stop(&reason{ByeSlow, "write timed out", "too slow"})
			} else {
				ss.stop(&reason{ByeQuit, "connection lost", "connection lost"})
			}
			return
		}
		if closed {
			return
		}
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

// run is the session: greeting, lines until the end, then goodbye.
// An IRC client talks first, so an IRC session gets no greeting.
func (ss *session) run() {
	go ss.writeLoop()
	if ss.dialect == dialectIRC {
		ss.startIRC()
	} else {
		ss.send(Event{Kind: KindHello, Text: fmt.Sprintf(
			"sockkit chat: send your nickname (1-%d letters, digits, _ or -); /help lists the commands", MaxNickLen)})
	}
	r := ss.readLoop()
	ss.finish(r)
}

// readLoop reads and handles lines until the session must end, and
// returns why.
func (ss *session) readLoop() *reason {
	lr := newLineReader(ss.c, ss.maxLine)
	lr.tn = ss.tn // IRC clients do not speak telnet
	if ss.irc != nil {
		ircReader(lr)
		lr.tn = nil
	}
	var deadlineSet time.Time
	for {
		if ss.irc != nil {
			ss.ircDeadline()
		} else if ss.idleTimeout > 0 || !ss.registerBy.IsZero() {
			// Moving the deadline costs a little; doing it at most once a
			// second makes the idle timeout up to a second shorter.
			if now := time.Now(); now.Sub(deadlineSet) >= time.Second {
				ss.c.SetReadDeadline(ss.readDeadline(now))
				deadlineSet = now
			}
		}
		if ss.kicked.Load() { // after SetReadDeadline, so that no stop is missed
			return ss.reason()
		}
		line, err := lr.next()
		switch {
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
		case errors.Is(err, os.ErrDeadlineExceeded) && ss.irc != nil:
			if r := ss.ircTimeout(); r != nil {
				return r
			}
			continue
		case errors.Is(err, os.ErrDeadlineExceeded) && ss.unregistered(time.Now()):
			return &reason{ByeTimeout, "no nickname within " + ss.srv.set.registerTimeout.String(), "registration timeout"}
		case errors.Is(err, os.ErrDeadlineExceeded):
			return &reason{ByeIdle, "nothing received for " + ss.idleTimeout.String(), "idle"}
		case err == io.EOF:
			return &reason{ByeQuit, "connection closed", "connection closed"}
		default:
			return &reason{ByeQuit, "connection lost", "connection lost"}
		}
		if ss.lim != nil {
			if d := ss.lim.Reserve().Delay(); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-ss.kickCh:
					t.Stop()
					return ss.reason()
				}
			}
		}
		if ss.dialect == dialectSniff {
			ss.dialect = dialectPlain
			if ircFirstLine(line) {
				ss.startIRC()
				ircReader(lr)
				lr.tn = nil
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
			deadlineSet = time.Time{} // the registration deadline no longer applies
		}
	}
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
	if nick := ss.Nick(); nick != "" {
		if ss.room != "" {
			ss.srv.hub.Leave(ss.room, ss)
			ss.publish(ss.room, Event{Kind: KindQuit, Room: ss.room, Nick: nick, Text: r.quit})
		}
		ss.srv.releaseNick(ss, nick)
	}
	ss.closeQueue(r)
	<-ss.done // bounded by the write timeout, or by Close
	ss.mu.Lock()
	dead, why := ss.dead, ss.why
	ss.mu.Unlock()
	// The place is free once the client has its last line: the linger
	// below only waits for the client to go.
	ss.release()
	switch why.code {
	case ByeIdle, ByeTimeout:
		ss.srv.gate.Counters.Drop(admit.Idle)
	case ByeSlow:
		ss.srv.gate.Counters.Drop(admit.Slow)
	}
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
	ss.c.Close()
	ss.srv.log(slog.LevelInfo, "chat: session ended", "remote", ss.c.RemoteAddr(), "nick", ss.Nick(), "reason", why.code, "detail", why.bye)
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
