package timesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/dgram"
	"github.com/sockkit/sockkit/internal/logrec"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/textsafe"
	"github.com/sockkit/sockkit/internal/track"
)

// ErrServerClosed is returned by [Server.ServePacket] after
// [Server.Shutdown] or [Server.Close], or once its context is cancelled.
var ErrServerClosed = errors.New("timesync: server closed")

// Defaults for the zero fields of [Server].
const (
	DefaultStratum          = 1
	DefaultRefID            = "LOCL"
	DefaultPrecision        = -20 // about a microsecond
	DefaultMaxFormat        = 256
	DefaultMaxDatagram      = 2048
	DefaultPacketsPerSecond = 8
	DefaultPacketBurst      = 16
	DefaultMaxSources       = ratelimit.DefaultMaxSources
	DefaultShutdownTimeout  = track.DefaultShutdownTimeout
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

	// MaxFormat bounds the length in bytes of a format, 1 to 65,507. Longer
	// formats get an error reply. Zero means DefaultMaxFormat.
	MaxFormat int

	// MaxDatagram is the largest datagram read, 48 (an NTP packet) to
	// 65,507; larger ones are dropped whole. Zero means DefaultMaxDatagram.
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

	// ShutdownTimeout bounds the graceful shutdown that cancelling the
	// context given to ServePacket starts. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Now, if not nil, is the server's clock, for tests. Nil means the
	// system clock, read by the kernel as each datagram arrives where the
	// system allows (SO_TIMESTAMPNS on Linux).
	Now func() time.Time

	// Logger, if not nil, receives one line per dropped datagram, at debug
	// level, and per failed send.
	Logger *slog.Logger

	group    track.Group
	initOnce sync.Once
	set      settings // resolved once, by init
	setErr   error
	gate     *admit.Gate
	kod      *ratelimit.Limiter
	stats    stats
}

// settings are the resolved fields of a Server.
type settings struct {
	services               Services
	stratum                uint8
	precision              int8
	refID                  [4]byte
	maxFormat, maxDatagram int
	shutdownTimeout        time.Duration
	loc                    *time.Location
}

// Stats counts what a [Server] has done since it started. In the shared
// [sockkit.Counters], Requests counts the datagrams answered (NTP and
// format replies, Kiss-o'-Death and error replies included); Conns and
// ConnsTotal stay zero, since the server keeps no state per source.
// Dropped.Rate counts requests past their source's rate that got no
// reply at all, Dropped.Port format requests from port 0 or below 1024
// (and NTP requests from port 0), Dropped.Malformed datagrams of neither
// service, and Dropped.Oversize datagrams larger than MaxDatagram.
type Stats struct {
	sockkit.Counters
	NTPReplies    int64 // NTP server replies sent
	KissOfDeath   int64 // Kiss-o'-Death RATE replies sent
	FormatReplies int64 // formatted times sent
	FormatErrors  int64 // format service error replies sent
}

type stats struct {
	ntp, kod, format, formatErr atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.init()
	return Stats{
		Counters:      s.gate.Counters.Load(),
		NTPReplies:    s.stats.ntp.Load(),
		KissOfDeath:   s.stats.kod.Load(),
		FormatReplies: s.stats.format.Load(),
		FormatErrors:  s.stats.formatErr.Load(),
	}
}

// init resolves the settings, once; a bad one is reported by ServePacket.
func (s *Server) init() {
	s.initOnce.Do(func() {
		r := opt.New("timesync")
		set := settings{
			services:        opt.Range(r, "Services", s.Services, ServeNTP|ServeFormat, 1, ServeNTP|ServeFormat),
			stratum:         opt.Range(r, "Stratum", s.Stratum, DefaultStratum, 1, 15),
			precision:       opt.Range(r, "Precision", s.Precision, DefaultPrecision, -32, 0),
			maxFormat:       opt.AtMost(r, "MaxFormat", s.MaxFormat, DefaultMaxFormat, 65507),
			maxDatagram:     opt.Range(r, "MaxDatagram", s.MaxDatagram, DefaultMaxDatagram, 48, 65507),
			shutdownTimeout: opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, DefaultShutdownTimeout),
			loc:             s.Location,
		}
		if set.loc == nil {
			set.loc = time.Local
		}
		r.Check(s.RootDelay >= 0, "RootDelay", s.RootDelay, "must not be negative")
		r.Check(s.RootDispersion >= 0, "RootDispersion", s.RootDispersion, "must not be negative")
		pps := opt.Unlimited(r, "PacketsPerSecond", s.PacketsPerSecond, DefaultPacketsPerSecond)
		burst := opt.Default(r, "PacketBurst", s.PacketBurst, DefaultPacketBurst)
		maxSources := opt.Default(r, "MaxSources", s.MaxSources, DefaultMaxSources)
		s.gate = admit.New(admit.Config{Rate: pps, Burst: burst, MaxSources: maxSources, AllowLowPorts: true})
		if pps > 0 {
			s.kod = ratelimit.New(ratelimit.Config{Rate: kodPerSecond, Burst: kodBurst, MaxSources: maxSources})
		}
		id := s.RefID
		if id == "" {
			id = DefaultRefID
		}
		copy(set.refID[:], id)
		s.set, s.setErr = set, r.Err()
	})
}

