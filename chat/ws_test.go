package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// web is a chat server on TCP and, through an HTTP server, on a
// WebSocket with its page: one room, every client.
type web struct {
	srv  *Server
	ws   *WebSocket
	tcp  string // the TCP listener's address
	http *httptest.Server
	errc chan error
}

// startWeb serves srv on TCP and on ws (a new one when nil), with the
// page at "/" and the socket at "/ws". Its stop shuts both down, the
// chat server first, so that every client gets its BYE.
func startWeb(t *testing.T, srv *Server, ws *WebSocket) (*web, func()) {
	t.Helper()
	if ws == nil {
		ws = new(WebSocket)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &web{srv: srv, ws: ws, tcp: l.Addr().String(), errc: make(chan error, 2)}
	go func() { w.errc <- srv.Serve(context.Background(), l) }()
	go func() { w.errc <- srv.Serve(context.Background(), ws) }()
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", WebPage())
	mux.Handle("GET /ws", ws)
	w.http = httptest.NewServer(mux)
	return w, func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-w.errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
		w.http.Close()
	}
}

// wsURL is the socket's URL.
func (w *web) wsURL() string { return "ws" + strings.TrimPrefix(w.http.URL, "http") + "/ws" }

// lineClient is a client that speaks the line protocol by hand: raw over
// TCP, wsRaw over a WebSocket.
type lineClient interface {
	send(s string) // lines, each ended by "\n"
	line() string
	expect(want string)
	until(want string) []string
	expectEOF()
}

// wsRaw is a browser by hand: one message per line, both ways.
type wsRaw struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, url string, h http.Header) (*wsRaw, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("%w (status %d)", err, resp.StatusCode)
		}
		return nil, err
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return &wsRaw{t: t, c: c}, nil
}

func mustDialWS(t *testing.T, url string) *wsRaw {
	t.Helper()
	c, err := dialWS(t, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// send sends each line of s as one message, without its "\n".
func (w *wsRaw) send(s string) {
	w.t.Helper()
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			w.message(websocket.MessageText, strings.TrimSuffix(l, "\n"))
		}
	}
}

// message sends one message as it is.
func (w *wsRaw) message(typ websocket.MessageType, s string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := w.c.Write(ctx, typ, []byte(s)); err != nil {
		w.t.Fatalf("send %q: %v", s, err)
	}
}

func (w *wsRaw) line() string {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	typ, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("reading a message: %v", err)
	}
	if typ != websocket.MessageText {
		w.t.Fatalf("got a %v message %q, want text", typ, b)
	}
	if strings.Contains(string(b), "\n") {
		w.t.Fatalf("message %q holds a line ending", b)
	}
	return string(b)
}

func (w *wsRaw) expect(want string) {
	w.t.Helper()
	if got := w.line(); got != want {
		w.t.Fatalf("got line %q, want %q", got, want)
	}
}

func (w *wsRaw) until(want string) []string {
	w.t.Helper()
	var seen []string
	for {
		l := w.line()
		if l == want {
			return seen
		}
		seen = append(seen, l)
	}
}

// expectEOF checks that the next thing is the server's close frame with
// status 1000, as after a BYE.
func (w *wsRaw) expectEOF() {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	typ, b, err := w.c.Read(ctx)
	if err == nil {
		w.t.Fatalf("unexpected %v message %q before close", typ, b)
	}
	if st := websocket.CloseStatus(err); st != websocket.StatusNormalClosure {
		w.t.Fatalf("connection ended with %v (status %d), want a normal closure", err, st)
	}
}

// transports are the ways to reach one server: the tests below run the
// same session over each, and expect the same lines.
var transports = []struct {
	name string
	dial func(t *testing.T, w *web) lineClient
}{
	{"tcp", func(t *testing.T, w *web) lineClient { return dialRaw(t, w.tcp) }},
	{"websocket", func(t *testing.T, w *web) lineClient { return mustDialWS(t, w.wsURL()) }},
}

// loginOn connects over a transport and takes nick.
func loginOn(t *testing.T, c lineClient, nick string) lineClient {
	t.Helper()
	if l := c.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("first line %q, want HELLO", l)
	}
	c.send(nick + "\n")
	if l := c.line(); !strings.HasPrefix(l, "WELCOME "+nick+" ") {
		t.Fatalf("got %q, want WELCOME", l)
	}
	c.expect("JOIN lobby " + nick)
	return c
}

