package echo

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// pipeListener is a net.Listener whose connections are net.Pipe ends: no
// kernel buffers, every write meets a read, which shakes out ordering
// assumptions that loopback TCP hides.
type pipeListener struct {
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// transport is one way of connecting a client to a server under test.
type transport struct {
	name  string
	start func(t *testing.T, s *Server) (dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string)
}

var transports = []transport{
	{"tcp", func(t *testing.T, s *Server) (func(context.Context, string, string) (net.Conn, error), string) {
		addr := serveTCP(t, s)
		return new(net.Dialer).DialContext, addr
	}},
	{"pipe", func(t *testing.T, s *Server) (func(context.Context, string, string) (net.Conn, error), string) {
		l := newPipeListener()
		serveOn(t, s, l)
		return l.dial, "pipe"
	}},
}

// serveOn runs s.Serve on l for the rest of the test, and checks at the
// end that Serve returns ErrServerClosed after Close.
func serveOn(t *testing.T, s *Server, l net.Listener) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
}

func serveTCP(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, s, l)
	return l.Addr().String()
}

func serveUDP(t *testing.T, s *Server) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), pc) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServePacket returned %v, want ErrServerClosed", err)
		}
	})
	return pc.LocalAddr().String()
}

func dialRaw(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// readN reads exactly n bytes from c, failing the test after 10 s.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, n)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return got
}

func TestEchoWhateverTheSegmentation(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := &Server{}
			dial, addr := tr.start(t, s)
			c, err := dial(context.Background(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			msg := randomBytes(200_000)
			// Odd-sized writes: 1, 2, 3, ... bytes, so that reads on the
			// server side never line up with writes.
			go func() {
				for i, n := 0, 1; i < len(msg); i, n = i+n, n+1 {
					if _, err := c.Write(msg[i:min(i+n, len(msg))]); err != nil {
						return
					}
				}
			}()
			got := readN(t, c, len(msg))
			if !bytes.Equal(got, msg) {
				t.Fatalf("echoed bytes differ from sent bytes at %d", firstDiff(msg, got))
			}
		})
	}
}

// roundTrips runs clients at once, each making rounds round trips over
// its own connection with the message msg(round), and fails t with every
// error.
func roundTrips(t *testing.T, addr string, clients, rounds int, msg func(round int) []byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cn, err := Dial(context.Background(), "tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer cn.Close()
			for j := range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := cn.Echo(ctx, msg(j))
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestManyClientsAtOnce(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addr := serveTCP(t, s)
	const clients = 100
	roundTrips(t, addr, clients, 20, func(j int) []byte { return randomBytes(1 + j*97) })
	if got := s.Stats().ConnsTotal; got != clients {
		t.Errorf("Accepted = %d, want %d", got, clients)
	}
}

func TestUpperAcrossSegments(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := &Server{Transform: Upper}
			dial, addr := tr.start(t, s)
			c, err := dial(context.Background(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// "é" is c3 a9; "世" is e4 b8 96: split both across writes.
			parts := []string{"h\xc3", "\xa9llo \xe4", "\xb8", "\x96 stra\xc3", "\x9fe"}
			go func() {
				for _, p := range parts {
					if _, err := c.Write([]byte(p)); err != nil {
						return
					}
					time.Sleep(5 * time.Millisecond) // give each part its own segment
				}
			}()
			want := "HÉLLO 世 STRASSE"
			if got := string(readN(t, c, len(want))); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		})
	}
}

func TestUpperHalfCloseFlushesHeldBytes(t *testing.T) {
	t.Parallel()
	addr := serveTCP(t, &Server{Transform: Upper})
	c := dialRaw(t, "tcp", addr).(*net.TCPConn)
	// Invalid UTF-8 passes through; a character cut by the end of input is
	// sent back as it is once the client says it is done.
	c.Write([]byte("ok\xff \xc3"))
	c.CloseWrite()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := "OK\xff \xc3"; string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestConnectionLimit(t *testing.T) {
	t.Parallel()
	s := &Server{MaxConns: 2}
	addr := serveTCP(t, s)
	a, b := dialRaw(t, "tcp", addr), dialRaw(t, "tcp", addr)
	for _, c := range []net.Conn{a, b} {
		c.Write([]byte("x"))
		readN(t, c, 1) // both are being served
	}
	extra := dialRaw(t, "tcp", addr)
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil {
		t.Fatalf("connection past the limit was served (%d bytes)", n)
	}
	if got := s.Stats().Dropped.Full; got != 1 {
		t.Fatalf("Rejected = %d, want 1", got)
	}
	// The served connections are unaffected.
	a.Write([]byte("still here"))
	if got := string(readN(t, a, 10)); got != "still here" {
		t.Fatalf("got %q", got)
	}
	// A slot that frees up can be used again.
	b.Close()
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Conns != 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("closed connection never left the count")
		}
	}
	c := dialRaw(t, "tcp", addr)
	c.Write([]byte("y"))
	readN(t, c, 1)
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	addr := serveTCP(t, &Server{IdleTimeout: 100 * time.Millisecond})
	c := dialRaw(t, "tcp", addr)
	c.Write([]byte("a"))
	readN(t, c, 1)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: read = %v, want EOF from the server closing it", err)
	}
}

