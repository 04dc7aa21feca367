package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/clientio"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockkit/sockkit/internal/opt"
	"golang.org/x/text/transform"
)

// Defaults for the zero fields of [Client].
const (
	DefaultTimeout = time.Second
	DefaultRetries = 2
)

// ErrBroken is returned by [Conn.Echo] on a TCP connection whose earlier
// round trip was cut short (by its context, say): the reply to it may
// still be on its way, so the stream can no longer be matched to
// requests. Dial a new connection.
var ErrBroken = errors.New("echo: connection out of step after an interrupted round trip")

// MismatchError is returned by [Conn.Echo] (and [Conn.Finish]) when the
// server sent back other bytes than expected: a server with another
// transform, or not an echo server at all. Over UDP, where a datagram that does not match is
// taken for a late reply and skipped, it is returned when no matching
// reply came but others did; it then wraps the error that ended the
// wait: the [*TimeoutError], or that of the context.
//
// Unchanged and Upper say what the reply looks like, so that the error
// can say what to change: a reply that is the message sent, as a plain
// echo server sends it, or the message through [Upper], as the
// tutorials' server sends it. Both are false for anything else.
type MismatchError struct {
	Want []byte // the reply expected (the first one, if the Client accepts several)
	Got  []byte // the reply received, or as much of it as was read

	Unchanged bool // Got is the message sent, unchanged
	Upper     bool // Got is the message sent, upper-cased by [Upper]

	Err error // over UDP, why the wait for a matching reply ended; nil over TCP
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "echo: reply differs from the one expected (%d bytes expected, %d received, first difference at byte %d)",
		len(e.Want), len(e.Got), firstDiff(e.Want, e.Got))
	switch {
	case e.Unchanged:
		b.WriteString(": it is the message sent, unchanged, as from a server without a Transform")
	case e.Upper:
		b.WriteString(": it is the message sent in upper case, as from a server with Transform Upper")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, " (%v)", e.Err)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *MismatchError) Unwrap() error { return e.Err }

// newMismatch describes a reply got to msg that is none of wants.
func newMismatch(msg, got []byte, wants [][]byte) *MismatchError {
	upper, _, err := transform.Bytes(Upper(), msg)
	return &MismatchError{
		Want:      wants[0],
		Got:       got,
		Unchanged: sameStart(got, msg),
		Upper:     err == nil && sameStart(got, upper),
	}
}

