package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// wsChunk is the most a browser connection reads from its socket ahead
// of the session: the rest waits in the system's buffers, so that flood
// control holds a browser back as TCP flow control holds back nc.
const wsChunk = 2048

// wsConn is a WebSocket as the net.Conn a session runs on: reads return
// the lines of the messages received (see wsLines), each Write sends every
// line it holds as one text message, without its "\n".
//
// Unlike websocket.NetConn, a read deadline that passes does not close
// the connection: a session stops its read loop with a deadline in the
// past and then still writes its BYE line. So reads come from a pump
// goroutine that reads the socket a chunk at a time and waits until the
// session has taken each chunk.
type wsConn struct {
	ws     *websocket.Conn
	raw    net.Conn     // the hijacked connection under ws
	fw     *frameWriter // what ws writes to raw through, and Write too
	ctx    context.Context
	cancel context.CancelFunc

	readMu  sync.Mutex // one Read at a time; guards rest
	rest    []byte     // the part of the pump's chunk not read yet
	in      chan []byte
	ack     chan struct{} // the session has taken the chunk: the pump may reuse it
	readErr error         // why the pump stopped; set before in is closed
	rd      deadline

	writeMu sync.Mutex // one Write at a time; guards wbuf
	wbuf    []byte     // the frames of a Write
	wdl     atomic.Pointer[time.Time]

	closeOnce sync.Once
	closing   chan struct{} // closed when Close begins
	pumpDone  chan struct{}
	done      chan struct{} // closed when Close has finished
}

func newWSConn(ws *websocket.Conn, raw net.Conn, fw *frameWriter) *wsConn {
	ws.SetReadLimit(-1) // the session's line reader bounds the memory a line takes
	ctx, cancel := context.WithCancel(context.Background())
	c := &wsConn{
		ws:       ws,
		raw:      raw,
		fw:       fw,
		ctx:      ctx,
		cancel:   cancel,
		in:       make(chan []byte),
		ack:      make(chan struct{}, 1),
		closing:  make(chan struct{}),
		pumpDone: make(chan struct{}),
		done:     make(chan struct{}),
	}
	c.rd.init()
	go c.pump()
	return c
}

// pump reads the lines of the messages a chunk at a time and hands each
// chunk to Read. It returns when the socket fails or closes.
func (c *wsConn) pump() {
	defer close(c.pumpDone)
	src := &wsLines{next: c.nextMessage}
	buf := make([]byte, wsChunk)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			select {
			case c.in <- buf[:n]:
			case <-c.closing:
				return
			}
			select {
			case <-c.ack:
			case <-c.closing:
				return
			}
		}
		if err != nil {
			c.readErr = err
			close(c.in)
			return
		}
	}
}

// nextMessage waits for the next message. A close frame with a normal
// status ends the input like the end of a TCP stream.
func (c *wsConn) nextMessage() (io.Reader, error) {
	_, r, err := c.ws.Reader(c.ctx)
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatusRcvd:
		return nil, io.EOF
	}
	return r, err
}

// Read returns bytes of the lines received, waiting for them until the
// read deadline.
func (c *wsConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	expired := c.rd.wait()
	if len(c.rest) == 0 {
		select {
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		default:
		}
		select {
		case chunk, ok := <-c.in:
			if !ok {
				return 0, c.readErr
			}
			c.rest = chunk
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		case <-c.closing:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	if len(c.rest) == 0 {
		c.ack <- struct{}{} // never blocks: one chunk is out at a time
	}
	return n, nil
}

// Write sends each line of p as one text message, without its "\n"; a
// last piece without "\n" is a message too. Text that is not valid UTF-8,
// which a WebSocket text message cannot carry, has the bad bytes replaced
// by U+FFFD. When the write deadline passes, the connection is closed
// (a WebSocket cannot resume a message cut short) and Write returns an
// error that wraps [os.ErrDeadlineExceeded].
func (c *wsConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	var deadline time.Time
	if t := c.wdl.Load(); t != nil {
		deadline = *t
	}
	b := c.wbuf[:0]
	for rest := p; len(rest) > 0; {
		line, after, _ := bytes.Cut(rest, []byte{'\n'})
		if !utf8.Valid(line) {
			line = []byte(strings.ToValidUTF8(string(line), "\uFFFD"))
		}
		b = appendTextFrame(b, line)
		rest = after
	}
	err := c.fw.sendText(b, deadline)
	if cap(b) <= 64<<10 {
		c.wbuf = b // a burst's buffer is not kept for an idle session
	}
	switch {
	case err == nil:
		return len(p), nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.raw.Close() // a message cut short cannot be resumed
		return 0, fmt.Errorf("chat: websocket write: %w", os.ErrDeadlineExceeded)
	}
	return 0, err
}

// CloseWrite starts the WebSocket closing handshake: it sends a close
// frame with status 1000 (normal closure) and waits, at most lingerTime,
// for the browser's. Reads then return io.EOF. A session calls it after
// its BYE line, as it half-closes a TCP connection.
func (c *wsConn) CloseWrite() error {
	t := time.AfterFunc(lingerTime, func() { c.raw.Close() })
	defer t.Stop()
	return c.ws.Close(websocket.StatusNormalClosure, "")
}

// Close closes the connection at once and waits for the pump to return.
func (c *wsConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.cancel()
		c.raw.Close()
		c.ws.CloseNow()
		<-c.pumpDone
		close(c.done)
	})
	<-c.done
	return nil
}

// refuse sends line to a connection that no session will serve, and
// closes it.
func (c *wsConn) refuse(e Event) {
	c.SetWriteDeadline(time.Now().Add(lingerTime))
	c.Write(e.appendLine(nil, true))
	c.CloseWrite()
	c.Close()
}

func (c *wsConn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *wsConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

func (c *wsConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.rd.set(t)
	return nil
}

// SetWriteDeadline sets the deadline of the Writes that start after it;
// the session sets it before each write.
func (c *wsConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.wdl.Store(nil)
	} else {
		c.wdl.Store(&t)
	}
	return nil
}

// SetWriteBuffer sets the send buffer (SO_SNDBUF) of the TCP connection
// under the WebSocket, as Server.SendBuffer asks.
func (c *wsConn) SetWriteBuffer(n int) error { return setWriteBuffer(c.raw, n) }

// deadline is a read deadline that wakes a waiting Read: wait returns a
// channel that is closed once the deadline has passed.
type deadline struct {
	mu    sync.Mutex
	gen   uint64 // counts set calls, so that a stale timer does nothing
	timer *time.Timer
	ch    chan struct{}
}

func (d *deadline) init() { d.ch = make(chan struct{}) }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	if isClosed(d.ch) {
		d.ch = make(chan struct{})
	}
	if t.IsZero() {
		return
	}
	dur := time.Until(t)
	if dur <= 0 {
		close(d.ch)
		return
	}
	gen, ch := d.gen, d.ch
	d.timer = time.AfterFunc(dur, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			close(ch)
		}
	})
}

func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
