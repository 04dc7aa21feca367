package udpcolor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/sockkit/sockkit/internal/clientio"
	"github.com/sockkit/sockkit/internal/track"

	"github.com/sockkit/sockkit/internal/dgram"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// Defaults used where a [Client] field is zero.
const (
	DefaultAttempts      = 5
	DefaultRetryInterval = 500 * time.Millisecond
	DefaultKeepAlive     = DefaultMemberTimeout / 3
	DefaultBuffer        = 256
)

// Errors of a [Client] and a [Conn].
var (
	// ErrNoAnswer is returned by [Client.Join] and [Conn.Leave] when the
	// server did not answer any attempt.
	ErrNoAnswer = errors.New("udpcolor: no answer from server")
	// ErrClosed is the reason of a session ended by [Conn.Close], and
	// the error of calls on it afterwards.
	ErrClosed = errors.New("udpcolor: connection closed")
	// ErrLeft is the reason of a session ended by [Conn.Leave].
	ErrLeft = errors.New("udpcolor: left the group")
	// ErrExpired is the reason of a session the server ended because the
	// member was silent for longer than its member timeout.
	ErrExpired = errors.New("udpcolor: membership expired")
	// ErrShutdown is the reason of a session ended by the server's
	// shutdown.
	ErrShutdown = errors.New("udpcolor: server shut down")
	// ErrRefused is wrapped by every [ServerError].
	ErrRefused = errors.New("udpcolor: refused by server")
)

// ServerError is an error datagram the server sent in answer to a join.
type ServerError struct {
	Code   string // one of the Code constants, such as [CodeNameTaken]
	Detail string // the server's detail, sanitised; may be empty
}

func (e *ServerError) Error() string {
	if e.Detail == "" {
		return "udpcolor: refused by server: " + e.Code
	}
	return "udpcolor: refused by server: " + e.Code + " " + e.Detail
}

// Unwrap returns [ErrRefused].
func (e *ServerError) Unwrap() error { return ErrRefused }

// Client joins udpcolor groups. Its zero value is ready to use.
type Client struct {
	// Dial opens the UDP socket. Nil means a [net.Dialer]'s DialContext.
	// It is called with network "udp".
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// Attempts is how many times each step of a join (and a leave) is
	// sent before giving up with ErrNoAnswer. Zero or negative means
	// DefaultAttempts.
	Attempts int

	// RetryInterval is how long the first attempt waits for an answer;
	// each further attempt waits twice as long as the one before, up to
	// eight times RetryInterval. Zero or negative means
	// DefaultRetryInterval.
	RetryInterval time.Duration

	// KeepAlive is how often a member sends "ping" so that the server
	// does not expire it; it must be shorter than the server's member
	// timeout. Zero means DefaultKeepAlive; negative turns pings off.
	KeepAlive time.Duration

	// RetryUnreachable makes a join keep trying after an attempt is
	// answered with ICMP port unreachable (nothing listens at addr: the
	// server is down, or still starting), until the attempts run out. By
	// default Join then fails at once, with an error that wraps
	// [ErrNoAnswer] and syscall.ECONNREFUSED: a wrong port or a stopped
	// server is reported in a round trip, not after every attempt.
	// (Hosts that drop datagrams without a word, as many firewalls do,
	// send no ICMP; a join to them ends when the attempts or ctx do.)
	RetryUnreachable bool

	// Buffer is the capacity of the channel of [Conn.Messages]. Messages
	// that arrive while it is full are dropped, as a slow reader of a
	// UDP socket would lose them. Zero or negative means DefaultBuffer.
	Buffer int
}

// Message is a message relayed by the server: from another member, from
// the server's operator (Name is [OperatorName]), or from a plain sender
// (Unverified). Name and Text have been sanitised and are safe to print;
// [Renderer.Print] prints a Message.
type Message struct {
	Name string
	Text string
	// Unverified is set for the line of a plain sender (the tutorial's
	// "name : text" datagrams, see the package documentation): nothing
	// proves that it comes from where it claims, nor that Name is
	// anyone's.
	Unverified bool
}

// Conn is a member's session. Its methods are safe for concurrent use.
type Conn struct {
	name    string
	key     Key // from the welcome
	nc      net.Conn
	msgs    chan Message
	done    chan struct{} // closed when the session ends
	bye     chan struct{} // closed when the server said bye
	once    sync.Once
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
	dropped int
	cl      *Client

	wmu  sync.Mutex // orders the counters of the datagrams sent
	seq  uint64     // the counter of the last datagram sent
	wbuf []byte
}

