package chat

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// WebSocket is the chat endpoint for browsers: an [http.Handler] that
// upgrades each request to a WebSocket (RFC 6455), and a [net.Listener]
// whose Accept returns those connections, so that [Server.Serve] runs on
// them the very sessions it runs on TCP, in the same rooms, with the same
// limits, flood control, idle timeout and shutdown:
//
//	ws := new(chat.WebSocket)
//	go srv.Serve(ctx, ws)      // sessions, as for a TCP listener
//	mux.Handle("GET /ws", ws)  // the handshake
//	mux.Handle("GET /{$}", chat.WebPage())
//
// Over the socket the client speaks the line protocol of the package
// documentation, one line per message (see "Browser" there). The
// handshake is refused with 403 Forbidden when the request's Origin is
// neither the socket's own host nor matches OriginPatterns, so that a page
// of another site cannot open a socket in its visitor's name; a request
// without Origin (a program, not a browser) is let in. A handshake that
// arrives before Serve runs on the WebSocket waits for it; one that
// arrives after Serve has ended gets 503 Service Unavailable.
//
// The zero value is ready to use. Like a listener, a WebSocket serves one
// Server and is not reused once closed.
type WebSocket struct {
	// OriginPatterns lists the origins, besides the socket's own host,
	// whose pages may open a socket: for a page served at
	// https://example.com that talks to wss://chat.example.com, add
	// "example.com". Each pattern is matched without regard to case with
	// [path.Match] against the origin's host[:port], or against
	// scheme://host[:port] when the pattern contains "://". Nil means
	// the socket's own host only. Never add "*": any site could then
	// talk to the server as any of its visitors.
	OriginPatterns []string

	initOnce  sync.Once
	conns     chan *wsConn
	done      chan struct{}
	closeOnce sync.Once
	ready     chan struct{} // closed by the first Accept
	readyOnce sync.Once
}

func (w *WebSocket) init() {
	w.initOnce.Do(func() {
		w.conns = make(chan *wsConn)
		w.done = make(chan struct{})
		w.ready = make(chan struct{})
	})
}

// ServeHTTP upgrades the request to a WebSocket and hands the connection
// to the Serve call running on w. It returns when the session has ended.
func (w *WebSocket) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w.init()
	select {
	case <-w.ready:
	case <-w.done:
	case <-r.Context().Done():
		return
	}
	if w.closed() {
		http.Error(rw, "chat: server closed", http.StatusServiceUnavailable)
		return
	}
	if !hijackable(rw) {
		http.Error(rw, "chat: this connection cannot carry a WebSocket (it needs HTTP/1.1)", http.StatusNotImplemented)
		return
	}
	hj := &hijackRecorder{ResponseWriter: rw}
	ws, err := websocket.Accept(hj, r, &websocket.AcceptOptions{OriginPatterns: w.OriginPatterns})
	if err != nil {
		return // Accept has answered: 403 for a foreign origin, 426 for a plain request, ...
	}
	// The http.Server's read and write timeouts, if any, must not cut
	// the session short: from now on the session's own limits apply.
	hj.conn.SetDeadline(time.Time{})
	c := newWSConn(ws, hj.conn, hj.fw)
	select {
	case w.conns <- c:
	case <-w.done:
		c.refuse(Event{Kind: KindBye, Code: ByeShutdown, Text: "server shutting down"})
	}
	<-c.done
}

// Accept waits for the next browser connection. It returns
// [net.ErrClosed] once w is closed.
func (w *WebSocket) Accept() (net.Conn, error) {
	w.init()
	w.readyOnce.Do(func() { close(w.ready) })
	select {
	case c := <-w.conns:
		return c, nil
	case <-w.done:
		return nil, &net.OpError{Op: "accept", Net: wsNetwork, Addr: wsAddr{}, Err: net.ErrClosed}
	}
}

// Close stops accepting: new handshakes get 503 Service Unavailable.
// Connections accepted before stay open; [Server.Shutdown] and
// [Server.Close] end them. Close is idempotent.
func (w *WebSocket) Close() error {
	w.init()
	w.closeOnce.Do(func() { close(w.done) })
	return nil
}

// Addr returns a placeholder address: the sockets arrive through an HTTP
// server, which has the real one.
func (w *WebSocket) Addr() net.Addr { return wsAddr{} }

func (w *WebSocket) closed() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

const wsNetwork = "websocket"

// wsAddr is the address of a [WebSocket] listener.
type wsAddr struct{}

func (wsAddr) Network() string { return wsNetwork }
func (wsAddr) String() string  { return wsNetwork }

// hijackRecorder passes the ResponseWriter to websocket.Accept and keeps
// the connection it hijacks, whose socket options (SO_SNDBUF) and
// deadlines the session needs. What the WebSocket writes goes through a
// frameWriter, which the session's data frames share.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
	fw   *frameWriter
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return c, brw, err
	}
	if err := brw.Writer.Flush(); err != nil { // nothing should be left, but
		return c, brw, err
	}
	h.conn, h.fw = c, &frameWriter{w: c}
	return c, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(h.fw, brw.Writer.Size())), nil
}

// frameWriter is the one way to a browser's socket. websocket.Conn
// writes its control frames (pongs, the close) through it, each frame in
// one Write since it flushes at the end of every frame and they are
// small; a session's text messages, one per line, go through sendText,
// framed here, all the lines of one session write in one system call.
// (Through websocket.Conn.Write, each message costs a flush, a system
// call, a context and a lock of its own: with a third of 1,000 clients
// on WebSocket, that made most of the server's work.)
type frameWriter struct {
	mu     sync.Mutex
	w      net.Conn
	closed bool // a close frame has gone: no data frame may follow it
}

// Write passes a frame of websocket.Conn's on, noting a close frame.
func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == wsOpClose {
		f.closed = true
	}
	return f.w.Write(p)
}

// sendText writes frames, whole text frames made by appendTextFrame, by
// deadline if it is not zero. After a close frame it writes nothing and
// returns net.ErrClosed.
func (f *frameWriter) sendText(frames []byte, deadline time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return net.ErrClosed
	}
	f.w.SetWriteDeadline(deadline)
	_, err := f.w.Write(frames)
	f.w.SetWriteDeadline(time.Time{})
	return err
}

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	wsOpText  = 0x1
	wsOpClose = 0x8
)

// appendTextFrame appends payload as one unmasked text frame, FIN set
// (RFC 6455, section 5.2: a server's frames are not masked): the opcode
// byte, then the length in 7 bits, or 126 and 16 bits, or 127 and 64
// bits, big-endian; then the payload.
func appendTextFrame(b, payload []byte) []byte {
	b = append(b, 0x80|wsOpText)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// hijackable reports whether rw, or a writer it wraps, can be hijacked,
// as http.ResponseController finds out.
func hijackable(rw http.ResponseWriter) bool {
	for {
		switch t := rw.(type) {
		case http.Hijacker:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			rw = t.Unwrap()
		default:
			return false
		}
	}
}
