package echo

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/logrec"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.Serve] and [Server.ServePacket]
// after [Server.Shutdown] or [Server.Close], or once their context is
// cancelled (which starts a graceful shutdown).
var ErrServerClosed = errors.New("echo: server closed")

// Defaults for the zero fields of [Server].
const (
	DefaultMaxConns         = 10000
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultWriteTimeout     = 30 * time.Second
	DefaultBufferSize       = 64 << 10
	DefaultMaxDatagram      = 8192
	DefaultPacketsPerSecond = 100
	DefaultPacketBurst      = 200
	DefaultMaxSources       = ratelimit.DefaultMaxSources
	DefaultShutdownTimeout  = track.DefaultShutdownTimeout

	// MaxDatagramLimit is the largest UDP payload over IPv4.
	MaxDatagramLimit = 65507

	// MaxBufferSize bounds BufferSize.
	MaxBufferSize = 16 << 20

	// AmplificationFactor bounds every datagram reply: at most this many
	// times the bytes of its request, counted on the wire with 28 bytes
	// of IPv4 and UDP headers (the anti-amplification limit of QUIC, RFC
	// 9000 section 8.1, which every sockkit server applies to sources
	// that have not proven their address; see the package doc). Larger
	// replies are dropped, so the server cannot amplify traffic towards a
	// spoofed source, and the per-source rate limit bounds how many there
	// are.
	AmplificationFactor = admit.Factor
)

// Server is an echo server (RFC 862) for TCP and UDP. Every byte that
// arrives goes back, in order, optionally passed through a transform.
//
// The zero value is a working server with safe limits. One Server may
// run several [Server.Serve] and [Server.ServePacket] calls at once, on
// any mix of listeners and packet conns. A Server must not be copied
// after first use, nor reused after [Server.Shutdown] or [Server.Close].
type Server struct {
	// Transform, if not nil, makes the transformer that the bytes of one
	// TCP connection, or of one datagram, go through before they are sent
	// back; it is called once per connection, because a transformer keeps
	// state (a character split across two reads, for one). [Upper] is one.
	// Nil sends every byte back unchanged.
	Transform func() transform.Transformer

	// PacketHandler, if not nil, answers datagrams instead of the echo;
	// see [PacketHandler] and [Hello]. It does not apply to TCP.
	PacketHandler PacketHandler

	// Greeting, if not empty, makes Serve the tutorials' TCP greeting
	// server instead of an echo: each connection is sent Greeting and a
	// line feed (unless Greeting ends with one), then closed as soon as
	// the client closes its side too, or after a second at most; what the
	// client sends is dropped. Transform does not apply; ServePacket is
	// unaffected.
	Greeting string

	// MaxConns bounds the TCP connections open at once, over every
	// Serve call. A connection past the limit is closed as soon as it is
	// accepted. Zero means DefaultMaxConns; negative means no limit.
	MaxConns int

	// MaxConnsPerSource bounds the TCP connections open at once from one
	// IP address (one /64 for IPv6), so that one host cannot take every
	// slot. Zero means a twentieth of MaxConns, at least 8 (500 for the
	// default MaxConns); negative means no limit.
	MaxConnsPerSource int

	// IdleTimeout closes a TCP connection that sends nothing for this
	// long. Zero means DefaultIdleTimeout; negative means none.
	IdleTimeout time.Duration

	// WriteTimeout bounds each write back to a TCP peer: a peer that
	// stops reading is disconnected after it, so it can hold at most one
	// buffer of the server's memory. Zero means DefaultWriteTimeout;
	// negative means none (unsafe with untrusted peers).
	WriteTimeout time.Duration

	// BufferSize is the size of the buffer a TCP connection borrows
	// while data flows; an idle connection holds none. Zero means
	// DefaultBufferSize; at most MaxBufferSize.
	BufferSize int

	// MaxDatagram is the largest datagram answered. Larger datagrams,
	// which might otherwise be echoed cut short, are dropped whole. Zero
	// means DefaultMaxDatagram; at most MaxDatagramLimit.
	MaxDatagram int

	// PacketsPerSecond and PacketBurst limit the datagrams answered per
	// source address (per /64 for IPv6); datagrams past the limit are
	// dropped. Zero means DefaultPacketsPerSecond and DefaultPacketBurst;
	// a negative PacketsPerSecond means no limit (only for trusted
	// networks: it makes the server a reflector).
	PacketsPerSecond float64
	PacketBurst      int

	// MaxSources bounds the rate limiter's table of source addresses.
	// Zero means DefaultMaxSources.
	MaxSources int

	// AllowLowPorts lets the server answer datagrams from source ports
	// below 1024. By default they are dropped: such ports belong to
	// services (echo, chargen, DNS, NTP...) that answer whatever they are
	// sent, and answering them would let a spoofed datagram start an
	// endless loop between the two servers. Source port 0 is always
	// dropped.
	AllowLowPorts bool

	// ShutdownTimeout bounds the graceful shutdown that cancelling the
	// context given to Serve or ServePacket starts; when it runs out, the
	// connections left are closed. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Logger, if not nil, receives one line per rejected connection,
	// dropped datagram and failed connection, at debug or warn level.
	Logger *slog.Logger

	group    track.Group
	parked   atomic.Int64
	initOnce sync.Once
	set      settings // resolved once, by init
	setErr   error
	bufs     sync.Pool // *[]byte of BufferSize, lent to TCP connections
	gate     *admit.Gate
	bytes    atomic.Int64 // bytes sent back over TCP
}

