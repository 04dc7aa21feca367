package chat

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/logrec"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.Serve] after [Server.Shutdown]
// or [Server.Close], or once its context is cancelled (which starts the
// same graceful shutdown: every client gets "BYE shutdown").
var ErrServerClosed = errors.New("chat: server closed")

// Defaults for the zero fields of [Server].
const (
	DefaultRoom          = "lobby"
	DefaultMaxConns      = 1024
	DefaultMaxLineBytes  = 1024
	DefaultMaxQueueBytes = 256 << 10
	DefaultSendBuffer    = 64 << 10
	DefaultWriteTimeout  = 10 * time.Second
	DefaultIdleTimeout   = 10 * time.Minute
	DefaultLineRate      = 10 // lines per second, sustained
	DefaultLineBurst     = 20 // lines at once

	DefaultRegisterTimeout = 30 * time.Second
	DefaultShutdownTimeout = track.DefaultShutdownTimeout

	// MaxMaxLineBytes bounds MaxLineBytes.
	MaxMaxLineBytes = 1 << 20

	// With a zero WriteInterval, the interval grows with the number of
	// connections: AutoWriteIntervalPerConn for each, from
	// MinAutoWriteInterval to MaxAutoWriteInterval.
	AutoWriteIntervalPerConn = 20 * time.Microsecond
	MinAutoWriteInterval     = time.Millisecond
	MaxAutoWriteInterval     = 20 * time.Millisecond

	// lingerTime bounds how long a closing session waits for the client
	// to read its last line and close, and lingerBytes how much it reads
	// meanwhile.
	lingerTime  = 500 * time.Millisecond
	lingerBytes = 64 << 10
)

