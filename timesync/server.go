package timesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/textsafe"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.ServePacket] after
// [Server.Shutdown] or [Server.Close], and (wrapping the context's cause)
// when its context is cancelled.
var ErrServerClosed = errors.New("timesync: server closed")

// Defaults for the zero fields of [Server].
const (
	DefaultStratum          = 1
	DefaultRefID            = "LOCL"
	DefaultPrecision        = -20 // about a microsecond
	DefaultMaxFormat        = 256
	DefaultMaxDatagram      = 2048
	DefaultPacketsPerSecond = 2
	DefaultPacketBurst      = 16
	DefaultMaxSources       = ratelimit.DefaultMaxSources
)

// Kiss-o'-Death replies are limited per source too, so that a flood of
// spoofed requests cannot turn them into a reflected flood.
const (
	kodPerSecond = 0.5
	kodBurst     = 2
)

// errorByte starts every error reply of the format service (ASCII NAK).
// A formatted time never starts with it: formats may not contain control
// characters, and no conversion produces one.
const errorByte = 0x15

// Services selects what a [Server] answers.
type Services uint8

// The services of a [Server]; zero means both.
const (
	ServeNTP    Services = 1 << iota // SNTPv4 server: NTP client requests (mode 3)
	ServeFormat                      // the format service: strftime formats as text
)

// Server answers NTP client requests (SNTPv4, RFC 4330 and RFC 5905) and
// the requests of the format service, on the same packet conn. How a
// datagram is told to be one or the other is in the package
// documentation.
//
// The zero value is a working server with safe limits: a stratum 1
// server whose reference is the system clock ("LOCL"), with per-source
// rate limits. One Server may run several [Server.ServePacket] calls at
// once. A Server must not be copied after first use, nor reused after
// [Server.Shutdown] or [Server.Close].
type Server struct {
	// Services selects the services answered; datagrams of the other are
	// dropped. Zero means both.
	Services Services

	// Stratum is sent in every NTP reply, 1 (a primary server) to 15.
	// Zero means DefaultStratum.
	Stratum uint8

	// RefID is the reference ID sent in every NTP reply: up to four ASCII
	// characters naming the source of a stratum 1 server (such as "GPS"
	// or "PPS"), or the IPv4 address of the upstream server, as four
	// bytes, for higher strata. Longer strings are cut to four bytes;
	// shorter ones are padded with zero bytes. Empty means DefaultRefID.
	RefID string

	// Precision is the precision of the clock, as log2 seconds. Zero
	// means DefaultPrecision.
	Precision int8

	// RootDelay and RootDispersion are the server's total round-trip
	// delay and dispersion to the primary reference. They default to 0,
	// right for a server whose reference is its own clock.
	RootDelay, RootDispersion time.Duration

	// Leap is the leap indicator sent in every reply. The default,
	// LeapNone, says that the clock is synchronised and no leap second is
	// due. LeapNotSynchronized makes every client ignore the server.
	Leap LeapIndicator

	// Location is the time zone of the format service. Nil means
	// [time.Local].
	Location *time.Location

	// MaxFormat bounds the length in bytes of a format. Longer formats get
	// an error reply. Zero or negative means DefaultMaxFormat.
	MaxFormat int

	// MaxDatagram is the largest datagram read; larger ones are dropped
	// whole. Zero or negative means DefaultMaxDatagram.
	MaxDatagram int

	// PacketsPerSecond and PacketBurst limit the datagrams answered per
	// source address (per /64 for IPv6). An NTP request past the limit
	// gets a Kiss-o'-Death "RATE" reply (themselves limited to one every
	// two seconds per source) or nothing; a format request past it gets
	// nothing. Zero means DefaultPacketsPerSecond and DefaultPacketBurst;
	// a negative PacketsPerSecond means no limit (for benchmarks and
	// trusted networks only).
	PacketsPerSecond float64
	PacketBurst      int

	// MaxSources bounds the rate limiter's table of source addresses.
	// Zero means DefaultMaxSources.
	MaxSources int

	// Now, if not nil, is the server's clock, for tests. Nil means the
	// system clock, read by the kernel as each datagram arrives where the
	// system allows (SO_TIMESTAMPNS on Linux).
	Now func() time.Time

	// Logger, if not nil, receives one line per dropped datagram, at debug
	// level, and per failed send.
	Logger *slog.Logger

	group    track.Group
	initOnce sync.Once
	limiter  *ratelimit.Limiter
	kod      *ratelimit.Limiter
	refID    [4]byte
	stats    stats
}

