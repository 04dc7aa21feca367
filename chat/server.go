package chat

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.Serve] after [Server.Shutdown]
// or [Server.Close], and (wrapping the context's cause) when its context
// is cancelled.
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
	MaxConns int

	// MaxLineBytes is the longest line a client may send, in bytes,
	// without its "\n" or "\r\n". A longer line is dropped with
	// "ERR too-long ..." and the session goes on; it is never held in
	// memory beyond this size. Zero means DefaultMaxLineBytes.
	MaxLineBytes int

	// MaxQueueBytes bounds the bytes waiting to be written to one client,
	// including the batch being written. A client whose queue would grow
	// past it is disconnected with "BYE slow ...", so that it never holds
	// up anyone else. Zero means DefaultMaxQueueBytes.
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

	// IRC configures the IRC dialect: server name, password, message of
	// the day and pings. The zero value works; see [IRCOptions].
	IRC IRCOptions

	// Logger, if not nil, receives a line for each session that starts
	// or ends (info), and for rejected connections and failures (warn).
	Logger *slog.Logger

	group    track.Group
	initOnce sync.Once
	hub      Hub
	room     string
	conns    atomic.Int64

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

// Conns returns the number of connections open now.
func (s *Server) Conns() int { return int(s.conns.Load()) }

func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Log(context.Background(), level, msg, args...)
	}
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		s.hub = s.Hub
		if s.hub == nil {
			s.hub = new(LocalHub)
		}
		s.room = DefaultRoom
		if s.DefaultRoom != "" {
			s.room = fold(s.DefaultRoom)
		}
		s.nicks = make(map[string]*session)
	})
}

// Serve accepts connections on l and runs a chat session on each until
// the client leaves, is disconnected, or the server stops. It always
// returns a non-nil error and closes l. After [Server.Shutdown] or
// [Server.Close] the error is [ErrServerClosed]; cancelling ctx closes l
// and every connection accepted on it, and the error wraps both
// ErrServerClosed and the context's cause. Serve returns only when every
// session it started has ended.
//
// Clients on l may speak the plain dialect or IRC: the first line tells
// (see the package documentation). [Server.ServeIRC] serves IRC alone.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, l, dialectSniff)
}

func (s *Server) serve(ctx context.Context, l net.Listener, d dialect) error {
	s.init()
	if !ValidRoom(s.room) {
		l.Close()
		return errors.New("chat: invalid DefaultRoom " + s.DefaultRoom)
	}
	r := opt.New("chat")
	s.IRC.resolve(r)
	if err := r.Err(); err != nil {
		l.Close()
		return err
	}
	scope, err := s.group.Begin(ctx, l, nil, 0)
	if err != nil {
		return ErrServerClosed
	}
	maxConns := int64(opt.Or(s.MaxConns, DefaultMaxConns))
	onRetry := func(err error, delay time.Duration) {
		s.log(slog.LevelWarn, "chat: accept failed; retrying", "err", err, "delay", delay)
	}
	for {
		c, err := scope.Accept(l, onRetry)
		if err != nil {
			return scope.Finish(err, ErrServerClosed)
		}
		if n := s.conns.Add(1); maxConns > 0 && n > maxConns {
			s.conns.Add(-1)
			s.log(slog.LevelWarn, "chat: connection limit reached; closing", "remote", c.RemoteAddr(), "limit", maxConns)
			c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write(fullLine(d))
			c.Close()
			continue
		}
		if sb := opt.Or(s.SendBuffer, DefaultSendBuffer); sb > 0 {
			if tc, ok := c.(interface{ SetWriteBuffer(int) error }); ok {
				tc.SetWriteBuffer(sb)
			}
		}
		ss := newSession(s, c)
		ss.dialect = d
		remove, ok := scope.AddConn(c, ss.shutdown)
		if !ok {
			s.conns.Add(-1)
			c.Close()
			continue
		}
		if !scope.Go(func() {
			defer remove()
			ss.run() // ends with s.conns.Add(-1)
		}) {
			remove()
			s.conns.Add(-1)
			c.Close()
		}
	}
}

// claimNick gives nick to ss if nobody else has it (in any case), and
// releases the nickname ss had before. It reports whether it did.
func (s *Server) claimNick(ss *session, old, nick string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := fold(nick)
	if other, ok := s.nicks[k]; ok && other != ss {
		return false
	}
	if old != "" {
		delete(s.nicks, fold(old))
	}
	s.nicks[k] = ss
	return true
}

func (s *Server) releaseNick(ss *session, nick string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nicks[fold(nick)] == ss {
		delete(s.nicks, fold(nick))
	}
}

func (s *Server) lookupNick(nick string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nicks[fold(nick)]
}
