package timesync

import (
	"context"
	"errors"
	"fmt"
	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/clientio"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// Defaults for the zero fields of [Client].
const (
	DefaultSamples = 4
	DefaultTimeout = time.Second
	DefaultVersion = 4

	// DefaultInterval is the pace of the requests of [Client.Query]: the
	// time a default [Server] takes to give a source back the allowance of
	// one datagram (1/DefaultPacketsPerSecond). A default Client therefore
	// stays within a default Server's limit however many samples it takes.
	// Only the first request of a query draws on the server's burst
	// (DefaultPacketBurst), so that as many queries can follow one another
	// without a pause.
	DefaultInterval = time.Second / DefaultPacketsPerSecond
)

// maxDistance is the largest root distance (root delay/2 + root
// dispersion) a reply may claim (MAXDIST, RFC 5905 appendix A.1.1).
const maxDistance = 1500 * time.Millisecond

// ErrKissOfDeath is wrapped by every [KissOfDeathError].
var ErrKissOfDeath = errors.New("timesync: Kiss-o'-Death")

// ErrUnsynchronized is returned by [Client.Query] when the server says
// that its own clock is not synchronised (leap indicator 3, or stratum
// 16): its time must not be used.
var ErrUnsynchronized = errors.New("timesync: server clock not synchronized")

// KissOfDeathError is returned by [Client.Query] when the server answers
// with a Kiss-o'-Death packet: stratum 0 and a kiss code such as "RATE"
// (slow down), "DENY" or "RSTR" (access denied). A client must stop
// querying that server, or at least slow down, when it gets one. With
// "RATE", Query also returns the samples it took before it.
type KissOfDeathError struct {
	Code string // the kiss code, printable ASCII
}

func (e *KissOfDeathError) Error() string {
	return fmt.Sprintf("timesync: server sent Kiss-o'-Death %q", e.Code)
}

// Unwrap returns [ErrKissOfDeath].
func (e *KissOfDeathError) Unwrap() error { return ErrKissOfDeath }

// ReplyError is returned by [Client.Query] for a reply that matches its
// request but that a strict client must not use: a wrong mode, missing
// timestamps, a transmit time before the receive time, and so on.
type ReplyError struct {
	Reason string
}

func (e *ReplyError) Error() string { return "timesync: invalid NTP reply: " + e.Reason }

// TimeoutError is returned when no usable reply came back after every
// attempt; it is the one [sockkit.TimeoutError] of every package, with Op
// "timesync: query" or "timesync: format".
type TimeoutError = sockkit.TimeoutError

// ServerError is an error reply of the format service, returned by
// [Client.Format].
type ServerError struct {
	Reason string // the server's words, made safe to print
}

func (e *ServerError) Error() string { return "timesync: server refused the format: " + e.Reason }

// Client queries NTP servers and the format service. Its zero value
// works.
type Client struct {
	// Dial, if not nil, opens the UDP socket; a [net.Dialer]'s
	// DialContext fits. Nil uses a zero net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Samples is how many NTP requests [Client.Query] sends; it keeps the
	// reply with the smallest round-trip delay. Zero means
	// DefaultSamples.
	Samples int

	// Interval is the least time between the starts of two requests of
	// [Client.Query]. Zero means DefaultInterval, the pace a default
	// [Server] allows each source for ever. Negative means no pause: each
	// request goes out as soon as the previous one is answered, for a
	// server of your own whose rate limit is off. Public servers expect 2
	// seconds or more.
	Interval time.Duration

	// Timeout is how long one request waits for its reply. Zero means
	// DefaultTimeout.
	Timeout time.Duration

	// Version is the NTP version of the requests, 1 to 4. Zero means
	// DefaultVersion.
	Version uint8

	// Now, if not nil, is the client's clock, for tests. Nil means the
	// system clock, read by the kernel as each reply arrives where the
	// system allows.
	Now func() time.Time
}

// Response is the result of [Client.Query]: the sample with the smallest
// round-trip delay.
type Response struct {
	// Offset is how far the local clock is behind the server's: add it
	// to the local time to get the server's.
	Offset time.Duration
	// Delay is the round-trip delay of the network, without the time the
	// server held the request.
	Delay time.Duration

	Stratum        uint8
	RefID          [4]byte // see [RefIDString]
	Leap           LeapIndicator
	Precision      int8
	RootDelay      time.Duration
	RootDispersion time.Duration
	ReferenceTime  time.Time

	// The four timestamps of the exchange: client transmit (T1), server
	// receive (T2), server transmit (T3), client receive (T4).
	T1, T2, T3, T4 time.Time

	// Packet is the reply as it was received. Its Origin is a random
	// number the client sent as its transmit timestamp, as chrony does, so
	// that replies cannot be forged by someone who only knows the time.
	Packet Packet

	// Samples is the number of valid replies the result was chosen from.
	Samples int
}

// RootDistance returns RootDelay/2 + RootDispersion: how far, at most,
// the server's clock may be from true time by its own account.
func (r *Response) RootDistance() time.Duration { return r.RootDelay/2 + r.RootDispersion }

func (c *Client) dial(ctx context.Context, addr string) (net.Conn, error) {
	if c.Dial != nil {
		return c.Dial(ctx, "udp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "udp", addr)
}

func (c *Client) timeout() time.Duration { return opt.Or(c.Timeout, DefaultTimeout) }

// exchange opens a socket to addr and runs f on it, with ctx closing it
// early.
func (c *Client) exchange(ctx context.Context, addr string, f func(conn net.Conn, dc *dgramConn) error) error {
	conn, err := c.dial(ctx, addr)
	if err != nil {
		return fmt.Errorf("timesync: %w", err)
	}
	defer conn.Close()
	done := clientio.Bind(ctx, conn)
	var dc *dgramConn
	if pc, ok := conn.(net.PacketConn); ok {
		dc = newDgramConn(pc, c.Now)
	}
	if err = done(f(conn, dc)); clientio.Interrupted(err) {
		return fmt.Errorf("timesync: %w", err)
	}
	return err
}

// readReply reads one datagram from conn before deadline, with the time
// it arrived.
func readReply(conn net.Conn, dc *dgramConn, buf []byte, now func() time.Time) (int, time.Time, error) {
	if dc != nil {
		n, _, rx, _, err := dc.read(buf)
		return n, rx, err
	}
	n, err := conn.Read(buf)
	return n, now(), err
}

// Query measures the offset of the local clock from the NTP server at
// addr ("host:port", or just "host" for NTP's port 123) with SNTP: it sends Samples
// requests, validates each reply as a strict client does, and returns
// the one with the smallest round-trip delay, the sample least disturbed
// by queueing (the clock filter of RFC 5905).
//
// The requests are paced, at most one every [Client.Interval]. A
// Kiss-o'-Death reply ends the query at once with a [*KissOfDeathError].
// When it is a "RATE" (slow down) and earlier requests had valid replies,
// Query returns both the best of those samples (Response.Samples says
// how many) and the error, so that the caller has the measurement and
// knows it must query that server less often. A server that says it is
// not synchronised gives [ErrUnsynchronized]; other unusable replies a
// [*ReplyError]; no reply
// at all a [*TimeoutError]. Replies that do not match a request (wrong
// origin timestamp, from elsewhere, too short) are ignored. ctx bounds
// the whole query; when it ends after some requests had valid replies,
// Query returns the best of those too, with an error that wraps ctx's
// (errors.Is(err, context.DeadlineExceeded), say), so that a deadline
// shorter than Samples requests take gives the samples it had time for.
func (c *Client) Query(ctx context.Context, addr string) (*Response, error) {
	now := c.Now
	if now == nil {
		now = time.Now
	}
	var best *Response
	var lastErr error
	samples := opt.Or(c.Samples, DefaultSamples)
	interval := opt.Or(c.Interval, DefaultInterval)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), "123")
	}
	err := c.exchange(ctx, addr, func(conn net.Conn, dc *dgramConn) error {
		buf := make([]byte, DefaultMaxDatagram)
		var next time.Time // when the next request may go out
		for range samples {
			if err := sleepUntil(ctx, next); err != nil {
				return err
			}
			next = time.Now().Add(interval)
			r, err := c.sample(ctx, conn, dc, buf, now)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var kod *KissOfDeathError
				if errors.As(err, &kod) {
					return err
				}
				var te *TimeoutError
				if !errors.As(err, &te) {
					lastErr = err // more telling than a timeout
				}
				continue
			}
			n := 1
			if best != nil {
				n = best.Samples + 1
			}
			if best == nil || r.Delay < best.Delay {
				best = r
			}
			best.Samples = n
		}
		return nil
	})
	if err != nil {
		var kod *KissOfDeathError
		if best != nil && (errors.As(err, &kod) && kod.Code == "RATE" || ctx.Err() != nil) {
			return best, err
		}
		return nil, err
	}
	if best == nil {
		if lastErr == nil {
			lastErr = &TimeoutError{Op: "timesync: query", Attempts: samples, Timeout: c.timeout()}
		}
		return nil, lastErr
	}
	return best, nil
}

