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
	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.Serve] and [Server.ServePacket]
// after [Server.Shutdown] or [Server.Close], and (wrapping the context's
// cause) when their context is cancelled.
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

	// MaxDatagramLimit is the largest UDP payload over IPv4.
	MaxDatagramLimit = 65507

	// ReplySlack is how many bytes a datagram reply may exceed its
	// request by. Replies larger than that are dropped, so the server
	// cannot amplify traffic towards a spoofed source: with the 28 bytes
	// of IPv4 and UDP headers, a reply is at most (29+16)/29 ≈ 1.55 times
	// its request on the wire, and the per-source rate limit bounds how
	// many there are.
	ReplySlack = 16
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

	// MaxConns bounds the TCP connections open at once, over every
	// Serve call. A connection past the limit is closed as soon as it is
	// accepted. Zero means DefaultMaxConns; negative means no limit.
	MaxConns int

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
	// DefaultBufferSize.
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

	// Logger, if not nil, receives one line per rejected connection,
	// dropped datagram and failed connection, at debug or warn level.
	Logger *slog.Logger

	group    track.Group
	parked   atomic.Int64
	initOnce sync.Once
	bufs     sync.Pool // *[]byte of BufferSize, lent to TCP connections
	limiter  *ratelimit.Limiter
	conns    atomic.Int64
	stats    stats
}

// Stats counts what a [Server] has done. All fields are totals since the
// server started, except Conns.
type Stats struct {
	Conns           int64 // TCP connections open now
	Parked          int64 // of which idle, waiting with no goroutine (Linux)
	Accepted        int64 // TCP connections accepted
	Rejected        int64 // TCP connections closed at once for MaxConns
	BytesEchoed     int64 // bytes sent back over TCP
	Datagrams       int64 // datagrams answered
	DroppedOversize int64 // datagrams larger than MaxDatagram
	DroppedRate     int64 // datagrams past a source's rate limit
	DroppedPort     int64 // datagrams from port 0 or, by default, below 1024
	DroppedReply    int64 // datagrams whose reply was empty or too large
}

type stats struct {
	accepted, rejected, bytes              atomic.Int64
	datagrams, oversize, rate, port, reply atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Conns:           s.conns.Load(),
		Parked:          s.parked.Load(),
		Accepted:        s.stats.accepted.Load(),
		Rejected:        s.stats.rejected.Load(),
		BytesEchoed:     s.stats.bytes.Load(),
		Datagrams:       s.stats.datagrams.Load(),
		DroppedOversize: s.stats.oversize.Load(),
		DroppedRate:     s.stats.rate.Load(),
		DroppedPort:     s.stats.port.Load(),
		DroppedReply:    s.stats.reply.Load(),
	}
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

func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Log(context.Background(), level, msg, args...)
	}
}

// Serve accepts TCP connections on l and echoes each one until the peer
// closes it, it idles out, or the server stops. It always returns a
// non-nil error and closes l. After [Server.Shutdown] or [Server.Close]
// the error is [ErrServerClosed]; cancelling ctx closes l and every
// connection accepted on it, and the error wraps both ErrServerClosed
// and the context's cause. Serve returns only when every connection it
// accepted has ended.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.init()
	scope, err := s.group.Begin(ctx, l, nil)
	if err != nil {
		return ErrServerClosed
	}
	maxConns := int64(opt.Or(s.MaxConns, DefaultMaxConns))
	p := newPoller(scope)
	onRetry := func(err error, delay time.Duration) {
		s.log(slog.LevelWarn, "echo: accept failed; retrying", "err", err, "delay", delay)
	}
	for {
		c, err := scope.Accept(l, onRetry)
		if err != nil {
			p.Close()
			return scope.Finish(err, ErrServerClosed)
		}
		if n := s.conns.Add(1); maxConns > 0 && n > maxConns {
			s.conns.Add(-1)
			s.stats.rejected.Add(1)
			s.log(slog.LevelWarn, "echo: connection limit reached; closing", "remote", c.RemoteAddr(), "limit", maxConns)
			c.Close()
			continue
		}
		s.stats.accepted.Add(1)
		sc := s.newStreamConn(c)
		remove, ok := scope.AddConn(c, sc.shutdown)
		if !ok {
			s.conns.Add(-1)
			c.Close()
			continue
		}
		sc.scope = scope
		sc.cleanup = func() {
			remove()
			s.conns.Add(-1)
		}
		sc.useParker(p)
		// A new connection waits for its first bytes parked, with no
		// goroutine: connections that are opened and left idle cost the
		// least that way.
		if sc.parking.Registered() && sc.park() {
			continue
		}
		if !scope.Go(sc.run) {
			sc.end()
		}
	}
}

// init sets up what the fields configure, once.
func (s *Server) init() {
	s.initOnce.Do(func() {
		size := opt.Or(s.BufferSize, DefaultBufferSize)
		s.bufs.New = func() any {
			b := make([]byte, size)
			return &b
		}
		pps := opt.Or(s.PacketsPerSecond, DefaultPacketsPerSecond)
		if pps > 0 {
			s.limiter = ratelimit.New(ratelimit.Config{
				Rate:       rate.Limit(pps),
				Burst:      opt.Or(s.PacketBurst, DefaultPacketBurst),
				MaxSources: opt.Or(s.MaxSources, DefaultMaxSources),
			})
		}
	})
}