// TestOneRoom puts a browser and an nc user in one room.
func TestOneRoom(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	addrs := map[string]string{}
	srv := &Server{Filter: func(m *Message) error {
		mu.Lock()
		defer mu.Unlock()
		addrs[m.From] = m.Addr.String()
		return nil
	}}
	w, stop := startWeb(t, srv, nil)
	defer stop()

	nc := loginOn(t, dialRaw(t, w.tcp), "nc")
	br := loginOn(t, mustDialWS(t, w.wsURL()), "browser")
	nc.expect("JOIN lobby browser")
	br.send("hello from the web\n")
	nc.expect("MSG lobby browser hello from the web")
	br.expect("MSG lobby browser hello from the web")
	nc.send("hi back\n")
	nc.expect("MSG lobby nc hi back")
	br.expect("MSG lobby nc hi back")
	br.send("/msg nc psst\n")
	nc.expect("PRIV browser nc psst")
	br.expect("PRIV browser nc psst")
	br.send("/join ops\n")
	nc.expect("PART lobby browser")
	br.expect("PART lobby browser")
	br.expect("JOIN ops browser")
	br.send("/who lobby\n")
	br.expect("WHO lobby nc")
	br.send("/quit bye all\n")
	br.expect("BYE quit goodbye")
	br.expectEOF()
	nc.send("/who ops\n")
	nc.expect("WHO ops")

	mu.Lock()
	defer mu.Unlock()
	if a := addrs["browser"]; !strings.HasPrefix(a, "127.0.0.1:") {
		t.Errorf("the browser's address is %q, want its TCP address", a)
	}
}

// TestTransportLimits checks that the limits are the same on every
// transport: long lines, bad UTF-8, control characters.
func TestTransportLimits(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			w, stop := startWeb(t, &Server{MaxLineBytes: 64}, nil)
			defer stop()
			c := loginOn(t, tr.dial(t, w), "a")
			c.send(strings.Repeat("x", 64) + "\n")
			c.expect("MSG lobby a " + strings.Repeat("x", 64))
			c.send(strings.Repeat("y", 65) + "\n")
			c.expect("ERR too-long line longer than 64 bytes; dropped")
			c.send(strings.Repeat("z", 1<<20) + "\n") // far past any buffer: read and thrown away
			c.expect("ERR too-long line longer than 64 bytes; dropped")
			c.send("bad \xff\n")
			c.expect("ERR bad-utf8 line is not valid UTF-8; dropped")
			c.send("still \x1b[31mhere\n")
			c.expect("MSG lobby a still here")
			if d := w.srv.Stats().Dropped; d.Oversize != 2 || d.Malformed != 1 {
				t.Errorf("drops counted %+v, want 2 oversize, 1 malformed", d)
			}
		})
	}
}

// TestTransportFlood checks flood control on every transport: lines sent
// at once past the burst are slowed down, not dropped.
func TestTransportFlood(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			w, stop := startWeb(t, &Server{LineRate: 100, LineBurst: 2}, nil)
			defer stop()
			c := loginOn(t, tr.dial(t, w), "a")
			var b strings.Builder
			for i := range 30 {
				fmt.Fprintf(&b, "line %d\n", i)
			}
			c.send(b.String())
			for i := range 30 {
				c.expect(fmt.Sprintf("MSG lobby a line %d", i))
			}
		})
	}
}

func TestTransportIdle(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			w, stop := startWeb(t, &Server{IdleTimeout: 300 * time.Millisecond}, nil)
			defer stop()
			c := loginOn(t, tr.dial(t, w), "a")
			c.expect("BYE idle nothing received for 300ms")
			c.expectEOF()
			if n := w.srv.Stats().Dropped.Idle; n != 1 {
				t.Errorf("%d idle clients counted, want 1", n)
			}
		})
	}
}

func TestTransportShutdown(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			w, stop := startWeb(t, &Server{}, nil)
			a := loginOn(t, tr.dial(t, w), "a")
			b := loginOn(t, tr.dial(t, w), "b")
			a.expect("JOIN lobby b")
			b.send("last words\n")
			a.expect("MSG lobby b last words")
			b.expect("MSG lobby b last words")
			stop()
			for _, c := range []lineClient{a, b} {
				// The other's QUIT may come first: its session can end
				// before Shutdown has reached this one.
				for _, l := range c.until("BYE shutdown server shutting down") {
					if l != "QUIT lobby a server shutting down" && l != "QUIT lobby b server shutting down" {
						t.Errorf("line %q before the BYE", l)
					}
				}
				c.expectEOF()
			}
			if n := w.srv.Stats().Conns; n != 0 {
				t.Errorf("%d connections left after Shutdown", n)
			}
		})
	}
}

// TestTransportSlowReader checks that a client that stops reading is
// dropped the same way on every transport, and that the others lose
// nothing.
func TestTransportSlowReader(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			w, stop := startWeb(t, &Server{MaxQueueBytes: 64 << 10, LineRate: -1}, nil)
			slow := loginOn(t, tr.dial(t, w), "slow")
			sender := loginOn(t, dialRaw(t, w.tcp), "sender")
			slow.expect("JOIN lobby sender") // and then it reads no more
			// The sender talks, reading its own lines back in windows so
			// that it is never slow itself, until the server drops the
			// slow client.
			pad := strings.Repeat(".", 900)
			const window = 16
			sent, got := 0, 0
			for kicked := false; !kicked; {
				if sent > 200000 {
					t.Fatal("the slow client was never disconnected")
				}
				for range window {
					sender.send(fmt.Sprintf("%d %s\n", sent, pad))
					sent++
				}
				for got < sent {
					l := sender.line()
					switch {
					case l == "QUIT lobby slow too slow":
						kicked = true
					case l != fmt.Sprintf("MSG lobby sender %d %s", got, pad):
						t.Fatalf("sender got %.40q, want its message %d", l, got)
					default:
						got++
					}
				}
			}
			t.Logf("the slow client was dropped after %d lines (%d KiB)", sent, sent*len(pad)>>10)
			stop() // the slow session ends once its last write has failed
			if n := w.srv.Stats().Dropped.Slow; n != 1 {
				t.Errorf("%d slow clients counted, want 1", n)
			}
		})
	}
}