// Stats counts what a [Server] has done since it started.
type Stats struct {
	NTPReplies       int64 // NTP server replies sent
	KissOfDeath      int64 // Kiss-o'-Death RATE replies sent
	FormatReplies    int64 // formatted times sent
	FormatErrors     int64 // format service error replies sent
	DroppedRate      int64 // datagrams past their source's rate, not answered
	DroppedMalformed int64 // datagrams of neither service, or malformed: dropped
	DroppedPort      int64 // format requests from port 0 or below 1024
}

type stats struct {
	ntp, kod, format, formatErr, rate, malformed, port atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		NTPReplies:       s.stats.ntp.Load(),
		KissOfDeath:      s.stats.kod.Load(),
		FormatReplies:    s.stats.format.Load(),
		FormatErrors:     s.stats.formatErr.Load(),
		DroppedRate:      s.stats.rate.Load(),
		DroppedMalformed: s.stats.malformed.Load(),
		DroppedPort:      s.stats.port.Load(),
	}
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		pps := opt.Or(s.PacketsPerSecond, DefaultPacketsPerSecond)
		if pps > 0 {
			maxSources := opt.Or(s.MaxSources, DefaultMaxSources)
			s.limiter = ratelimit.New(ratelimit.Config{
				Rate:       rate.Limit(pps),
				Burst:      opt.Or(s.PacketBurst, DefaultPacketBurst),
				MaxSources: maxSources,
			})
			s.kod = ratelimit.New(ratelimit.Config{Rate: kodPerSecond, Burst: kodBurst, MaxSources: maxSources})
		}
		id := s.RefID
		if id == "" {
			id = DefaultRefID
		}
		copy(s.refID[:], id)
	})
}

func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.Logger != nil {
		s.Logger.Log(context.Background(), level, msg, args...)
	}
}

// Shutdown stops the server gracefully: it stops reading datagrams, lets
// the replies being sent go out, and waits for every ServePacket call to
// return. If ctx ends first, it closes the packet conns and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error { return s.group.Shutdown(ctx) }

// Close closes every packet conn at once and waits for the server's
// ServePacket calls to return. It is idempotent.
func (s *Server) Close() error { return s.group.Close() }

// ServePacket answers the datagrams that arrive on pc until the server
// stops: NTP client requests get NTP server replies, formats get the
// time, and everything else is dropped; see the package documentation.
// On a *net.UDPConn on Linux it asks the kernel to timestamp each
// datagram as it arrives.
//
// ServePacket always returns a non-nil error and closes pc; the error is
// [ErrServerClosed] after [Server.Shutdown] or [Server.Close], and wraps
// ErrServerClosed and the context's cause when ctx is cancelled.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init()
	scope, err := s.group.Begin(ctx, pc, func() { pc.SetReadDeadline(time.Unix(1, 0)) })
	if err != nil {
		return ErrServerClosed
	}
	if s.Stratum > 15 {
		pc.Close()
		return scope.Finish(fmt.Errorf("timesync: stratum %d is not 1 to 15", s.Stratum), ErrServerClosed)
	}
	dc := newDgramConn(pc, s.Now)
	maxSize := s.MaxDatagram
	if maxSize <= 0 {
		maxSize = DefaultMaxDatagram
	}
	if bc := newBatchConn(dc); bc != nil {
		return scope.Finish(s.serveBatch(ctx, pc, dc, bc, maxSize), ErrServerClosed)
	}
	in := make([]byte, maxSize+1) // one byte more, to see datagrams that are too large
	out := make([]byte, 0, maxSize)
	for {
		n, from, rx, truncated, err := dc.read(in)
		if err != nil {
			if s.readFailed(ctx, pc, err) {
				return scope.Finish(err, ErrServerClosed)
			}
			continue
		}
		if truncated {
			s.drop(&s.stats.malformed, "datagram too large", from)
			continue
		}
		reply, stamp := s.answer(out[:0], in[:n], from, rx)
		if len(reply) == 0 {
			continue
		}
		if stamp {
			putTransmit(reply, TimestampOf(dc.now()))
		}
		if err := dc.write(reply, from); err != nil {
			s.log(slog.LevelDebug, "timesync: reply not sent", "remote", from.String(), "err", err)
		}
	}
}