// sample sends one request and waits for the matching reply.
func (c *Client) sample(ctx context.Context, conn net.Conn, dc *dgramConn, buf []byte, now func() time.Time) (*Response, error) {
	version := c.Version
	if version == 0 {
		version = DefaultVersion
	}
	xmt := Timestamp(rand.Uint64() | 1) // never zero
	req := Packet{Version: version, Mode: ModeClient, Transmit: xmt}
	b, _ := req.AppendBinary(make([]byte, 0, PacketSize))
	conn.SetDeadline(time.Now().Add(c.timeout()))
	if err := ctx.Err(); err != nil {
		return nil, err // cancelled before the deadline above was set: it undid the cancel's
	}
	t1 := now()
	if _, err := conn.Write(b); err != nil {
		return nil, fmt.Errorf("timesync: %w", err)
	}
	for {
		n, t4, err := readReply(conn, dc, buf, now)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return nil, &TimeoutError{Op: "timesync: query", Attempts: 1, Timeout: c.timeout()}
			}
			return nil, fmt.Errorf("timesync: %w", err) // such as port unreachable
		}
		var p Packet
		if p.UnmarshalBinary(buf[:n]) != nil || p.Origin != xmt {
			continue // not the reply to this request: stale, bogus or forged
		}
		return responseOf(&p, t1, t4)
	}
}