// sameStart reports whether got is like, allowing for a got cut short
// because fewer bytes were expected: one of the two begins with the
// other.
func sameStart(got, like []byte) bool {
	n := min(len(got), len(like))
	return n > 0 && bytes.Equal(got[:n], like[:n])
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TimeoutError is returned by [Conn.Echo] over UDP when no matching reply
// came back after every attempt; it is the one [sockkit.TimeoutError] of
// every package, with Op "echo: udp round trip".
type TimeoutError = sockkit.TimeoutError

// Client connects to echo servers. Its zero value works.
type Client struct {
	// Dial, if not nil, opens connections; a [net.Dialer]'s DialContext
	// fits. Nil uses a zero net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Transform, if not nil, is the transform the server applies (such as
	// [Upper]): the client applies it too, to know which bytes to expect
	// back. Nil expects the bytes sent.
	Transform func() transform.Transformer

	// Accept lists more transforms the server may apply, for a client
	// that does not know which one it runs; a nil entry stands for none
	// (the bytes sent come back unchanged). A reply is accepted if it is
	// what Transform or any of these makes of the message. Once a reply
	// matches some of them and not others, the [Conn] expects only those
	// from then on, so that it stays in step with the stream. When one
	// accepted reply begins with another, Echo returns the shorter (see
	// [Conn.Echo]).
	//
	// With a nil Transform, Accept: {Upper} talks to a plain echo server
	// and to the tutorials' upper-casing one alike; compare the reply with
	// the message to tell which it was.
	Accept []func() transform.Transformer

	// Timeout is how long a UDP attempt waits for its reply. Zero means
	// DefaultTimeout.
	Timeout time.Duration

	// Retries is how many more times a UDP request is sent when no reply
	// comes. Zero means DefaultRetries; negative means none.
	Retries int
}

// Conn is a connection to an echo server, over TCP or UDP, for many
// round trips. Its methods are safe for concurrent use; round trips
// are made one at a time.
type Conn struct {
	nc      net.Conn
	packet  bool
	timeout time.Duration
	tries   int

	mu      sync.Mutex
	mirrors []*mirror // the transforms the server may apply
	broken  error
	buf     []byte // UDP receive buffer
}

// mirror mirrors one transform the server may apply, to compute the
// replies it makes.
type mirror struct {
	t       transform.Transformer // nil: the bytes come back unchanged
	pending []byte                // input t holds back, on a stream
	owed    []byte                // output made for earlier messages, not read yet
}

// Dial connects to the echo server at addr with a zero [Client]; see
// [Client.Connect].
func Dial(ctx context.Context, network, addr string) (*Conn, error) {
	return new(Client).Connect(ctx, network, addr)
}

// Connect connects to the echo server at addr. network is "tcp", "tcp4",
// "tcp6", "udp", "udp4" or "udp6". ctx bounds the dial only; each round
// trip takes its own.
func (c *Client) Connect(ctx context.Context, network, addr string) (*Conn, error) {
	packet := false
	switch network {
	case "tcp", "tcp4", "tcp6":
	case "udp", "udp4", "udp6":
		packet = true
	default:
		return nil, fmt.Errorf("echo: unsupported network %q", network)
	}
	dial := c.Dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	nc, err := dial(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("echo: dial: %w", err)
	}
	return c.newConn(nc, packet), nil
}

// NewConn returns a Conn over an established connection nc, which is a
// stream (TCP, a [net.Pipe]) unless packet is true.
func (c *Client) NewConn(nc net.Conn, packet bool) *Conn {
	return c.newConn(nc, packet)
}

func (c *Client) newConn(nc net.Conn, packet bool) *Conn {
	cn := &Conn{
		nc:      nc,
		packet:  packet,
		timeout: opt.Or(c.Timeout, DefaultTimeout),
		tries:   1 + max(opt.Or(c.Retries, DefaultRetries), 0),
	}
	for _, newT := range append([]func() transform.Transformer{c.Transform}, c.Accept...) {
		m := new(mirror)
		if newT != nil {
			m.t = newT()
		}
		cn.mirrors = append(cn.mirrors, m)
	}
	if packet {
		cn.buf = make([]byte, MaxDatagramLimit+1)
	}
	return cn
}

// Close closes the connection.
func (cn *Conn) Close() error { return cn.nc.Close() }

// LocalAddr returns the local address of the connection.
func (cn *Conn) LocalAddr() net.Addr { return cn.nc.LocalAddr() }

// Echo sends msg and returns what the server sent back for it.
//
// Over TCP, the reply is read until exactly as many bytes as expected
// have arrived, however the stream was cut into segments, and nothing
// more: the next round trip starts clean. Over UDP, msg is one datagram;
// it is sent again (Retries) when no reply comes within Timeout, and
// datagrams that do not match the expected reply (late replies to
// earlier requests) are skipped.
//
// A transform such as [Upper] holds back the first bytes of a character
// until the rest of it arrives, so when msg ends inside a character (in a
// charset other than UTF-8, say), the server sends those bytes only with
// the next message, or when the client is done: Echo returns the reply
// without them, and [Conn.Finish] collects them. Likewise, when one of
// the replies [Client.Accept] allows begins with another, Echo returns
// the shorter; if the server sent the longer, its rest begins the next
// reply.
//
// ctx's deadline and cancellation bound the round trip. A TCP round trip
// cut short leaves the Conn unusable ([ErrBroken]). When the reply
// differs from every reply expected, Echo returns it with a
// [*MismatchError].
func (cn *Conn) Echo(ctx context.Context, msg []byte) ([]byte, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.broken != nil {
		return nil, cn.brokenErr()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cn.packet {
		return cn.echoPacket(ctx, msg)
	}
	wants, err := cn.expectStream(msg, false)
	if err != nil {
		return nil, err
	}
	done := clientio.Bind(ctx, cn.nc)
	got, matched, err := cn.roundTrip(msg, wants)
	if err = done(err); clientio.Interrupted(err) {
		err = fmt.Errorf("echo: %w", err)
	}
	if err != nil {
		cn.broken = err
		return got, err
	}
	if !cn.keep(matched, wants, len(got)) {
		return got, newMismatch(msg, got, wants)
	}
	return got, nil
}

// keep narrows the mirrors to those whose reply matched, and reports
// whether any did. n bytes of each reply have been read; a mirror whose
// reply is longer owes the rest.
func (cn *Conn) keep(matched []bool, wants [][]byte, n int) bool {
	var kept []*mirror
	for i, m := range cn.mirrors {
		if matched[i] {
			m.owed = wants[i][n:]
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return false
	}
	cn.mirrors = kept
	return true
}

// Finish ends a TCP conversation: it tells the server that no more
// messages follow (a half-close, which makes an echo server send back
// what its transform still holds, then close) and returns the rest of the
// last reply (see [Conn.Echo]), often nothing. It reads until the server
// closes, for as long as ctx allows; bytes other than those expected are
// a [*MismatchError]. After Finish, the Conn can only be closed. Over UDP
// Finish does nothing.
func (cn *Conn) Finish(ctx context.Context) ([]byte, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.packet {
		return nil, nil
	}
	if cn.broken != nil {
		return nil, cn.brokenErr()
	}
	cw, ok := cn.nc.(interface{ CloseWrite() error })
	if !ok {
		return nil, fmt.Errorf("echo: a %T cannot be half-closed", cn.nc)
	}
	rests, err := cn.expectStream(nil, true)
	if err != nil {
		return nil, err
	}
	cn.broken = errFinished
	longest := 0
	for _, r := range rests {
		longest = max(longest, len(r))
	}
	done := clientio.Bind(ctx, cn.nc)
	err = cw.CloseWrite()
	var got []byte
	if err == nil {
		got, err = io.ReadAll(io.LimitReader(cn.nc, int64(longest)+1))
	}
	err = done(err)
	if err != nil {
		return got, fmt.Errorf("echo: finish: %w", err)
	}
	for _, r := range rests {
		if bytes.Equal(got, r) {
			return got, nil
		}
	}
	return got, &MismatchError{Want: rests[0], Got: got}
}

// errFinished is why a Conn is out of use after Finish.
var errFinished = errors.New("echo: conversation finished")

// brokenErr returns why the Conn is out of use.
func (cn *Conn) brokenErr() error {
	if cn.broken == errFinished {
		return errFinished
	}
	return fmt.Errorf("%w (%w)", ErrBroken, cn.broken)
}

// roundTrip writes msg and reads the reply, one of wants (see
// readReply). Writes and reads overlap when the message is large, so
// neither side's buffers can fill up and stall both ends.
func (cn *Conn) roundTrip(msg []byte, wants [][]byte) ([]byte, []bool, error) {
	if len(msg) <= 32<<10 {
		if _, err := cn.nc.Write(msg); err != nil {
			return nil, nil, fmt.Errorf("echo: write: %w", err)
		}
		return readReply(cn.nc, wants)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := cn.nc.Write(msg)
		werr <- err
	}()
	got, matched, rerr := readReply(cn.nc, wants)
	if rerr != nil {
		cn.nc.SetDeadline(time.Unix(1, 0)) // unblock the writer
	}
	if err := <-werr; err != nil && rerr == nil {
		return nil, nil, fmt.Errorf("echo: write: %w", err)
	}
	return got, matched, rerr
}

// readReply reads one reply from a stream on which wants are the replies
// that may come. It reads until what it read is one of them, but no byte
// past the shortest that it can still become, and returns what it read
// and which of wants begin with it (none: a mismatch, of the length of a
// want).
func readReply(r io.Reader, wants [][]byte) ([]byte, []bool, error) {
	longest := 0
	for _, w := range wants {
		longest = max(longest, len(w))
	}
	got := make([]byte, 0, longest)
	live := make([]bool, len(wants))
	for i := range live {
		live[i] = true
	}
	for {
		need, matched := 0, false
		for i, w := range wants {
			switch {
			case !live[i]:
			case !bytes.HasPrefix(w, got):
				live[i] = false
			case len(w) == len(got):
				matched = true
			case need == 0 || len(w)-len(got) < need:
				need = len(w) - len(got)
			}
		}
		if matched {
			return got, live, nil
		}
		if need == 0 {
			return got, live, nil // no want begins with got
		}
		n := len(got)
		got = got[:n+need]
		if _, err := io.ReadFull(r, got[n:]); err != nil {
			return nil, nil, fmt.Errorf("echo: read: %w", err)
		}
	}
}

// expectStream returns the replies the server may send back for msg on
// the stream, one per mirror: what the mirror owes from earlier
// messages, then msg itself or msg through the mirror's transformer. With
// atEOF, msg is the last input and the transformers give back what they
// hold.
func (cn *Conn) expectStream(msg []byte, atEOF bool) ([][]byte, error) {
	wants := make([][]byte, len(cn.mirrors))
	for i, m := range cn.mirrors {
		out, err := m.stream(msg, atEOF)
		if err != nil {
			return nil, err
		}
		wants[i] = append(m.owed, out...)
		m.owed = nil
	}
	return wants, nil
}

// stream returns what the server's transformer makes of msg, the next
// bytes of a stream; atEOF says that no more follow.
func (m *mirror) stream(msg []byte, atEOF bool) ([]byte, error) {
	if m.t == nil {
		return msg, nil
	}
	src := append(m.pending, msg...)
	var out []byte
	dst := make([]byte, max(len(src)+16, 64))
	for {
		nDst, nSrc, err := m.t.Transform(dst, src, atEOF)
		out = append(out, dst[:nDst]...)
		src = src[nSrc:]
		switch {
		case err == nil:
			m.pending = m.pending[:0]
			return out, nil
		case errors.Is(err, transform.ErrShortDst) && (nDst > 0 || nSrc > 0):
		case errors.Is(err, transform.ErrShortSrc) && !atEOF:
			m.pending = append(m.pending[:0], src...)
			return out, nil
		default:
			return nil, fmt.Errorf("echo: transform: %w", err)
		}
	}
}

// packet returns what the server's transformer makes of msg, a datagram.
func (m *mirror) packet(msg []byte) ([]byte, error) {
	if m.t == nil {
		return msg, nil
	}
	m.t.Reset()
	want, _, err := transform.Bytes(m.t, msg)
	if err != nil {
		return nil, fmt.Errorf("echo: transform: %w", err)
	}
	return want, nil
}

func (cn *Conn) echoPacket(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > MaxDatagramLimit {
		return nil, fmt.Errorf("echo: message of %d bytes is larger than a datagram (%d)", len(msg), MaxDatagramLimit)
	}
	wants := make([][]byte, len(cn.mirrors))
	for i, m := range cn.mirrors {
		want, err := m.packet(msg)
		if err != nil {
			return nil, err
		}
		wants[i] = want
	}
	var other []byte // the last datagram that matched none of wants
	for attempt := 1; ; attempt++ {
		if _, err := cn.nc.Write(msg); err != nil {
			return nil, fmt.Errorf("echo: write: %w", err)
		}
		deadline := time.Now().Add(cn.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		got, matched, err := cn.awaitPacket(ctx, deadline, wants, &other)
		if err == nil {
			cn.keep(matched, wants, len(got))
			return got, nil
		}
		var stop error
		switch {
		case ctx.Err() != nil:
			stop = fmt.Errorf("echo: %w", context.Cause(ctx))
		case ctxExpired(ctx):
			stop = fmt.Errorf("echo: %w", context.DeadlineExceeded)
		case !errors.Is(err, os.ErrDeadlineExceeded):
			return nil, err
		case attempt == cn.tries:
			stop = &TimeoutError{Op: "echo: udp round trip", Attempts: cn.tries, Timeout: cn.timeout}
		default:
			continue
		}
		if other != nil {
			me := newMismatch(msg, other, wants)
			me.Err = stop
			return other, me
		}
		return nil, stop
	}
}

// ctxExpired reports whether ctx's deadline has passed, which the conn's
// deadline may notice a moment before ctx does.
func ctxExpired(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// awaitPacket reads datagrams until one is among wants or the deadline
// passes, and returns it and which of wants it is. It keeps the last
// datagram that is none of them in *other.
func (cn *Conn) awaitPacket(ctx context.Context, deadline time.Time, wants [][]byte, other *[]byte) ([]byte, []bool, error) {
	cn.nc.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { cn.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		n, err := cn.nc.Read(cn.buf)
		if err != nil {
			return nil, nil, fmt.Errorf("echo: read: %w", err)
		}
		got := cn.buf[:n]
		matched := make([]bool, len(wants))
		found := false
		for i, w := range wants {
			matched[i] = bytes.Equal(got, w)
			found = found || matched[i]
		}
		if found {
			return bytes.Clone(got), matched, nil
		}
		*other = bytes.Clone(got)
	}
}
