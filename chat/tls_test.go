package chat

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// tlsRoom is a server with every listener over TLS, with one test
// certificate: the port both dialects share, the IRC port, and an https
// server with the page at "/" and the socket at "/ws".
type tlsRoom struct {
	cert  *tlstest.Cert
	plain string // the shared port's address
	irc   string // the IRC port's address
	https *httptest.Server
	trust *tls.Config // a client's configuration: trusts cert
}

// startTLS serves srv on a tlsRoom. Its stop shuts the chat server down,
// then the https server.
func startTLS(t *testing.T, srv *Server) (*tlsRoom, func()) {
	t.Helper()
	cert := tlstest.New(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12}
	var ls [2]net.Listener
	for i := range ls {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = tls.NewListener(l, cfg)
	}
	ws := new(WebSocket)
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(context.Background(), ls[0]) }()
	go func() { errc <- srv.ServeIRC(context.Background(), ls[1]) }()
	go func() { errc <- srv.Serve(context.Background(), ws) }()
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", WebPage())
	mux.Handle("GET /ws", ws)
	hs := httptest.NewUnstartedServer(mux)
	hs.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	hs.StartTLS() // HTTP/1.1 only, as EnableHTTP2 is false
	r := &tlsRoom{
		cert:  cert,
		plain: ls[0].Addr().String(),
		irc:   ls[1].Addr().String(),
		https: hs,
		trust: &tls.Config{RootCAs: cert.Pool, MinVersion: tls.VersionTLS12},
	}
	return r, func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 3 {
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		}
		hs.Close()
	}
}

// dial connects to addr over TLS, checking the server's certificate
// against the test certificate.
func (r *tlsRoom) dial(t *testing.T, addr string) *raw {
	t.Helper()
	d := &tls.Dialer{Config: r.trust}
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

// client is a [Client] that dials with TLS, trusting the test certificate.
func (r *tlsRoom) client() *Client {
	return &Client{Dial: (&tls.Dialer{Config: r.trust}).DialContext}
}

// wss opens the socket over wss:// with the Origin header origin (none
// when empty).
func (r *tlsRoom) wss(t *testing.T, origin string) (*wsRaw, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: r.trust}}
	defer hc.CloseIdleConnections()
	url := "wss" + strings.TrimPrefix(r.https.URL, "https") + "/ws"
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h})
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

// TestTLS puts a Go client, an IRC client on each port and a browser's
// socket in one room, every one of them over TLS.
func TestTLS(t *testing.T) {
	t.Parallel()
	r, stop := startTLS(t, &Server{})
	defer stop()

	ann, err := r.client().Join(context.Background(), r.plain, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	g := &goUser{t, ann}
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "ann"})

	plain := loginOn(t, r.dial(t, r.plain), "nc")
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "nc"})

	irc := r.dial(t, r.irc)
	irc.irc = true
	irc.send("NICK ivy\r\nUSER ivy 0 * :Ivy\r\n")
	irc.ircExpect(welcome("ivy")...)
	irc.until(num("366", "ivy", "#lobby :End of /NAMES list"))
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "ivy"})

	// An IRC client on the shared port: the first line still tells.
	sniffed := r.dial(t, r.plain)
	if l := sniffed.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("first line %q, want HELLO", l)
	}
	sniffed.irc = true
	sniffed.send("NICK iris\r\nUSER iris 0 * :Iris\r\n")
	sniffed.ircExpect(welcome("iris")...)
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "iris"})

	// A page served over https opens its socket from an https origin.
	page, err := r.wss(t, r.https.URL)
	if err != nil {
		t.Fatalf("wss from the page's own https origin: %v", err)
	}
	loginOn(t, page, "web")
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "web"})

	page.send("hello over wss\n")
	g.until(Event{Kind: KindMessage, Room: "lobby", Nick: "web", Text: "hello over wss"})
	plain.until("MSG lobby web hello over wss")
	irc.until(":web!web@sockkit PRIVMSG #lobby :hello over wss")
	sniffed.until(":web!web@sockkit PRIVMSG #lobby :hello over wss")

	irc.send("PRIVMSG #lobby :hello over irc+tls\r\n")
	page.until("MSG lobby ivy hello over irc+tls")
	plain.until("MSG lobby ivy hello over irc+tls")
	g.until(Event{Kind: KindMessage, Room: "lobby", Nick: "ivy", Text: "hello over irc+tls"})

	if err := ann.Say(context.Background(), "and from Go"); err != nil {
		t.Fatal(err)
	}
	plain.until("MSG lobby ann and from Go")
	page.until("MSG lobby ann and from Go")
	irc.until(":ann!ann@sockkit PRIVMSG #lobby :and from Go")

	// Another site's page is refused, over https as over http.
	if _, err := r.wss(t, "https://evil.example"); err == nil || !strings.Contains(err.Error(), "status 403") {
		t.Errorf("wss from another site's origin: %v, want 403", err)
	}
}