// responseOf validates a reply that matches its request, as a strict
// client does, and computes offset and delay.
func responseOf(p *Packet, t1, t4 time.Time) (*Response, error) {
	switch {
	case p.Mode != ModeServer:
		return nil, &ReplyError{Reason: fmt.Sprintf("mode %d, not server (4)", p.Mode)}
	case p.Version < 1 || p.Version > 4:
		return nil, &ReplyError{Reason: fmt.Sprintf("version %d", p.Version)}
	case p.Stratum == 0:
		return nil, &KissOfDeathError{Code: p.KissCode()}
	case p.Leap == LeapNotSynchronized || p.Stratum >= 16:
		return nil, ErrUnsynchronized
	case p.Receive.IsZero() || p.Transmit.IsZero():
		return nil, &ReplyError{Reason: "receive or transmit timestamp missing"}
	case p.Reference.IsZero():
		return nil, &ReplyError{Reason: "reference timestamp missing"}
	case p.Transmit.Sub(p.Receive) < 0:
		return nil, &ReplyError{Reason: "transmit time before receive time"}
	case p.Transmit.Sub(p.Reference) < 0:
		return nil, &ReplyError{Reason: "reference time after transmit time"}
	}
	r := &Response{
		Stratum:        p.Stratum,
		RefID:          p.RefID,
		Leap:           p.Leap,
		Precision:      p.Precision,
		RootDelay:      p.RootDelay.Duration(),
		RootDispersion: p.RootDispersion.Duration(),
		T1:             t1,
		T2:             p.Receive.Time(t1),
		T3:             p.Transmit.Time(t1),
		T4:             t4,
		Packet:         *p,
	}
	r.ReferenceTime = p.Reference.Time(t1)
	if r.RootDistance() > maxDistance {
		return nil, &ReplyError{Reason: fmt.Sprintf("root distance %v above %v", r.RootDistance(), maxDistance)}
	}
	// RFC 5905, section 8: offset and delay from the four timestamps.
	r.Offset = (r.T2.Sub(r.T1) + r.T3.Sub(r.T4)) / 2
	r.Delay = max(r.T4.Sub(r.T1)-r.T3.Sub(r.T2), 0)
	return r, nil
}