// readFailed reports whether a read error ends ServePacket, and clears
// what passes: a deadline set by someone else, an ICMP error about an
// earlier reply, a passing shortage of buffers.
func (s *Server) readFailed(ctx context.Context, pc net.PacketConn, err error) bool {
	if s.group.ShuttingDown() || ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Someone else set a deadline on pc; it is not ours to keep.
		// Shutdown may have set its own meanwhile: look again after
		// clearing, or its deadline would be lost.
		pc.SetReadDeadline(time.Time{})
		return s.group.ShuttingDown() || ctx.Err() != nil
	}
	return !errors.Is(err, syscall.ECONNREFUSED) && !track.Temporary(err)
}

func (s *Server) drop(counter *atomic.Int64, why string, from peer) {
	counter.Add(1)
	if s.Logger != nil {
		s.log(slog.LevelDebug, "timesync: datagram dropped: "+why, "remote", from.String())
	}
}

// allow takes one datagram from the rate of the source.
func (s *Server) allow(l *ratelimit.Limiter, from peer, now time.Time) bool {
	if l == nil {
		return true
	}
	if from.addr != nil {
		return l.AllowN(now, ratelimit.Key(from.addr), 1)
	}
	return l.AllowN(now, ratelimit.KeyIP(from.ap.Addr()), 1)
}

// answer returns the reply to the datagram req, appended to out, or
// nothing. stamp reports an NTP reply whose transmit timestamp the caller
// must fill in just before sending it. The rule that tells NTP from the
// format service is the one of the package documentation.
func (s *Server) answer(out, req []byte, from peer, rx time.Time) (reply []byte, stamp bool) {
	services := s.Services
	if services == 0 {
		services = ServeNTP | ServeFormat
	}
	if isNTPRequestHeader(req) {
		if services&ServeNTP == 0 {
			s.drop(&s.stats.malformed, "NTP service off", from)
			return nil, false
		}
		return s.answerNTP(out, req, from, rx)
	}
	if services&ServeFormat == 0 {
		s.drop(&s.stats.malformed, "not an NTP client request", from)
		return nil, false
	}
	return s.answerFormat(out, req, from, rx), false
}