// Join connects to the server at addr (host:port) and joins its group as
// name: it sends a padded join, echoes the server's cookie and waits for
// the welcome, retrying each step. The welcome's key then signs every
// datagram the session sends. ctx bounds the join only; the session
// lasts until [Conn.Leave], [Conn.Close], or the server ends it.
//
// A refusal by the server is a [*ServerError] (for instance with code
// [CodeNameTaken], or [CodeAddrFull] when the server already has as many
// members from this host as it allows); no answer at all is
// [ErrNoAnswer], which is also what a server of another version of the
// protocol gives. A host where nothing listens at addr makes Join fail at
// once (see [Client.RetryUnreachable]).
func (cl *Client) Join(ctx context.Context, addr, name string) (*Conn, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("udpcolor: invalid name %q: want 1 to %d ASCII letters, digits, '-', '_' or '.', starting with a letter or digit", textsafe.Clean(name), MaxName)
	}
	dial := cl.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	nc, err := dial(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	done := clientio.Bind(ctx, nc)
	key, err := cl.handshake(ctx, nc, name)
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx)
	}
	if err = done(err); err != nil {
		nc.Close()
		if clientio.Interrupted(err) {
			err = fmt.Errorf("udpcolor: joining: %w", err)
		}
		return nil, err
	}
	buf := cl.Buffer
	if buf <= 0 {
		buf = DefaultBuffer
	}
	c := &Conn{
		name: name,
		key:  key,
		nc:   nc,
		msgs: make(chan Message, buf),
		done: make(chan struct{}),
		bye:  make(chan struct{}),
		cl:   cl,
	}
	c.wg.Add(1)
	go c.readLoop()
	if ka := cl.keepAlive(); ka > 0 {
		c.wg.Add(1)
		go c.pingLoop(ka)
	}
	return c, nil
}

func (cl *Client) attempts() int {
	if cl.Attempts > 0 {
		return cl.Attempts
	}
	return DefaultAttempts
}

func (cl *Client) retryInterval() time.Duration {
	if cl.RetryInterval > 0 {
		return cl.RetryInterval
	}
	return DefaultRetryInterval
}

func (cl *Client) keepAlive() time.Duration {
	if cl.KeepAlive == 0 {
		return DefaultKeepAlive
	}
	return cl.KeepAlive
}

// handshake runs the two steps of a join on nc and returns the member's
// key from the welcome.
func (cl *Client) handshake(ctx context.Context, nc net.Conn, name string) (Key, error) {
	for restarts := 0; ; restarts++ {
		p, err := cl.exchange(ctx, nc, Packet{Kind: KindJoin, Name: name}, KindCookie, name)
		if err != nil {
			return Key{}, err
		}
		p, err = cl.exchange(ctx, nc, Packet{Kind: KindJoin, Name: name, Cookie: p.Cookie}, KindWelcome, name)
		var se *ServerError
		if errors.As(err, &se) && se.Code == CodeBadCookie && restarts == 0 {
			continue // the cookie expired on the way: get a fresh one, once
		}
		return p.Key, err
	}
}

// exchange sends out until a datagram of kind want for name arrives, an
// error datagram arrives, the attempts run out, or ctx is done.
func (cl *Client) exchange(ctx context.Context, nc net.Conn, out Packet, want Kind, name string) (Packet, error) {
	b, err := out.Append(nil)
	if err != nil {
		return Packet{}, err
	}
	buf := make([]byte, MaxDatagram+1)
	wait := cl.retryInterval()
	var lastErr error
	for range cl.attempts() {
		if err := ctx.Err(); err != nil {
			return Packet{}, err
		}
		if _, err := nc.Write(b); err != nil {
			return Packet{}, err
		}
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		nc.SetReadDeadline(deadline)
		// ctx may have ended, and its past deadline been overwritten just
		// now: look again.
		if err := ctx.Err(); err != nil {
			return Packet{}, err
		}
		for {
			n, err := nc.Read(buf)
			if err != nil {
				if ctx.Err() != nil {
					return Packet{}, ctx.Err()
				}
				if errors.Is(err, os.ErrDeadlineExceeded) {
					break // next attempt
				}
				if dgram.IsRefused(err) {
					if !cl.RetryUnreachable {
						return Packet{}, fmt.Errorf("%w: %w", ErrNoAnswer, err)
					}
					lastErr = err
					t := time.NewTimer(time.Until(deadline))
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
						return Packet{}, ctx.Err()
					}
					break
				}
				return Packet{}, err
			}
			if n > MaxDatagram {
				continue
			}
			p, err := Parse(buf[:n])
			if err != nil {
				continue
			}
			switch {
			case p.Kind == want && p.Name == name:
				return p, nil
			case p.Kind == KindError && p.Code != CodeBadRequest:
				return Packet{}, &ServerError{Code: p.Code, Detail: textsafe.Clean(p.Text)}
			}
		}
		wait = min(2*wait, 8*cl.retryInterval())
	}
	if lastErr != nil {
		return Packet{}, fmt.Errorf("%w: %w", ErrNoAnswer, lastErr)
	}
	return Packet{}, ErrNoAnswer
}