// FormatRequestSize returns the size of the datagram [Client.Format]
// sends for format: the format, a NUL byte, and as much padding as the
// longest reply the format can have needs, since the server sends at most
// three times the bytes of the request. It counts years of 4 digits and
// zone abbreviations of up to 16 bytes, and pads to DefaultMaxDatagram
// bytes at most (the reply to a format that needs more may be an error,
// and so may one to a request starting like NTP, kept to 47 bytes). It is 0 for a
// format that cannot be sent: one of 48 bytes or more that the server
// would take as an NTP request (see the package documentation).
func FormatRequestSize(format string) int {
	size := len(format) + 1
	if cs, err := parseFormat(format); err == nil {
		size = max(size, min((maxLen(cs)+2)/3, DefaultMaxDatagram))
	}
	hdr := []byte(format + "\x00")
	if isNTPRequestHeader(append(hdr, make([]byte, PacketSize)...)) {
		// It would be taken for NTP at 48 bytes or more.
		if len(format)+1 >= PacketSize {
			return 0
		}
		size = min(size, PacketSize-1)
	}
	return size
}

// Format asks the format service at addr for the server's time in a
// strftime format (see the package documentation). A format this
// package cannot parse, or one with no conversion at all (which the
// server does not answer), gives a [*FormatError] without a request; an
// error reply gives a [*ServerError]. The request is sent up to three
// times when no reply comes. The reply is made safe to print: it keeps
// the newlines of %n and the tabs of %t, and nothing else that
// [textsafe] would remove.
func (c *Client) Format(ctx context.Context, addr, format string) (string, error) {
	if _, err := parseFormat(format); err != nil {
		return "", err
	}
	if !strings.Contains(format, "%") {
		return "", &FormatError{Format: format, Offset: 0,
			Reason: "no conversion: the server does not answer formats without one"}
	}
	size := FormatRequestSize(format)
	if size == 0 {
		return "", &FormatError{Format: format, Offset: 0,
			Reason: fmt.Sprintf("a format of 48 bytes or more may not start with %q: the server would take it for NTP", format[0])}
	}
	req := make([]byte, size)
	copy(req, format)
	var reply string
	const attempts = 3
	err := c.exchange(ctx, addr, func(conn net.Conn, _ *dgramConn) error {
		buf := make([]byte, admit.Budget(size)+1)
		for range attempts {
			conn.SetDeadline(time.Now().Add(c.timeout()))
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := conn.Write(req); err != nil {
				return fmt.Errorf("timesync: %w", err)
			}
			n, err := conn.Read(buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
					continue
				}
				return fmt.Errorf("timesync: %w", err)
			}
			if n > 0 && buf[0] == errorByte {
				return &ServerError{Reason: textsafe.Clean(string(buf[1:n]))}
			}
			reply = cleanLines(string(buf[:n]))
			return nil
		}
		return &TimeoutError{Op: "timesync: format", Attempts: attempts, Timeout: c.timeout()}
	})
	return reply, err
}

// cleanLines makes text safe to print as [textsafe.Clean] does, but keeps
// its newlines.
func cleanLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = textsafe.Clean(l)
	}
	return strings.Join(lines, "\n")
}

// sleepUntil waits until t, or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