// settings are the resolved fields of a Server.
type settings struct {
	maxDatagram     int
	shutdownTimeout time.Duration
}

// Stats counts what a [Server] has done since it started. In the shared
// [sockkit.Counters], Conns and ConnsTotal count TCP connections (open
// now, and accepted), Requests the datagrams answered, BytesOut the bytes
// sent back over TCP and UDP and BytesIn those received over UDP;
// Dropped.Full and Dropped.SourceFull count TCP connections closed at once
// for MaxConns and MaxConnsPerSource, and Dropped.Oversize, Rate, Port and
// Amplification the datagrams not answered and why.
type Stats struct {
	sockkit.Counters
	Parked int64 // TCP connections idle now, waiting with no goroutine (Linux)
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.init()
	st := Stats{Counters: s.gate.Counters.Load(), Parked: s.parked.Load()}
	st.BytesOut += s.bytes.Load()
	return st
}

// Shutdown stops the server gracefully: it closes every listener, stops
// reading datagrams, lets each TCP connection send back what it has
// already received, closes it, and waits for every goroutine of the
// server to return. If ctx ends first, Shutdown closes what is left,
// waits for the goroutines, and returns ctx.Err().
//
// Serve and ServePacket return [ErrServerClosed] at once.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.group.Shutdown(ctx)
}

// Close closes every listener, packet conn and connection at once and
// waits for the server's goroutines to return. It is idempotent.
func (s *Server) Close() error {
	return s.group.Close()
}

// log writes a record if there is a Logger (see [logrec.Log]).
func (s *Server) log(level slog.Level, msg string, args ...any) {
	logrec.Log(s.Logger, level, msg, args...)
}

// Serve accepts TCP connections on l and echoes each one until the peer
// closes it, it idles out, or the server stops. It always returns a
// non-nil error and closes l: a setting out of range, or
// [ErrServerClosed] after [Server.Shutdown], [Server.Close], or the
// cancelling of ctx, which starts the same graceful shutdown as Shutdown,
// bounded by ShutdownTimeout. Serve returns only when every connection it
// accepted has ended.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.init()
	return s.group.Run(ctx, l, nil, s.set.shutdownTimeout, s.setErr, ErrServerClosed, func(scope *track.Scope) error {
		p := newPoller(scope)
		defer p.Close()
		onRetry := func(err error, delay time.Duration) {
			s.log(slog.LevelWarn, "echo: accept failed; retrying", "err", err, "delay", delay)
		}
		for {
			c, err := scope.Accept(l, onRetry)
			if err != nil {
				return err
			}
			s.start(scope, p, c)
		}
	})
}

// start admits c, accepted in scope, and echoes it: parked until its first
// bytes where p can, in a goroutine of its own otherwise.
func (s *Server) start(scope *track.Scope, p *park.Poller, c net.Conn) {
	ticket, why := s.gate.Conn(c.RemoteAddr())
	if why != admit.OK {
		s.log(slog.LevelWarn, "echo: connection refused: "+why.String(), "remote", c.RemoteAddr())
		c.Close()
		return
	}
	if s.Greeting != "" {
		s.greet(scope, c, ticket)
		return
	}
	sc := s.newStreamConn(c)
	sc.ticket = ticket
	remove, ok := scope.AddConn(c, sc.shutdown)
	if !ok {
		sc.ticket.Release()
		c.Close()
		return
	}
	sc.scope = scope
	sc.remove = remove
	sc.useParker(p)
	// A new connection waits for its first bytes parked, with no
	// goroutine: connections that are opened and left idle cost the least
	// that way.
	if sc.parking.Registered() && sc.park() {
		return
	}
	if !scope.Go(sc.run) {
		sc.end()
	}
}

// init resolves the settings and sets up what they configure, once; a bad
// setting is reported by Serve and ServePacket.
func (s *Server) init() {
	s.initOnce.Do(func() {
		r := opt.New("echo")
		gate := admit.Conns(r, s.MaxConns, s.MaxConnsPerSource, DefaultMaxConns)
		opt.Unlimited(r, "IdleTimeout", s.IdleTimeout, DefaultIdleTimeout)
		opt.Unlimited(r, "WriteTimeout", s.WriteTimeout, DefaultWriteTimeout)
		size := opt.AtMost(r, "BufferSize", s.BufferSize, DefaultBufferSize, MaxBufferSize)
		s.set = settings{
			maxDatagram:     opt.AtMost(r, "MaxDatagram", s.MaxDatagram, DefaultMaxDatagram, MaxDatagramLimit),
			shutdownTimeout: opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, DefaultShutdownTimeout),
		}
		gate.AllowLowPorts = s.AllowLowPorts
		gate.Rate = opt.Unlimited(r, "PacketsPerSecond", s.PacketsPerSecond, DefaultPacketsPerSecond)
		gate.Burst = opt.Default(r, "PacketBurst", s.PacketBurst, DefaultPacketBurst)
		gate.MaxSources = opt.Default(r, "MaxSources", s.MaxSources, DefaultMaxSources)
		s.gate = admit.New(gate)
		s.bufs.New = func() any {
			b := make([]byte, size)
			return &b
		}
		s.setErr = r.Err()
	})
}
