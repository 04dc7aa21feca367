package chat

import (
	"context"
	"errors"
	"fmt"
	"github.com/sockkit/sockkit/internal/clientio"
	"io"
	"net"
	"strings"
	"sync"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// Client settings for joining a chat server. The zero value is ready to
// use.
type Client struct {
	// Dial, if not nil, opens the connection; a [*net.Dialer]'s
	// DialContext fits. Nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// MaxLineBytes is the longest line accepted from the server; longer
	// lines are skipped. Zero means 64 KiB.
	MaxLineBytes int

	// EventBuffer is how many events wait in [Conn.Events] before the
	// client stops reading from the server (which then, in time,
	// disconnects it as too slow). Zero means 256.
	EventBuffer int
}

// ErrClosed is the reason ([Conn.Err]) of a session ended by [Conn.Close].
var ErrClosed = errors.New("chat: connection closed")

// ErrRefused is wrapped by a [ServerError] for an ERR line, and ErrBye by
// one for a BYE line.
var (
	ErrRefused = errors.New("chat: refused by server")
	ErrBye     = errors.New("chat: disconnected by server")
)

// ServerError is an ERR or BYE line from the server as an error: an ERR
// while joining (a bad or taken nickname), or the BYE that ended a
// session.
type ServerError struct {
	Kind Kind   // KindError or KindBye
	Code string // for example CodeNickTaken or ByeShutdown
	Text string // the server's explanation
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("chat: server says %s %s: %s", e.Kind, e.Code, e.Text)
}

// Unwrap returns [ErrBye] for a BYE line and [ErrRefused] for an ERR line.
func (e *ServerError) Unwrap() error {
	if e.Kind == KindBye {
		return ErrBye
	}
	return ErrRefused
}

// Conn is a joined chat session. Its methods are safe for concurrent use.
type Conn struct {
	c        net.Conn
	nick     string
	events   chan Event
	done     chan struct{} // closed by Close
	readDone chan struct{} // closed when the reader has ended
	lr       *lineReader

	wmu sync.Mutex // one writer at a time

	mu        sync.Mutex
	err       error
	closeOnce sync.Once
}

// Dial joins the chat server at addr (host:port, TCP) as nick, with a
// zero [Client]. ctx bounds the dial and the joining only.
func Dial(ctx context.Context, addr, nick string) (*Conn, error) {
	var cl Client
	return cl.Join(ctx, addr, nick)
}

// Join connects to the chat server at addr and joins as nick. It returns
// once the server has accepted the nickname; a refused nickname is a
// [*ServerError] with Code [CodeNickTaken] or [CodeBadNick]. ctx bounds
// the dial and the joining only, not the session.
func (cl *Client) Join(ctx context.Context, addr, nick string) (*Conn, error) {
	dial := cl.Dial
	if dial == nil {
		dial = new(net.Dialer).DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("chat: dial: %w", err)
	}
	conn, err := cl.NewConn(ctx, c, nick)
	if err != nil {
		c.Close()
		return nil, err
	}
	return conn, nil
}

// NewConn joins as nick over c, an open connection to a chat server,
// and returns the session, which owns c from then on. ctx bounds the
// joining only.
func (cl *Client) NewConn(ctx context.Context, c net.Conn, nick string) (*Conn, error) {
	if !ValidNick(nick) {
		return nil, &ServerError{Kind: KindError, Code: CodeBadNick, Text: "invalid nickname " + fmt.Sprintf("%q", nick)}
	}
	maxLine := opt.Or(cl.MaxLineBytes, 64<<10)
	conn := &Conn{
		c:        c,
		events:   make(chan Event, opt.Or(cl.EventBuffer, 256)),
		done:     make(chan struct{}),
		readDone: make(chan struct{}),
		lr:       newLineReader(c, maxLine),
	}
	done := clientio.Bind(ctx, c)
	nickName, early, err := conn.handshake(nick)
	if err == nil && ctx.Err() != nil {
		err = context.Cause(ctx) // ctx ended as the handshake did: give up all the same
	}
	if err = done(err); err != nil {
		if clientio.Interrupted(err) {
			err = fmt.Errorf("chat: joining: %w", err)
		}
		c.Close()
		return nil, err
	}
	conn.nick = nickName
	go conn.readLoop(early)
	return conn, nil
}

// handshake waits for HELLO, sends the nickname and waits for WELCOME.
// It returns the events that came with the welcome (the JOIN, maybe
// more), to be delivered first.
func (conn *Conn) handshake(nick string) (string, []Event, error) {
	sent := false
	var early []Event
	for {
		e, err := conn.next()
		if err != nil {
			return "", nil, fmt.Errorf("chat: joining: %w", err)
		}
		switch e.Kind {
		case KindHello:
			if !sent {
				if _, err := io.WriteString(conn.c, "/nick "+nick+"\n"); err != nil {
					return "", nil, fmt.Errorf("chat: joining: %w", err)
				}
				sent = true
			}
		case KindWelcome:
			return e.Nick, append(early, e), nil
		case KindError, KindBye:
			return "", nil, &ServerError{Kind: e.Kind, Code: e.Code, Text: e.Text}
		}
	}
}

// next reads and parses one line, skipping lines that are too long or
// malformed, and makes every field safe for a terminal.
func (conn *Conn) next() (Event, error) {
	for {
		b, err := conn.lr.next()
		if err == errLineTooLong {
			continue
		}
		if err != nil {
			return Event{}, err
		}
		e, err := ParseEvent(string(b))
		if err != nil {
			continue
		}
		e.Room = textsafe.Clean(e.Room)
		e.Nick = textsafe.Clean(e.Nick)
		e.Target = textsafe.Clean(e.Target)
		e.Code = textsafe.Clean(e.Code)
		e.Text = textsafe.Clean(e.Text)
		return e, nil
	}
}

func (conn *Conn) readLoop(early []Event) {
	defer close(conn.readDone)
	defer close(conn.events)
	defer conn.c.Close()
	for _, e := range early {
		if !conn.emit(e) {
			return
		}
	}
	for {
		e, err := conn.next()
		if err != nil {
			select {
			case <-conn.done:
				conn.setErr(ErrClosed)
			default:
				if err == io.EOF || err == io.ErrUnexpectedEOF {
					err = io.ErrUnexpectedEOF
				}
				conn.setErr(fmt.Errorf("chat: connection lost: %w", err))
			}
			return
		}
		if !conn.emit(e) {
			return
		}
		if e.Kind == KindBye {
			conn.setErr(&ServerError{Kind: e.Kind, Code: e.Code, Text: e.Text})
			return
		}
	}
}

// emit hands e to the reader of Events, or gives up when Close is called.
func (conn *Conn) emit(e Event) bool {
	select {
	case conn.events <- e:
		return true
	case <-conn.done:
		conn.setErr(ErrClosed)
		return false
	}
}

func (conn *Conn) setErr(err error) {
	conn.mu.Lock()
	if conn.err == nil {
		conn.err = err
	}
	conn.mu.Unlock()
}

// Nick returns the nickname the server accepted when joining.
func (conn *Conn) Nick() string { return conn.nick }

// Events returns the channel of events from the server: the WELCOME and
// the JOIN of joining first, then every line the server sends. It is
// closed when the session ends, after the BYE line if there is one;
// [Conn.Err] then says why.
func (conn *Conn) Events() <-chan Event { return conn.events }

// Err returns why the session ended once [Conn.Events] is closed: a
// [*ServerError] for a BYE line (Code [ByeQuit] after [Conn.Quit]),
// [ErrClosed] after [Conn.Close], or an error wrapping the network error
// when the connection dropped. It returns nil while the session runs.
func (conn *Conn) Err() error {
	conn.mu.Lock()
	defer conn.mu.Unlock()
	return conn.err
}

// Say sends a message to the current room. A message that starts with
// '/' is sent escaped (as "//..."), so it is never taken for a command.
// It must be a single line.
func (conn *Conn) Say(ctx context.Context, text string) error {
	if strings.HasPrefix(text, "/") {
		text = "/" + text
	}
	return conn.Send(ctx, text)
}

// Command sends the command name (without its '/') with its arguments,
// separated by spaces: Command(ctx, "join", "go") sends "/join go".
func (conn *Conn) Command(ctx context.Context, name string, args ...string) error {
	return conn.Send(ctx, "/"+strings.Join(append([]string{name}, args...), " "))
}

// Send sends one raw line, a command or a message, adding the "\n". It
// must not contain "\r" or "\n". ctx bounds the write.
func (conn *Conn) Send(ctx context.Context, line string) error {
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("chat: a line must not contain \\r or \\n")
	}
	conn.wmu.Lock()
	defer conn.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("chat: send: %w", context.Cause(ctx))
	}
	done := clientio.BindWrite(ctx, conn.c)
	buf := make([]byte, 0, len(line)+1)
	buf = append(append(buf, line...), '\n')
	_, err := conn.c.Write(buf)
	if err = done(err); err != nil {
		return fmt.Errorf("chat: send: %w", err)
	}
	return nil
}

// Quit sends "/quit reason" and waits, draining [Conn.Events], until the
// server has said goodbye and closed, or ctx is done; then it closes the
// connection. It returns nil after the server's "BYE quit".
func (conn *Conn) Quit(ctx context.Context, reason string) error {
	line := "/quit"
	if reason != "" {
		line += " " + reason
	}
	if err := conn.Send(ctx, line); err != nil {
		conn.Close()
		return err
	}
	for {
		select {
		case _, ok := <-conn.events:
			if ok {
				continue
			}
			conn.Close()
			var se *ServerError
			if err := conn.Err(); errors.As(err, &se) && se.Kind == KindBye && se.Code == ByeQuit {
				return nil
			} else {
				return err
			}
		case <-ctx.Done():
			conn.Close()
			return context.Cause(ctx)
		}
	}
}

// Close closes the connection at once and waits for the session's
// goroutine to end. Events is closed; Err returns [ErrClosed] unless the
// session had already ended for another reason. Close is idempotent.
func (conn *Conn) Close() error {
	conn.closeOnce.Do(func() {
		close(conn.done)
		conn.c.Close()
	})
	<-conn.readDone
	return nil
}