// Server is a multi-user chat server for plain text lines over TCP: a
// person joins with nc or telnet, a program with [Dial]. The protocol is
// described in the package documentation.
//
// The zero value is a working server with safe limits and a room called
// [DefaultRoom] that everyone starts in. One Server may run several
// [Server.Serve] calls at once; their clients share nicknames and rooms.
// A Server must not be copied after first use, nor reused after
// [Server.Shutdown] or [Server.Close].
type Server struct {
	// DefaultRoom is the room every client starts in. Empty means
	// DefaultRoom ("lobby"); it must be a valid room name ([ValidRoom]).
	DefaultRoom string

	// MaxConns bounds the connections open at once, over every Serve
	// call. A connection past the limit gets "BYE full ..." and is
	// closed. Zero means DefaultMaxConns; negative means no limit.
	//
	// An idle connection costs about 3 KiB of the server's memory on
	// Linux, where it waits parked, with no goroutine and no buffer
	// (2.8 KiB of RSS each, measured with 19,000 idle clients in rooms
	// of 50 by bench/chat.sh -hold: 100,000 would take about 280 MiB);
	// where it cannot be parked (on other systems, or without a
	// descriptor of its own, as with TLS) it keeps a goroutine and its
	// read buffer, about 9 KiB. The system's socket buffers come on top,
	// outside the process. A busy connection adds, only while it is
	// busy: a goroutine (a few KiB of stack) while it has input to
	// handle, its read buffer (MaxLineBytes) while a line is in progress,
	// and a writer goroutine and its queue (up to MaxQueueBytes) while
	// lines wait for it. A client that sends part of a line and waits
	// keeps that part. At the defaults, the idle connections take about
	// 3 MiB.
	MaxConns int

	// MaxConnsPerSource bounds the connections open at once from one IP
	// address (one /64 for IPv6), so that one host cannot take every
	// slot; further connections get "BYE full ..." too. Zero means a
	// twentieth of MaxConns, at least 8 (51 for the default MaxConns);
	// negative means no limit.
	MaxConnsPerSource int

	// RegisterTimeout disconnects, with "BYE timeout ...", a client that
	// has not taken a nickname this long after connecting, whatever else
	// it sends meanwhile: a connection cannot hold a slot without joining.
	// Zero means DefaultRegisterTimeout; negative means none.
	RegisterTimeout time.Duration

	// MaxLineBytes is the longest line a client may send, in bytes,
	// without its "\n" or "\r\n". A longer line is dropped with
	// "ERR too-long ..." and the session goes on; it is never held in
	// memory beyond this size. Zero means DefaultMaxLineBytes; at most
	// MaxMaxLineBytes.
	MaxLineBytes int

	// MaxQueueBytes bounds the bytes waiting to be written to one client,
	// including the batch being written. A client whose queue would grow
	// past it is disconnected with "BYE slow ...", so that it never holds
	// up anyone else. Zero means DefaultMaxQueueBytes. A queue takes
	// memory only while lines wait in it, so MaxConns times MaxQueueBytes
	// bounds the memory of all the queues together (256 MiB at the
	// defaults), which only clients that all stop reading at once reach.
	MaxQueueBytes int

	// SendBuffer is the size of the system's send buffer (SO_SNDBUF) of
	// each connection, in bytes. Together with MaxQueueBytes it bounds
	// what a client that stops reading can hold before it is
	// disconnected; left alone, Linux grows the buffer of such a client up
	// to 4 MiB. Zero means DefaultSendBuffer; negative leaves the
	// system's default.
	SendBuffer int

	// WriteTimeout bounds each write to a client; a client that reads
	// nothing for this long is disconnected. Zero means
	// DefaultWriteTimeout; negative means none (unsafe with untrusted
	// clients: only MaxQueueBytes protects the server then).
	WriteTimeout time.Duration

	// WriteInterval is the least time between two writes to one client:
	// lines that arrive meanwhile wait and go out together, in one system
	// call. A client that gets a line now and then gets it at once; a busy
	// one gets a batch at most every WriteInterval, which is what lets a
	// server deliver each line to a thousand busy clients without a
	// thousand system calls. Zero means an interval that grows with the
	// number of connections, so that the writes per second stay bounded:
	// AutoWriteIntervalPerConn per connection, at least
	// MinAutoWriteInterval and at most MaxAutoWriteInterval (1 ms up to
	// 50 connections, 20 ms from 1,000). Negative means write as soon as
	// a line is queued.
	WriteInterval time.Duration

	// IdleTimeout disconnects a client that sends nothing for this long,
	// with "BYE idle ...". Zero means DefaultIdleTimeout; negative means
	// none.
	IdleTimeout time.Duration

	// LineRate and LineBurst are the flood control: each client may send
	// LineBurst lines at once and LineRate lines per second after that.
	// Lines beyond it are not lost: the server reads the connection more
	// slowly, so TCP flow control holds the sender back. Zero means
	// DefaultLineRate and DefaultLineBurst; a negative LineRate means no
	// limit.
	LineRate  float64
	LineBurst int

	// QuitWords are lines that end the session like "/quit", compared
	// without regard to case or surrounding spaces; the tutorials used
	// "byebye" and "q". Nil means none: every other line is a message.
	QuitWords []string

	// Filter, if not nil, sees every message, action and private message
	// before it is delivered; it may change m.Text. If it returns an
	// error the message is dropped and the sender gets
	// "ERR rejected <error text>". It is called from the sender's
	// session goroutine, for many sessions at once.
	Filter func(m *Message) error

	// Hub carries the lines of each room to its members. Nil means a
	// [LocalHub] of this server's own.
	Hub Hub

	// ShutdownTimeout bounds the graceful shutdown that cancelling the
	// context given to Serve starts; when it runs out, the connections
	// left are closed. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Charset is the character set of plain-dialect clients until one
	// picks its own with "/charset NAME": what they send is decoded from
	// it and what they are sent is encoded in it, while the server works
	// in UTF-8 inside, so that clients of different charsets read each
	// other. Names are compared without regard to case and punctuation;
	// the package documentation lists the charsets ("Charsets"). Empty
	// means UTF-8; an unknown name makes Serve fail. IRC clients always
	// use UTF-8.
	Charset string

	// OperatorNick is the nickname of the operator's session
	// ([Server.ServeOperator]). No client can take it, whether or not
	// the operator is there. Empty means DefaultOperatorNick; it must be
	// a valid nickname ([ValidNick]).
	OperatorNick string

	// IRC configures the IRC dialect: server name, password, message of
	// the day and pings. The zero value works; see [IRCOptions].
	IRC IRCOptions

	// Logger, if not nil, receives a line for each session that starts
	// or ends (info), and for rejected connections and failures (warn).
	Logger *slog.Logger

	group    track.Group
	initOnce sync.Once
	set      settings // resolved once, by init
	setErr   error
	gate     *admit.Gate
	hub      Hub
	room     string

	parked  atomic.Int64                   // sessions parked now
	ircLast atomic.Pointer[ircTranslation] // the last room line translated for IRC

	mu    sync.Mutex
	nicks map[string]*session // by folded nickname
}