func TestClientThatStopsReading(t *testing.T) {
	t.Parallel()
	s := &Server{WriteTimeout: 200 * time.Millisecond, BufferSize: 4096}
	addr := serveTCP(t, s)
	slow := dialRaw(t, "tcp", addr).(*net.TCPConn)
	slow.SetReadBuffer(4096)
	// Write without ever reading until the server gives up on us: TCP flow
	// control stops our writes once the server stops reading.
	done := make(chan error, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		slow.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for {
			if _, err := slow.Write(chunk); err != nil {
				done <- err
				return
			}
		}
	}()
	// Meanwhile another client is served normally.
	fast, err := Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := fast.Echo(ctx, []byte("hello while someone stalls")); err != nil {
		t.Fatal(err)
	}
	err = <-done
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server never disconnected the client that stopped reading: %v", err)
	}
	if _, err := fast.Echo(ctx, []byte("and after")); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownIsGraceful(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := &Server{Transform: Upper}
			var l net.Listener
			var dial func(context.Context, string, string) (net.Conn, error)
			if tr.name == "tcp" {
				var err error
				if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				dial = new(net.Dialer).DialContext
			} else {
				pl := newPipeListener()
				l, dial = pl, pl.dial
			}
			errc := make(chan error, 1)
			go func() { errc <- s.Serve(context.Background(), l) }()
			c, err := dial(context.Background(), "tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Half a character is held by the transformer when shutdown
			// begins; it must still come back before the close.
			go c.Write([]byte("abc\xc3"))
			got := readN(t, c, 3)
			shut := make(chan error, 1)
			go func() { shut <- s.Shutdown(context.Background()) }()
			rest, _ := io.ReadAll(c)
			if string(got)+string(rest) != "ABC\xc3" {
				t.Fatalf("got %q before close, want %q", string(got)+string(rest), "ABC\xc3")
			}
			if err := <-shut; err != nil {
				t.Fatalf("Shutdown = %v", err)
			}
			if err := <-errc; err != ErrServerClosed {
				t.Fatalf("Serve = %v, want ErrServerClosed", err)
			}
			if err := s.Serve(context.Background(), l); err != ErrServerClosed {
				t.Fatalf("Serve after Shutdown = %v, want ErrServerClosed", err)
			}
		})
	}
}

func TestShutdownDeadlineClosesConnections(t *testing.T) {
	t.Parallel()
	s := &Server{}
	// A client that keeps sending keeps its connection busy; Shutdown
	// asks it to end, and closes it when ctx runs out if needed.
	addr := serveTCP(t, s)
	c := dialRaw(t, "tcp", addr)
	c.Write([]byte("x"))
	readN(t, c, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-ctx.Done()
	if err := s.Shutdown(ctx); err != nil && err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v", err)
	}
	if s.Stats().Conns != 0 {
		t.Fatalf("%d connections left after Shutdown returned", s.Stats().Conns)
	}
}

func TestCancelServeContext(t *testing.T) {
	t.Parallel()
	s := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, l) }()
	c := dialRaw(t, "tcp", l.Addr().String())
	c.Write([]byte("x"))
	readN(t, c, 1)
	cancel()
	err = <-errc
	if err != ErrServerClosed {
		t.Fatalf("Serve = %v, want ErrServerClosed (a cancelled context shuts down)", err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after its Serve context was cancelled")
	}
}

