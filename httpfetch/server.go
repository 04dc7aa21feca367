package httpfetch

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/track"
)

// Defaults for the zero fields of [Server].
const (
	DefaultMaxConns          = 1024
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultWriteTimeout      = 30 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = track.DefaultShutdownTimeout

	// MaxMaxHeaderBytes bounds MaxHeaderBytes.
	MaxMaxHeaderBytes = 1 << 20

	// WriteChunk is how many bytes of a response must reach the client
	// within each WriteTimeout: the deadline moves forward after every
	// chunk, so a download of any size succeeds as long as it moves.
	WriteChunk = 1 << 20
)

// Server serves the files of a directory, or of an [fs.FS], over HTTP/1.1,
// with Range, If-Range, ETag, Last-Modified and Content-Type; with neither
// it answers a "Hello World" page ([HelloPage]) at every path.
//
// The zero value is a working server with safe limits. One Server may run
// several [Server.Serve] calls at once. A Server must not be copied after
// first use, nor reused after [Server.Shutdown] or [Server.Close].
type Server struct {
	// Dir is the directory to serve. Nothing outside it can be reached:
	// not through "..", not through encoded paths, not through symbolic
	// links that lead out of it (the files are opened with [os.Root]).
	Dir string

	// FS, if not nil and Dir is empty, is served instead of Dir. Files
	// that implement [io.Seeker] are served with ranges; others whole.
	FS fs.FS

	// Dotfiles serves files and directories whose name begins with a
	// dot. By default they answer 404 and are left out of listings.
	Dotfiles bool

	// MaxConns bounds the connections open at once over every Serve
	// call; a connection past it is answered 503 and closed. Zero means
	// DefaultMaxConns; negative means no limit.
	MaxConns int

	// MaxConnsPerSource bounds the connections open at once from one IP
	// address (one /64 for IPv6), so that one host cannot take every
	// slot; a connection past it is answered 503 too. Zero means a
	// twentieth of MaxConns, at least 8 (51 for the default MaxConns);
	// negative means no limit.
	MaxConnsPerSource int

	// ReadHeaderTimeout bounds the time a client may take to send the
	// headers of a request. Zero means DefaultReadHeaderTimeout.
	ReadHeaderTimeout time.Duration

	// IdleTimeout closes a keep-alive connection that sends no new
	// request for this long. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration

	// WriteTimeout is the time a client has to take each [WriteChunk]
	// bytes of a response. It is a progress deadline, not a total one:
	// it never cuts a large download that keeps moving, only a client
	// that stops reading. Zero means DefaultWriteTimeout.
	WriteTimeout time.Duration

	// MaxHeaderBytes bounds the size of request headers. Zero means
	// DefaultMaxHeaderBytes; at most MaxMaxHeaderBytes.
	MaxHeaderBytes int

	// ShutdownTimeout bounds the graceful shutdown that cancelling the
	// context given to Serve starts: requests in progress finish, idle
	// connections close; when it runs out, the rest is closed. Zero means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Logger, if not nil, receives one record per request at info level
	// (remote address, method, path, status, body bytes sent, duration
	// and Range), errors of the HTTP server and of opening files at warn
	// level, and rejected connections at debug.
	Logger *slog.Logger

	group    track.Group
	initOnce sync.Once
	initErr  error
	set      settings // resolved once, by init
	gate     *admit.Gate
	handler  http.Handler
}

// settings are the resolved fields of a Server.
type settings struct {
	readHeaderTimeout, idleTimeout time.Duration
	writeTimeout, shutdownTimeout  time.Duration
	maxHeaderBytes                 int
}

// init resolves the settings and opens Dir, once; Serve reports a bad
// setting or a Dir that cannot be opened.
func (s *Server) init() error {
	s.initOnce.Do(func() {
		r := opt.New("httpfetch")
		s.gate = admit.New(admit.Conns(r, s.MaxConns, s.MaxConnsPerSource, DefaultMaxConns))
		s.set = settings{
			readHeaderTimeout: opt.Default(r, "ReadHeaderTimeout", s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
			idleTimeout:       opt.Default(r, "IdleTimeout", s.IdleTimeout, DefaultIdleTimeout),
			writeTimeout:      opt.Default(r, "WriteTimeout", s.WriteTimeout, DefaultWriteTimeout),
			shutdownTimeout:   opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, DefaultShutdownTimeout),
			maxHeaderBytes:    opt.AtMost(r, "MaxHeaderBytes", s.MaxHeaderBytes, DefaultMaxHeaderBytes, MaxMaxHeaderBytes),
		}
		if s.initErr = r.Err(); s.initErr != nil {
			return
		}
		var fsys fs.FS
		switch {
		case s.Dir != "":
			root, err := os.OpenRoot(s.Dir)
			if err != nil {
				s.initErr = err
				return
			}
			// The Root stays open for the life of the process; it is
			// one file descriptor.
			fsys = rootFS{root}
		case s.FS != nil:
			fsys = s.FS
		}
		s.handler = &fileHandler{fsys: fsys, dotfiles: s.Dotfiles, logger: s.Logger}
	})
	return s.initErr
}

// Handler returns the http.Handler the server runs, without the
// connection limits and timeouts, for use in another http.Server or in
// tests. It fails if Dir cannot be opened.
func (s *Server) Handler() (http.Handler, error) {
	if err := s.init(); err != nil {
		return nil, err
	}
	return s.handler, nil
}