// Message is what [Server.Filter] sees: one message, action or private
// message about to be delivered.
type Message struct {
	Kind Kind     // KindMessage, KindAction or KindPrivate
	Room string   // the sender's room (empty for KindPrivate)
	From string   // the sender's nickname
	To   string   // the recipient's nickname, for KindPrivate
	Text string   // the text, already checked and cleaned; the filter may change it
	Addr net.Addr // the sender's remote address
}

// Shutdown stops the server gracefully: it closes every listener, sends
// every client "BYE shutdown ..." after what was already queued for it,
// waits for each to be written, closes the connections, and waits for
// every goroutine of the server to return. If ctx ends first, Shutdown
// closes what is left, waits for the goroutines, and returns ctx.Err().
// Serve returns [ErrServerClosed] at once.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.group.Shutdown(ctx)
}

// Close closes every listener and connection at once and waits for the
// server's goroutines to return. It is idempotent.
func (s *Server) Close() error {
	return s.group.Close()
}

// Stats counts what a [Server] has done since it started. In the shared
// [sockkit.Counters], Conns and ConnsTotal count connections (open now,
// and accepted), Requests the lines handled, BytesIn their bytes and
// BytesOut the bytes written to clients; Dropped.Full and
// Dropped.SourceFull count connections refused for MaxConns and
// MaxConnsPerSource, Dropped.Oversize and Malformed the lines refused as
// too long or not valid UTF-8, Dropped.Idle the sessions ended by the
// idle or registration timeout, and Dropped.Slow the clients
// disconnected for not reading.
type Stats struct {
	sockkit.Counters
	Nicks  int64 // nicknames taken now
	Parked int64 // sessions idle now, waiting with no goroutine (Linux)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.init()
	s.mu.Lock()
	nicks := len(s.nicks)
	s.mu.Unlock()
	return Stats{Counters: s.gate.Counters.Load(), Nicks: int64(nicks), Parked: s.parked.Load()}
}

// settings are the resolved fields of a Server.
type settings struct {
	maxLine, maxQueue, sendBuffer int
	writeTimeout, idleTimeout     time.Duration
	registerTimeout               time.Duration
	shutdownTimeout               time.Duration
	lineRate                      float64
	lineBurst                     int
	irc                           ircConfig
	charset                       *charset
	operator                      string // OperatorNick, folded
}

// log writes a record if there is a Logger (see [logrec.Log]).
func (s *Server) log(level slog.Level, msg string, args ...any) {
	logrec.Log(s.Logger, level, msg, args...)
}

// init resolves the settings, once; a bad one is reported by Serve.
func (s *Server) init() {
	s.initOnce.Do(func() {
		r := opt.New("chat")
		s.gate = admit.New(admit.Conns(r, s.MaxConns, s.MaxConnsPerSource, DefaultMaxConns))
		s.set = settings{
			maxLine:         opt.AtMost(r, "MaxLineBytes", s.MaxLineBytes, DefaultMaxLineBytes, MaxMaxLineBytes),
			maxQueue:        opt.Default(r, "MaxQueueBytes", s.MaxQueueBytes, DefaultMaxQueueBytes),
			sendBuffer:      opt.Unlimited(r, "SendBuffer", s.SendBuffer, DefaultSendBuffer),
			writeTimeout:    opt.Unlimited(r, "WriteTimeout", s.WriteTimeout, DefaultWriteTimeout),
			idleTimeout:     opt.Unlimited(r, "IdleTimeout", s.IdleTimeout, DefaultIdleTimeout),
			registerTimeout: opt.Unlimited(r, "RegisterTimeout", s.RegisterTimeout, DefaultRegisterTimeout),
			shutdownTimeout: opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, DefaultShutdownTimeout),
			lineRate:        opt.Unlimited(r, "LineRate", s.LineRate, DefaultLineRate),
			lineBurst:       opt.Default(r, "LineBurst", s.LineBurst, DefaultLineBurst),
		}
		s.set.irc = s.IRC.resolve(r)
		s.set.charset = resolveCharset(r, s.Charset)
		s.set.operator = fold(opt.Or(s.OperatorNick, DefaultOperatorNick))
		r.Check(ValidNick(s.set.operator), "OperatorNick", s.OperatorNick, "must be a valid nickname")
		s.hub = s.Hub
		if s.hub == nil {
			s.hub = new(LocalHub)
		}
		s.room = DefaultRoom
		if s.DefaultRoom != "" {
			s.room = fold(s.DefaultRoom)
		}
		r.Check(ValidRoom(s.room), "DefaultRoom", s.DefaultRoom, "must be a valid room name")
		s.nicks = make(map[string]*session)
		s.setErr = r.Err()
	})
}