// Name returns the name the session joined with.
func (c *Conn) Name() string { return c.name }

// Messages returns the channel of messages relayed from other members,
// the operator and plain senders. It is closed when the session ends;
// [Conn.Err] then says why.
func (c *Conn) Messages() <-chan Message { return c.msgs }

// Done returns a channel that is closed when the session ends.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns nil while the session lasts, then why it ended: [ErrLeft],
// [ErrExpired], [ErrShutdown], [ErrClosed], or a read error.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Dropped returns the number of messages dropped because the channel of
// [Conn.Messages] was full.
func (c *Conn) Dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dropped
}

// Send sends text to the other members. text must be one line of valid
// UTF-8 of 1 to [MaxText] bytes. Sending a datagram does not block, so
// ctx is only checked before; delivery is not confirmed (this is UDP).
func (c *Conn) Send(ctx context.Context, text string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.Err(); err != nil {
		return err
	}
	if err := c.write(Packet{Kind: KindMsg, Text: text}); err != nil {
		if errors.Is(err, ErrMalformed) {
			return fmt.Errorf("udpcolor: cannot send: %w", err)
		}
		return err
	}
	return nil
}

// write sends p, a msg, ping or leave, with the next counter and its MAC.
// The lock keeps the counters in the order of the datagrams on the wire.
func (c *Conn) write(p Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	p.Seq = c.seq + 1
	b, err := c.key.Sign(p).Append(c.wbuf[:0])
	if err != nil {
		return err
	}
	c.wbuf = b
	c.seq++
	_, err = c.nc.Write(b)
	return err
}

// Leave ends the membership: it sends "leave" until the server answers
// "bye" (retrying as a join does) or ctx is done, then closes the
// session. It returns nil once the server has confirmed, [ErrNoAnswer]
// or ctx.Err() if it has not; on a session that has already ended, it
// returns the reason, as [Conn.Err] does.
func (c *Conn) Leave(ctx context.Context) error {
	if err := c.Err(); err != nil {
		return err
	}
	wait := c.cl.retryInterval()
	err := ErrNoAnswer
attempts:
	for range c.cl.attempts() {
		// Each attempt has a counter of its own: the server would take a
		// second datagram with the counter of the first for a replay.
		if werr := c.write(Packet{Kind: KindLeave}); werr != nil {
			err = werr
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-c.bye:
			t.Stop()
			err = nil
			break attempts
		case <-c.done:
			t.Stop()
			err = c.Err()
			if errors.Is(err, ErrLeft) {
				err = nil
			}
			break attempts
		case <-ctx.Done():
			t.Stop()
			err = ctx.Err()
			break attempts
		case <-t.C:
		}
		wait = min(2*wait, 8*c.cl.retryInterval())
	}
	c.end(ErrLeft)
	c.wg.Wait()
	return err
}

// Close ends the session at once, without telling the server (which will
// expire the membership), and waits for its goroutines. It is idempotent.
func (c *Conn) Close() error {
	c.end(ErrClosed)
	c.wg.Wait()
	return nil
}

// end ends the session with reason err, unless it has already ended.
func (c *Conn) end(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
		c.nc.Close()
	})
}

// readLoop delivers relayed messages until the session ends.
func (c *Conn) readLoop() {
	defer c.wg.Done()
	defer close(c.msgs)
	buf := make([]byte, MaxDatagram+1)
	for {
		n, err := c.nc.Read(buf)
		if err != nil {
			if dgram.IsRefused(err) {
				continue // an ICMP error for an earlier datagram
			}
			c.end(err)
			return
		}
		if n > MaxDatagram {
			continue
		}
		p, err := Parse(buf[:n])
		if err != nil {
			continue
		}
		switch p.Kind {
		case KindRelay, KindPlain:
			m := Message{Name: textsafe.Clean(p.Name), Text: textsafe.Clean(p.Text), Unverified: p.Kind == KindPlain}
			select {
			case c.msgs <- m:
			default:
				c.mu.Lock()
				c.dropped++
				c.mu.Unlock()
			}
		case KindBye:
			if p.Name != c.name {
				continue
			}
			var reason error
			switch p.Text {
			case ByeLeft:
				reason = ErrLeft
			case ByeExpired:
				reason = ErrExpired
			case ByeShutdown:
				reason = ErrShutdown
			default:
				reason = fmt.Errorf("udpcolor: server said bye: %s", textsafe.Clean(p.Text))
			}
			close(c.bye)
			c.end(reason)
			return
		}
	}
}

// pingLoop keeps the membership alive until the session ends.
func (c *Conn) pingLoop(every time.Duration) {
	defer c.wg.Done()
	track.Every(c.done, every, func() { c.write(Packet{Kind: KindPing}) })
}