func TestOneServerServesTCPAndUDP(t *testing.T) {
	t.Parallel()
	s := &Server{Transform: Upper}
	tcpAddr := serveTCP(t, s)
	udpAddr := serveUDP(t, s)
	cl := &Client{Transform: Upper}
	for _, nw := range []struct{ network, addr string }{{"tcp", tcpAddr}, {"udp", udpAddr}} {
		cn, err := cl.Connect(context.Background(), nw.network, nw.addr)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cn.Echo(context.Background(), []byte("straße"))
		cn.Close()
		if err != nil || string(got) != "STRASSE" {
			t.Fatalf("%s: Echo = %q, %v", nw.network, got, err)
		}
	}
}

// udpExchange sends req from c and returns the reply, or nil if none
// comes within wait.
func udpExchange(t *testing.T, c net.Conn, req []byte, wait time.Duration) []byte {
	t.Helper()
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 70000)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

func TestUDPSizes(t *testing.T) {
	t.Parallel()
	s := &Server{MaxDatagram: 1000}
	addr := serveUDP(t, s)
	c := dialRaw(t, "udp", addr)
	exact := randomBytes(1000)
	if got := udpExchange(t, c, exact, 5*time.Second); !bytes.Equal(got, exact) {
		t.Fatalf("datagram of MaxDatagram bytes: got %d bytes back", len(got))
	}
	if got := udpExchange(t, c, randomBytes(1001), 300*time.Millisecond); got != nil {
		t.Fatalf("datagram past MaxDatagram was answered with %d bytes", len(got))
	}
	if got := udpExchange(t, c, randomBytes(60000), 300*time.Millisecond); got != nil {
		t.Fatalf("large datagram was answered with %d bytes (a part of it?)", len(got))
	}
	// The server goes on answering after the drops.
	if got := udpExchange(t, c, []byte("ok"), 5*time.Second); string(got) != "ok" {
		t.Fatalf("got %q after oversize drops", got)
	}
	if st := s.Stats(); st.Dropped.Oversize != 2 {
		t.Fatalf("DroppedOversize = %d, want 2", st.Dropped.Oversize)
	}
}

func TestUDPRateLimitPerSource(t *testing.T) {
	t.Parallel()
	s := &Server{PacketsPerSecond: 1, PacketBurst: 5}
	addr := serveUDP(t, s)
	flood := dialRaw(t, "udp", addr)
	for i := 0; i < 50; i++ {
		flood.Write([]byte("flood"))
	}
	// The flood gets its burst back and no more.
	answered := 0
	buf := make([]byte, 100)
	for {
		flood.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := flood.Read(buf); err != nil {
			break
		}
		answered++
	}
	if answered > 5+1 {
		t.Fatalf("flooding source got %d replies, burst is 5", answered)
	}
	if s.Stats().Dropped.Rate == 0 {
		t.Fatal("no datagram counted as dropped for rate")
	}
}

func TestUDPLoopWithAnotherEchoIsCut(t *testing.T) {
	t.Parallel()
	s := &Server{PacketsPerSecond: 10, PacketBurst: 20}
	addr := serveUDP(t, s)
	// A naive echo service that answers anything, as a spoofed datagram
	// would pit it against ours.
	naive, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer naive.Close()
	srv, _ := net.ResolveUDPAddr("udp", addr)
	naive.WriteTo([]byte("ping"), srv)
	bounces := 0
	buf := make([]byte, 100)
	for {
		naive.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, from, err := naive.ReadFrom(buf)
		if err != nil {
			break // the loop has stopped
		}
		bounces++
		if bounces > 1000 {
			t.Fatal("loop between the two servers did not stop")
		}
		naive.WriteTo(buf[:n], from)
	}
	if bounces > 20+10 {
		t.Fatalf("%d bounces; the rate limit should cut the loop after about 20", bounces)
	}
}