func TestWebSocketOrigin(t *testing.T) {
	t.Parallel()
	ws := &WebSocket{OriginPatterns: []string{"*.example.com", "https://other.example"}}
	w, stop := startWeb(t, &Server{}, ws)
	defer stop()
	own := w.http.URL // http://127.0.0.1:port
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{own, true},
		{strings.Replace(own, "127.0.0.1", "LOCALHOST", 1), false}, // another host: a name is not its address
		{"http://127.0.0.1:1", false},                              // another port is another site
		{"https://evil.test", false},
		{"http://chat.example.com", true},
		{"https://a.b.example.com", true}, // path.Match's "*" spans dots
		{"https://other.example", true},
		{"http://other.example", false}, // the pattern names the scheme
		{"null", false},                 // a sandboxed frame, a file: page
	} {
		t.Run(tc.origin, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			c, err := dialWS(t, w.wsURL(), h)
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if l := c.line(); !strings.HasPrefix(l, "HELLO ") {
					t.Errorf("first line %q", l)
				}
				return
			}
			if err == nil {
				t.Fatal("the handshake succeeded")
			}
			if !strings.Contains(err.Error(), "status 403") {
				t.Fatalf("refused with %v, want 403", err)
			}
		})
	}
}

// TestWebSocketNotServing checks the handshakes that come before Serve
// runs, which wait for it, and after it has ended, which get 503.
func TestWebSocketNotServing(t *testing.T) {
	t.Parallel()
	ws := new(WebSocket)
	hs := httptest.NewServer(ws)
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	early := make(chan *wsRaw, 1)
	go func() {
		c, err := dialWS(t, url, nil)
		if err != nil {
			t.Errorf("a handshake before Serve: %v", err)
		}
		early <- c
	}()
	srv := &Server{}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(context.Background(), ws) }()
	c := <-early
	if c == nil {
		t.FailNow()
	}
	loginOn(t, c, "a")
	srv.Shutdown(context.Background())
	c.expect("BYE shutdown server shutting down")
	c.expectEOF()
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := dialWS(t, url, nil); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("a handshake after Shutdown: %v, want 503", err)
	}
	if _, err := ws.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Shutdown: %v, want net.ErrClosed", err)
	}
}

// TestWebSocketMessages checks how messages map to lines: a message may
// end with "\n" or "\r\n" or not, may hold several lines, and may be
// binary; the server's lines come one per message.
func TestWebSocketMessages(t *testing.T) {
	t.Parallel()
	w, stop := startWeb(t, &Server{}, nil)
	defer stop()
	c := mustDialWS(t, w.wsURL())
	c.line() // HELLO
	c.message(websocket.MessageText, "/nick ann\r\n")
	c.until("JOIN lobby ann")
	for _, tc := range []struct {
		typ  websocket.MessageType
		msg  string
		want []string
	}{
		{websocket.MessageText, "plain", []string{"MSG lobby ann plain"}},
		{websocket.MessageText, "ended\n", []string{"MSG lobby ann ended"}},
		{websocket.MessageText, "two\nlines", []string{"MSG lobby ann two", "MSG lobby ann lines"}},
		{websocket.MessageText, "", nil},
		{websocket.MessageBinary, "binary", []string{"MSG lobby ann binary"}},
		{websocket.MessageText, "/who", []string{"WHO lobby ann"}},
	} {
		c.message(tc.typ, tc.msg)
		for _, want := range tc.want {
			c.expect(want)
		}
	}
	c.message(websocket.MessageText, "/quit")
	c.expect("BYE quit goodbye")
	c.expectEOF()
}

// TestWebSocketFull checks that the connection limit counts browsers
// and nc users alike.
func TestWebSocketFull(t *testing.T) {
	t.Parallel()
	w, stop := startWeb(t, &Server{MaxConns: 1}, nil)
	defer stop()
	a := loginOn(t, dialRaw(t, w.tcp), "a")
	b := mustDialWS(t, w.wsURL())
	b.expect("BYE full too many connections, try again later")
	a.send("/quit\n")
	a.expect("BYE quit goodbye")
	a.expectEOF()
	// The place is free once a has its BYE and the end of its stream.
	loginOn(t, mustDialWS(t, w.wsURL()), "c")
}