// TestTLSPlainClient checks that a client without TLS on a TLS port
// reads no chat line: the server answers with TLS or closes.
func TestTLSPlainClient(t *testing.T) {
	t.Parallel()
	r, stop := startTLS(t, &Server{})
	defer stop()
	for _, addr := range []string{r.plain, r.irc} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, "ann\r\n")
		c.SetReadDeadline(time.Now().Add(hang))
		got, err := io.ReadAll(c)
		c.Close()
		if os.IsTimeout(err) {
			t.Errorf("%s: a plain client was neither answered nor closed", addr)
		}
		if strings.Contains(string(got), "HELLO") || strings.Contains(string(got), "WELCOME") || strings.Contains(string(got), "001") {
			t.Errorf("%s: a plain client read %q", addr, got)
		}
	}
	// The server goes on serving TLS clients.
	loginOn(t, r.dial(t, r.plain), "ann")
}

// TestTLSFullSilent fills a TLS server, then opens a connection that
// never sends its TLS hello: turning it away must not hold up the
// accept loop, so the next client is still answered.
func TestTLSFullSilent(t *testing.T) {
	t.Parallel()
	r, stop := startTLS(t, &Server{MaxConns: 1})
	defer stop()
	loginOn(t, r.dial(t, r.plain), "ann")

	silent, err := net.Dial("tcp", r.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	// The next client gets "BYE full", or, if its handshake took longer
	// than the server gives a refused client, a closed connection; never
	// silence.
	c, err := net.Dial("tcp", r.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := r.trust.Clone()
	cfg.ServerName = "127.0.0.1"
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(hang))
	line, err := bufio.NewReader(tc).ReadString('\n')
	switch {
	case err == nil && strings.HasPrefix(line, "BYE full "):
	case err != nil && !os.IsTimeout(err):
		t.Logf("the refused TLS client got %v", err)
	default:
		t.Fatalf("the refused TLS client got %q, %v: the accept loop is held up", line, err)
	}
}

// TestSetWriteBufferUnderTLS checks that SendBuffer reaches the socket
// under a TLS connection.
func TestSetWriteBufferUnderTLS(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sndbuf := func() int {
		t.Helper()
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var serr error
		if err := rc.Control(func(fd uintptr) {
			n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF)
		}); err != nil || serr != nil {
			t.Skipf("SO_SNDBUF cannot be read here: %v %v", err, serr)
		}
		return n
	}
	before := sndbuf()
	want := 8 << 10 // Linux keeps twice this, for its own bookkeeping
	if before == want || before == 2*want {
		want *= 4
	}
	if err := setWriteBuffer(tls.Client(c, &tls.Config{ServerName: "x"}), want); err != nil {
		t.Fatal(err)
	}
	if after := sndbuf(); after != want && after != 2*want {
		t.Errorf("SO_SNDBUF %d after asking for %d through the TLS connection (was %d)", after, want, before)
	}
}

// TestTLSSilentDropped checks that a client that never starts its TLS
// handshake is dropped at the registration timeout, on both ports.
func TestTLSSilentDropped(t *testing.T) {
	t.Parallel()
	srv := &Server{RegisterTimeout: 200 * time.Millisecond, IRC: IRCOptions{RegisterTimeout: 200 * time.Millisecond}}
	r, stop := startTLS(t, srv)
	defer stop()
	for _, addr := range []string{r.plain, r.irc} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(hang))
		_, err = io.ReadAll(c)
		c.Close()
		if os.IsTimeout(err) {
			t.Errorf("%s: a client that never started its handshake was not dropped", addr)
		}
	}
}