func TestUDPAdmitPorts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		port int
		low  bool
		want bool
	}{
		{0, false, false}, {0, true, false},
		{7, false, false}, {19, false, false}, {53, false, false}, {123, false, false}, {1023, false, false},
		{123, true, true}, {1024, false, true}, {40000, false, true},
	}
	for _, tt := range tests {
		from := &net.UDPAddr{IP: net.IPv4(192, 0, 2, byte(tt.port%250+1)), Port: tt.port}
		s := &Server{AllowLowPorts: tt.low}
		s.init()
		if got := s.gate.Port(from.Port); got != tt.want {
			t.Errorf("port %d, AllowLowPorts=%v: admitted %v, want %v", tt.port, tt.low, got, tt.want)
		}
	}
}

func TestUDPReplyAtMostThreeTimesRequest(t *testing.T) {
	t.Parallel()
	// A handler that answers "x" with one byte more than the budget, and
	// anything else with exactly the budget: three times the request's
	// bytes on the wire (28 bytes of IPv4 and UDP headers each way).
	handler := func(reply, req []byte, _ net.Addr) []byte {
		n := 3*(len(req)+28) - 28
		if string(req) == "x" {
			n++
		}
		return append(reply, make([]byte, n)...)
	}
	s := &Server{PacketHandler: handler}
	addr := serveUDP(t, s)
	c := dialRaw(t, "udp", addr)
	if got := udpExchange(t, c, []byte("x"), 300*time.Millisecond); got != nil {
		t.Fatalf("reply of %d bytes to a request of 1 was sent", len(got))
	}
	if got := udpExchange(t, c, []byte("xy"), 5*time.Second); len(got) != 62 {
		t.Fatalf("reply at 3x: got %d bytes, want 62", len(got))
	}
	if s.Stats().Dropped.Amplification != 1 {
		t.Fatalf("Dropped.Amplification = %d, want 1", s.Stats().Dropped.Amplification)
	}
}

func TestHello(t *testing.T) {
	t.Parallel()
	addr := serveUDP(t, &Server{PacketHandler: Hello})
	c := dialRaw(t, "udp", addr)
	tests := []struct{ name, req, want string }{
		{"name", "alice", "Hello, alice!"},
		{"trimmed", "  bob\n", "Hello, bob!"},
		{"unicode", "Zoë", "Hello, Zoë!"},
		{"escapes removed", "\x1b[31meve\x1b[0m", "Hello, eve!"},
		{"empty", "   ", ""},
		{"invalid UTF-8", "\xff\xfe", ""},
		{"too long", strings.Repeat("n", MaxNameLen+1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait := 5 * time.Second
			if tt.want == "" {
				wait = 200 * time.Millisecond
			}
			got := udpExchange(t, c, []byte(tt.req), wait)
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("reply (-want +got):\n%s", diff)
			}
		})
	}
}

func TestServePacketGracefulAndClose(t *testing.T) {
	t.Parallel()
	s := &Server{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), pc) }()
	c := dialRaw(t, "udp", pc.LocalAddr().String())
	if got := udpExchange(t, c, []byte("x"), 5*time.Second); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("ServePacket = %v", err)
	}
	if _, err := pc.WriteTo([]byte("x"), c.LocalAddr()); err == nil {
		t.Fatal("ServePacket returned without closing its packet conn")
	}
}

func TestPeersThatVanish(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addr := serveTCP(t, s)
	stay, err := Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer stay.Close()
	// Peers that send and disappear: one closes normally without reading
	// its echo, one resets the connection (SO_LINGER 0) mid-stream, one
	// stops after half a UTF-8 character.
	for _, mode := range []string{"close", "reset", "mid-character"} {
		c := dialRaw(t, "tcp", addr).(*net.TCPConn)
		switch mode {
		case "close":
			c.Write(randomBytes(256 << 10))
			c.Close()
		case "reset":
			c.Write(randomBytes(256 << 10))
			c.SetLinger(0)
			c.Close()
		case "mid-character":
			c.Write([]byte("ab\xe4\xb8"))
			c.Close()
		}
	}
	waitConns := func(n int64) {
		for deadline := time.Now().Add(10 * time.Second); s.Stats().Conns != n; time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("server holds %d connections, want %d", s.Stats().Conns, n)
			}
		}
	}
	waitConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := stay.Echo(ctx, []byte("still served")); err != nil || string(got) != "still served" {
		t.Fatalf("Echo = %q, %v", got, err)
	}
}