// Serve accepts connections on l and runs a chat session on each until
// the client leaves, is disconnected, or the server stops. It always
// returns a non-nil error and closes l: a setting out of range, or
// [ErrServerClosed] after [Server.Shutdown], [Server.Close] or the
// cancelling of ctx, which starts the same graceful shutdown as Shutdown
// (every client gets "BYE shutdown"), bounded by ShutdownTimeout. Serve
// returns only when every session it started has ended.
//
// Clients on l may speak the plain dialect or IRC: the first line tells
// (see the package documentation). [Server.ServeIRC] serves IRC alone.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, l, dialectSniff)
}

func (s *Server) serve(ctx context.Context, l net.Listener, d dialect) error {
	s.init()
	return s.group.Run(ctx, l, nil, s.set.shutdownTimeout, s.setErr, ErrServerClosed, func(scope *track.Scope) error {
		onRetry := func(err error, delay time.Duration) {
			s.log(slog.LevelWarn, "chat: accept failed; retrying", "err", err, "delay", delay)
		}
		sv := s.newServing(scope, true)
		defer sv.close()
		for {
			c, err := scope.Accept(l, onRetry)
			if err != nil {
				return err
			}
			s.start(sv, c, d)
		}
	})
}

// start admits the connection c, accepted in sv's scope, and starts its
// session in dialect d.
func (s *Server) start(sv *serving, c net.Conn, d dialect) {
	ticket, why := s.gate.Conn(c.RemoteAddr())
	if why != admit.OK {
		text := "too many connections, try again later"
		if why == admit.SourceFull {
			text = "too many connections from your address"
		}
		s.log(slog.LevelWarn, "chat: connection refused: "+why.String(), "remote", c.RemoteAddr())
		// A read deadline too: over TLS the write first does the
		// handshake, which reads, and a client that never sends its
		// hello must not hold up the accept loop.
		c.SetDeadline(time.Now().Add(100 * time.Millisecond))
		c.Write(fullLine(d, text))
		c.Close()
		return
	}
	if sb := s.set.sendBuffer; sb > 0 {
		setWriteBuffer(c, sb)
	}
	ss := newSession(s, sv, c)
	ss.ticket = ticket
	ss.dialect = d
	ss.useParker()
	remove, ok := sv.scope.AddConn(c, ss.shutdown)
	if !ok {
		ss.ticket.Release()
		c.Close()
		return
	}
	ss.remove = remove
	ss.begin() // the session ends with remove() and ticket.Release()
}

// claimNick gives nick to ss if nobody else has it (in any case), here
// or, when the Hub is a [Directory], on another server, and releases the
// nickname ss had before. It reports whether it did.
func (s *Server) claimNick(ss *session, old, nick string) bool {
	k := fold(nick)
	s.mu.Lock()
	if other, ok := s.nicks[k]; ok && other != ss || k == s.set.operator && !ss.operator {
		s.mu.Unlock()
		return false
	}
	s.nicks[k] = ss // ss holds both while the Directory is asked
	s.mu.Unlock()
	ok := s.claimShared(ss, old, nick)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !ok && k != fold(old):
		delete(s.nicks, k)
	case ok && old != "" && k != fold(old):
		delete(s.nicks, fold(old))
	}
	return ok
}

// claimShared asks the Hub's Directory, if it is one, for nick.
func (s *Server) claimShared(ss *session, old, nick string) bool {
	d, ok := s.hub.(Directory)
	return !ok || d.Claim(ss, old, nick)
}

func (s *Server) releaseNick(ss *session, nick string) {
	s.mu.Lock()
	mine := s.nicks[fold(nick)] == ss
	if mine {
		delete(s.nicks, fold(nick))
	}
	s.mu.Unlock()
	if d, ok := s.hub.(Directory); ok && mine {
		d.Release(ss, nick)
	}
}

func (s *Server) lookupNick(nick string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nicks[fold(nick)]
}

// findNick reports whether anyone has nick: a client of this server
// (returned as local) or, when the Hub is a [Directory], of another one.
// name is the nickname as its owner spelled it.
func (s *Server) findNick(nick string) (name string, local *session, ok bool) {
	if p := s.lookupNick(nick); p != nil && p.joined() {
		return p.Nick(), p, true
	}
	if dir, isDir := s.hub.(Directory); isDir {
		name, ok = dir.Lookup(nick)
	}
	return name, nil, ok
}