// log writes a record if there is a Logger (see [logrec.Log]).
func (s *Server) log(level slog.Level, msg string, args ...any) {
	logrec.Log(s.Logger, level, msg, args...)
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
	return s.group.Run(ctx, pc, dgram.Unblock(pc), s.set.shutdownTimeout, s.setErr, ErrServerClosed, func(scope *track.Scope) error {
		return dgram.Serve(pc, dgram.Config{
			MaxDatagram:  s.set.maxDatagram,
			Counters:     &s.gate.Counters,
			RxTimestamps: s.Now == nil,
			Now:          s.Now,
			Stopping:     scope.Stopping,
			Stamp:        func(b []byte, now time.Time) { putTransmit(b, TimestampOf(now)) },
			Logger:       s.Logger,
			Name:         "timesync",
		}, s.handle)
	})
}

// handle answers one datagram.
func (s *Server) handle(w *dgram.Writer, d *dgram.Datagram) {
	reply, stamp := s.answer(w.Buffer(), d.Data, d.From, d.RX)
	switch {
	case len(reply) == 0:
		return
	case stamp:
		// An NTP reply is exactly as long as its request.
		w.SendStamped(d.From, reply)
	case !w.Reply(d, reply):
		return
	}
	s.gate.Counters.Request(len(d.Data), 0)
}

func (s *Server) drop(why admit.Reason, detail string, from dgram.Addr) {
	s.gate.Counters.Drop(why)
	if s.Logger != nil {
		s.log(slog.LevelDebug, "timesync: datagram dropped: "+detail, "remote", from.String())
	}
}

// allowKoD takes one Kiss-o'-Death from the rate of the source.
func (s *Server) allowKoD(from dgram.Addr, now time.Time) bool {
	return s.kod == nil || s.kod.AllowN(now, from.Key(), 1)
}

// answer returns the reply to the datagram req, appended to out, or
// nothing. stamp reports an NTP reply whose transmit timestamp the caller
// must fill in just before sending it. The rule that tells NTP from the
// format service is the one of the package documentation.
func (s *Server) answer(out, req []byte, from dgram.Addr, rx time.Time) (reply []byte, stamp bool) {
	services := s.set.services
	if isNTPRequestHeader(req) {
		if services&ServeNTP == 0 {
			s.drop(admit.Malformed, "NTP service off", from)
			return nil, false
		}
		return s.answerNTP(out, req, from, rx)
	}
	if services&ServeFormat == 0 {
		s.drop(admit.Malformed, "not an NTP client request", from)
		return nil, false
	}
	return s.answerFormat(out, req, from, rx), false
}

// answerNTP answers an NTP client request, whose first byte has already
// been checked. The transmit timestamp of a normal reply is left for the
// caller to fill in (stamp), just before the reply is sent.
func (s *Server) answerNTP(out, req []byte, from dgram.Addr, rx time.Time) (reply []byte, stamp bool) {
	var q Packet
	if err := q.UnmarshalBinary(req); err != nil {
		s.drop(admit.Malformed, err.Error(), from)
		return nil, false
	}
	if q.Transmit.IsZero() {
		s.drop(admit.Malformed, "NTP request without transmit timestamp", from)
		return nil, false
	}
	if from.Port() == 0 {
		// No real client sends from port 0, and Linux refuses to send to it.
		s.drop(admit.Port, "NTP request from port 0", from)
		return nil, false
	}
	r := Packet{
		Version: q.Version,
		Mode:    ModeServer,
		Poll:    q.Poll,
		Origin:  q.Transmit,
	}
	if !s.gate.Take(from.Key(), rx) {
		if !s.allowKoD(from, rx) {
			s.drop(admit.Rate, "source over its rate", from)
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
	r.Stratum = s.set.stratum
	r.Precision = s.set.precision
	r.RootDelay = ShortOf(s.RootDelay)
	r.RootDispersion = ShortOf(s.RootDispersion)
	r.RefID = s.set.refID
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
func (s *Server) answerFormat(out, req []byte, from dgram.Addr, rx time.Time) []byte {
	if p := from.Port(); p >= 0 && p < 1024 {
		s.drop(admit.Port, "format request from a service port", from)
		return nil
	}
	text := req
	if i := bytes.IndexByte(req, 0); i >= 0 {
		text = req[:i]
	}
	if len(text) == 0 || textsafe.Check(string(text)) != nil {
		s.drop(admit.Malformed, "neither NTP nor a format", from)
		return nil
	}
	if !bytes.ContainsRune(text, '%') {
		// A format with no conversion is text that would come back as
		// itself, such as a time another server formatted: answering it
		// would let one spoofed datagram set two text services talking to
		// each other forever.
		s.drop(admit.Malformed, "format without a conversion", from)
		return nil
	}
	if !s.gate.Allow(from.Key(), rx) {
		s.drop(admit.OK, "source over its rate", from) // counted by Allow
		return nil
	}
	budget := admit.Budget(len(req))
	if len(text) > s.set.maxFormat {
		return s.errorReply(out, budget, fmt.Sprintf("format too long: %d bytes, at most %d", len(text), s.set.maxFormat))
	}
	cs, err := parseFormat(string(text))
	if err != nil {
		return s.errorReply(out, budget, err.(*FormatError).Reason)
	}
	out = appendConvs(out, cs, rx.In(s.set.loc))
	if len(out) > budget {
		s.gate.Counters.Drop(admit.Amplification)
		return s.errorReply(out[:0], budget, fmt.Sprintf("reply too large: %d bytes, at most %d for a %d-byte request", len(out), budget, len(req)))
	}
	s.stats.format.Add(1)
	return out
}

// errorReply appends an error reply of the format service, cut to size
// bytes: the anti-amplification budget of its request.
func (s *Server) errorReply(out []byte, size int, reason string) []byte {
	out = append(out, errorByte)
	out = append(out, reason...)
	s.stats.formatErr.Add(1)
	return out[:min(len(out), size)]
}
