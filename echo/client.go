package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
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

// MismatchError is returned by [Conn.Echo] when the server sent back
// other bytes than expected: a server with another transform, or not an
// echo server at all.
type MismatchError struct {
	Want, Got []byte
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("echo: reply differs from what was sent (%d bytes expected, first difference at byte %d)",
		len(e.Want), firstDiff(e.Want, e.Got))
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
// came back after every attempt.
type TimeoutError struct {
	Attempts int
	Timeout  time.Duration // per attempt
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("echo: no reply after %d attempts of %v", e.Attempts, e.Timeout)
}

// Unwrap returns [os.ErrDeadlineExceeded].
func (e *TimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

// Client connects to echo servers. Its zero value works.
type Client struct {
	// Dial, if not nil, opens connections; a [net.Dialer]'s DialContext
	// fits. Nil uses a zero net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Transform, if not nil, is the transform the server applies (such as
	// [Upper]): the client applies it too, to know which bytes to expect
	// back. Nil expects the bytes sent.
	Transform func() transform.Transformer

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
	t       transform.Transformer // mirrors the server's, to compute replies
	pending []byte                // input the mirror transformer holds back
	timeout time.Duration
	tries   int

	mu     sync.Mutex
	broken error
	buf    []byte // UDP receive buffer
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
	if c.Transform != nil {
		cn.t = c.Transform()
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
// ctx's deadline and cancellation bound the round trip. A TCP round trip
// cut short leaves the Conn unusable ([ErrBroken]). When the reply
// differs from what was expected, Echo returns it with a
// [*MismatchError].
func (cn *Conn) Echo(ctx context.Context, msg []byte) ([]byte, error) {
	cn.mu.Lock()
	defer cn.mu.Unlock()
	if cn.broken != nil {
		return nil, fmt.Errorf("%w (%w)", ErrBroken, cn.broken)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cn.packet {
		return cn.echoPacket(ctx, msg)
	}
	want, err := cn.expectStream(msg)
	if err != nil {
		return nil, err
	}
	stop := cn.bindContext(ctx)
	got, err := cn.roundTrip(msg, len(want))
	if interrupted := stop(); err != nil && interrupted {
		cause := context.Cause(ctx)
		if cause == nil {
			cause = context.DeadlineExceeded
		}
		err = fmt.Errorf("echo: %w", cause)
	}
	if err != nil {
		cn.broken = err
		return got, err
	}
	if !bytes.Equal(got, want) {
		return got, &MismatchError{Want: want, Got: got}
	}
	return got, nil
}

// bindContext makes ctx's deadline and cancellation interrupt I/O on the
// conn. The returned func undoes it and reports whether ctx interrupted.
func (cn *Conn) bindContext(ctx context.Context) func() bool {
	d, _ := ctx.Deadline()
	cn.nc.SetDeadline(d)
	interrupted := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		cn.nc.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	return func() bool {
		if !stopAfter() {
			<-interrupted
			return true
		}
		cn.nc.SetDeadline(time.Time{})
		// The conn's deadline can fire a moment before ctx's own timer.
		return ctx.Err() != nil || !d.IsZero() && !time.Now().Before(d)
	}
}

// roundTrip writes msg and reads n bytes. Writes and reads overlap when
// the message is large, so neither side's buffers can fill up and stall
// both ends.
func (cn *Conn) roundTrip(msg []byte, n int) ([]byte, error) {
	got := make([]byte, n)
	if len(msg) <= 32<<10 {
		if _, err := cn.nc.Write(msg); err != nil {
			return nil, fmt.Errorf("echo: write: %w", err)
		}
		if _, err := io.ReadFull(cn.nc, got); err != nil {
			return nil, fmt.Errorf("echo: read: %w", err)
		}
		return got, nil
	}
	werr := make(chan error, 1)
	go func() {
		_, err := cn.nc.Write(msg)
		werr <- err
	}()
	_, rerr := io.ReadFull(cn.nc, got)
	if rerr != nil {
		cn.nc.SetDeadline(time.Unix(1, 0)) // unblock the writer
	}
	if err := <-werr; err != nil && rerr == nil {
		return nil, fmt.Errorf("echo: write: %w", err)
	}
	if rerr != nil {
		return nil, fmt.Errorf("echo: read: %w", rerr)
	}
	return got, nil
}

// expectStream returns the bytes the server will send back for msg on
// the stream: msg itself, or msg through the mirror transformer.
func (cn *Conn) expectStream(msg []byte) ([]byte, error) {
	if cn.t == nil {
		return msg, nil
	}
	src := append(cn.pending, msg...)
	var out []byte
	dst := make([]byte, max(len(src)+16, 64))
	for {
		nDst, nSrc, err := cn.t.Transform(dst, src, false)
		out = append(out, dst[:nDst]...)
		src = src[nSrc:]
		switch {
		case err == nil:
			cn.pending = cn.pending[:0]
			return out, nil
		case errors.Is(err, transform.ErrShortDst) && (nDst > 0 || nSrc > 0):
		case errors.Is(err, transform.ErrShortSrc):
			cn.pending = append(cn.pending[:0], src...)
			return out, nil
		default:
			return nil, fmt.Errorf("echo: transform: %w", err)
		}
	}
}

func (cn *Conn) echoPacket(ctx context.Context, msg []byte) ([]byte, error) {
	if len(msg) > MaxDatagramLimit {
		return nil, fmt.Errorf("echo: message of %d bytes is larger than a datagram (%d)", len(msg), MaxDatagramLimit)
	}
	want := msg
	if cn.t != nil {
		cn.t.Reset()
		var err error
		if want, _, err = transform.Bytes(cn.t, msg); err != nil {
			return nil, fmt.Errorf("echo: transform: %w", err)
		}
	}
	for attempt := 0; attempt < cn.tries; attempt++ {
		if _, err := cn.nc.Write(msg); err != nil {
			return nil, fmt.Errorf("echo: write: %w", err)
		}
		deadline := time.Now().Add(cn.timeout)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		got, err := cn.awaitPacket(ctx, deadline, want)
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("echo: %w", context.Cause(ctx))
		}
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return nil, fmt.Errorf("echo: %w", context.DeadlineExceeded)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, err
		}
	}
	return nil, &TimeoutError{Attempts: cn.tries, Timeout: cn.timeout}
}

// awaitPacket reads datagrams until one equals want or the deadline
// passes.
func (cn *Conn) awaitPacket(ctx context.Context, deadline time.Time, want []byte) ([]byte, error) {
	cn.nc.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { cn.nc.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		n, err := cn.nc.Read(cn.buf)
		if err != nil {
			return nil, fmt.Errorf("echo: read: %w", err)
		}
		if bytes.Equal(cn.buf[:n], want) {
			return bytes.Clone(cn.buf[:n]), nil
		}
	}
}