// Serve accepts connections on l and serves HTTP on them until
// [Server.Shutdown] or [Server.Close] is called or ctx is cancelled,
// which starts the same graceful shutdown as Shutdown, bounded by
// ShutdownTimeout. It always returns a non-nil error and closes l: a
// setting out of range or a Dir that cannot be opened, or
// [ErrServerClosed]. No goroutine it started outlives its return.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	err := s.init()
	hs := &http.Server{
		Handler:           &deadlineHandler{h: s.handler, timeout: s.set.writeTimeout, counters: &s.gate.Counters, logger: s.Logger},
		ReadHeaderTimeout: s.set.readHeaderTimeout,
		IdleTimeout:       s.set.idleTimeout,
		MaxHeaderBytes:    s.set.maxHeaderBytes,
		ErrorLog:          log.New(io.Discard, "", 0),
		// Requests keep ctx's values but not its end: a cancelled Serve
		// context lets the requests in progress finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ConnState:   connState,
	}
	if s.Logger != nil {
		hs.ErrorLog = slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn)
	}
	return s.group.Run(ctx, l, nil, s.set.shutdownTimeout, err, ErrServerClosed, func(sc *track.Scope) error {
		return hs.Serve(&listener{Listener: l, s: s, sc: sc, hs: hs})
	})
}

// Shutdown stops accepting connections, lets the requests in progress
// finish, closes connections as they become idle, and waits until every
// Serve call has returned. If ctx ends first, it closes everything and
// returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	return s.group.Shutdown(ctx)
}

// Close closes every listener and connection at once and waits until
// every Serve call's goroutines have ended. It is idempotent.
func (s *Server) Close() error {
	return s.group.Close()
}

// Stats counts what a [Server] has done since it started. In the shared
// [sockkit.Counters], Conns and ConnsTotal count connections (open now,
// and accepted), Requests the requests answered, BytesOut the body bytes
// sent; Dropped.Full and Dropped.SourceFull count connections answered 503
// for MaxConns and MaxConnsPerSource.
type Stats struct {
	sockkit.Counters
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.init()
	return Stats{Counters: s.gate.Counters.Load()}
}

// listener registers each accepted connection with the track scope and
// enforces MaxConns, before net/http sees it.
type listener struct {
	net.Listener
	s  *Server
	sc *track.Scope
	hs *http.Server
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		s := l.s
		ticket, why := s.gate.Conn(c.RemoteAddr())
		if why != admit.OK {
			rejectConn(c, why)
			if s.Logger != nil {
				s.Logger.Debug("httpfetch: connection refused: "+why.String(), "remote", c.RemoteAddr().String())
			}
			continue
		}
		tc := &conn{Conn: c, closed: make(chan struct{}), hs: l.hs, ticket: ticket}
		release := tc.ticket.Release
		remove, ok := l.sc.AddConn(tc, tc.onShutdown)
		if !ok {
			release()
			c.Close()
			continue
		}
		// A goroutine of the scope waits for net/http's goroutine for this
		// connection to be done with it, so that Shutdown, Close and
		// Serve's return wait for it too.
		if !l.sc.Go(func() {
			<-tc.closed
			remove()
			release()
		}) {
			remove()
			release()
			c.Close()
			continue
		}
		return tc, nil
	}
}

// rejectConn answers a connection past MaxConns or MaxConnsPerSource
// with 503 and closes it. The answer fits in any socket buffer, so the
// write does not block; the deadline is there in case it does.
func rejectConn(c net.Conn, why admit.Reason) {
	body := "too many connections"
	if why == admit.SourceFull {
		body = "too many connections from your address"
	}
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nRetry-After: 1\r\n\r\n%s", len(body), body)
	c.Close()
}

// conn is a connection as net/http sees it. It follows the state net/http
// reports through ConnState, to close idle connections during a graceful
// shutdown, and signals when net/http is done with it.
type conn struct {
	net.Conn
	hs        *http.Server
	mu        sync.Mutex
	state     http.ConnState
	draining  bool
	closed    chan struct{}
	closeOnce sync.Once
	ticket    admit.Ticket // its admission, released when net/http is done with it
}

// ReadFrom lets net/http send files with sendfile(2) through the wrapper.
func (c *conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// newConnGrace is how long a connection that has not sent its first
// request yet may still send it once a graceful shutdown has begun: it
// may already be on the wire.
const newConnGrace = time.Second

// onShutdown is called by the track scope when a graceful shutdown
// begins: idle connections are closed; new ones get newConnGrace to send
// their first request (net/http closes them when the read deadline
// passes); busy ones close after their response (keep-alives are off).
func (c *conn) onShutdown() {
	c.hs.SetKeepAlivesEnabled(false)
	c.mu.Lock()
	c.draining = true
	st := c.state
	c.mu.Unlock()
	switch st {
	case http.StateIdle:
		c.Conn.Close()
	case http.StateNew:
		c.Conn.SetReadDeadline(time.Now().Add(newConnGrace))
	}
}

func connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	c.mu.Lock()
	c.state = st
	draining := c.draining
	c.mu.Unlock()
	switch st {
	case http.StateIdle:
		if draining {
			c.Conn.Close()
		}
	case http.StateClosed, http.StateHijacked:
		// StateClosed is the last thing net/http's goroutine does.
		c.closeOnce.Do(func() { close(c.closed) })
	}
}

// rootFS serves the files of an os.Root, opened so that opening never
// blocks: a FIFO put in place of a file between the handler's Stat and its
// Open would otherwise hold the request (and Close) until a writer came.
// The handler serves regular files only; it checks the opened file.
type rootFS struct{ root *os.Root }

func (r rootFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := r.root.OpenFile(name, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	return f, nil
}