// answerNTP answers an NTP client request, whose first byte has already
// been checked. The transmit timestamp of a normal reply is left for the
// caller to fill in (stamp), just before the reply is sent.
func (s *Server) answerNTP(out, req []byte, from peer, rx time.Time) (reply []byte, stamp bool) {
	var q Packet
	if err := q.UnmarshalBinary(req); err != nil {
		s.drop(&s.stats.malformed, err.Error(), from)
		return nil, false
	}
	if q.Transmit.IsZero() {
		s.drop(&s.stats.malformed, "NTP request without transmit timestamp", from)
		return nil, false
	}
	if from.port() == 0 {
		// No real client sends from port 0, and Linux refuses to send to it.
		s.drop(&s.stats.port, "NTP request from port 0", from)
		return nil, false
	}
	r := Packet{
		Version: q.Version,
		Mode:    ModeServer,
		Poll:    q.Poll,
		Origin:  q.Transmit,
	}
	if !s.allow(s.limiter, from, rx) {
		if !s.allow(s.kod, from, rx) {
			s.drop(&s.stats.rate, "source over its rate", from)
			return nil, false
		}
		// Kiss-o'-Death (RFC 5905, section 7.4): no time in it, only the
		// origin a client needs to match it to its request.
		r.Leap = LeapNotSynchronized
		r.Stratum = 0
		r.RefID = [4]byte{'R', 'A', 'T', 'E'}
		r.Receive = q.Transmit
		r.Transmit = q.Transmit
		s.stats.kod.Add(1)
		out, _ = r.AppendBinary(out)
		return out, false
	}
	r.Leap = s.Leap
	r.Stratum = uint8(opt.Or(int(s.Stratum), DefaultStratum))
	r.Precision = int8(opt.Or(int(s.Precision), DefaultPrecision))
	r.RootDelay = ShortOf(s.RootDelay)
	r.RootDispersion = ShortOf(s.RootDispersion)
	r.RefID = s.refID
	// The reference time: the last whole second, which is never after
	// the receive time and never stale; the second before at the start of
	// an era, where the timestamp would be 0, which means "never".
	ref := rx.Truncate(time.Second)
	if r.Reference = TimestampOf(ref); r.Reference.IsZero() {
		r.Reference = TimestampOf(ref.Add(-time.Second))
	}
	r.Receive = TimestampOf(rx)
	out, _ = r.AppendBinary(out)
	s.stats.ntp.Add(1)
	return out, true
}

// answerFormat answers a request of the format service: a format,
// optionally followed by a NUL byte and padding.
func (s *Server) answerFormat(out, req []byte, from peer, rx time.Time) []byte {
	if p := from.port(); p >= 0 && p < 1024 {
		s.drop(&s.stats.port, "format request from a service port", from)
		return nil
	}
	text := req
	if i := bytes.IndexByte(req, 0); i >= 0 {
		text = req[:i]
	}
	if len(text) == 0 || textsafe.Check(string(text)) != nil {
		s.drop(&s.stats.malformed, "neither NTP nor a format", from)
		return nil
	}
	if !bytes.ContainsRune(text, '%') {
		// A format with no conversion is text that would come back as
		// itself, such as a time another server formatted: answering it
		// would let one spoofed datagram set two text services talking to
		// each other forever.
		s.drop(&s.stats.malformed, "format without a conversion", from)
		return nil
	}
	if !s.allow(s.limiter, from, rx) {
		s.drop(&s.stats.rate, "source over its rate", from)
		return nil
	}
	max := s.MaxFormat
	if max <= 0 {
		max = DefaultMaxFormat
	}
	if len(text) > max {
		return s.errorReply(out, len(req), fmt.Sprintf("format too long: %d bytes, at most %d", len(text), max))
	}
	cs, err := parseFormat(string(text))
	if err != nil {
		return s.errorReply(out, len(req), err.(*FormatError).Reason)
	}
	loc := s.Location
	if loc == nil {
		loc = time.Local
	}
	out = appendConvs(out, cs, rx.In(loc))
	if len(out) > len(req) {
		return s.errorReply(out[:0], len(req), fmt.Sprintf("reply too large: %d bytes, request %d", len(out), len(req)))
	}
	s.stats.format.Add(1)
	return out
}

// errorReply appends an error reply of the format service, cut to size
// bytes so that it is never larger than its request.
func (s *Server) errorReply(out []byte, size int, reason string) []byte {
	out = append(out, errorByte)
	out = append(out, reason...)
	s.stats.formatErr.Add(1)
	return out[:min(len(out), size)]
}
