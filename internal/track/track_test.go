package track

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

var errTestClosed = errors.New("test: server closed")

// serve is a minimal server on track: it accepts connections and holds
// each one, reading, until it is closed or told to shut down.
func serve(ctx context.Context, g *Group, l net.Listener, graceful bool) error {
	return serveGrace(ctx, g, l, graceful, 0)
}

func serveGrace(ctx context.Context, g *Group, l net.Listener, graceful bool, grace time.Duration) error {
	s, err := g.Begin(ctx, l, nil, grace)
	if err != nil {
		return errTestClosed
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return s.Finish(err, errTestClosed)
		}
		var onShutdown func()
		if graceful {
			onShutdown = func() { c.SetReadDeadline(time.Now()) }
		}
		remove, ok := s.AddConn(c, onShutdown)
		if !ok {
			c.Close()
			continue
		}
		s.Go(func() {
			defer remove()
			defer c.Close()
			c.Read(make([]byte, 1))
		})
	}
}

func start(t *testing.T, ctx context.Context, g *Group, graceful bool) (string, chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, g, l, graceful) }()
	return l.Addr().String(), errc
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitConns waits until the server has registered n connections.
func waitConns(t *testing.T, g *Group, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		// Scopes are copied out first: a scope's lock is never taken
		// while the group's is held (AddConn takes them the other way).
		g.mu.Lock()
		ss := g.lockedScopes()
		g.mu.Unlock()
		got := 0
		for _, s := range ss {
			got += s.Conns()
		}
		if got == n {
			return
		}
	}
	t.Fatalf("server never had %d connections", n)
}

func TestGracefulShutdownAsksConnsToEnd(t *testing.T) {
	t.Parallel()
	var g Group
	addr, errc := start(t, context.Background(), &g, true)
	dial(t, addr)
	dial(t, addr)
	waitConns(t, &g, 2)
	if err := g.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-errc; err != errTestClosed {
		t.Fatalf("serve = %v, want closed", err)
	}
}

func TestShutdownTimeoutClosesConns(t *testing.T) {
	t.Parallel()
	var g Group
	addr, errc := start(t, context.Background(), &g, false)
	dial(t, addr)
	waitConns(t, &g, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := g.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	if err := <-errc; err != errTestClosed {
		t.Fatalf("serve = %v", err)
	}
}

func TestCloseIsImmediateAndIdempotent(t *testing.T) {
	t.Parallel()
	var g Group
	addr, errc := start(t, context.Background(), &g, false)
	dial(t, addr)
	waitConns(t, &g, 1)
	g.Close()
	g.Close()
	if err := <-errc; err != errTestClosed {
		t.Fatalf("serve = %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := serve(context.Background(), &g, l, false); err != errTestClosed {
		t.Fatalf("serve after Close = %v, want closed", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("listener left open after serve on a closed group")
	}
}

// A cancelled Serve context starts the same graceful shutdown as Shutdown:
// connections are asked to end and do, and Serve returns the closed error.
func TestCancelledContextShutsDownGracefully(t *testing.T) {
	t.Parallel()
	var g Group
	ctx, cancel := context.WithCancel(context.Background())
	addr, errc := start(t, ctx, &g, true)
	c := dial(t, addr)
	waitConns(t, &g, 1)
	cancel()
	if err := <-errc; err != errTestClosed {
		t.Fatalf("serve = %v, want closed", err)
	}
	if !g.ShuttingDown() {
		t.Fatal("group still running after its Serve context was cancelled")
	}
	// The server closed the connection itself (it ended gracefully).
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open")
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := serve(context.Background(), &g, l, false); err != errTestClosed {
		t.Fatalf("serve after the cancelled context = %v, want closed", err)
	}
}

// Connections that do not end by themselves are closed when the grace
// period of a cancelled Serve context runs out.
func TestCancelledContextGraceRunsOut(t *testing.T) {
	t.Parallel()
	var g Group
	ctx, cancel := context.WithCancel(context.Background())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- serveGrace(ctx, &g, l, false, 50*time.Millisecond) }()
	dial(t, l.Addr().String())
	waitConns(t, &g, 1)
	start := time.Now()
	cancel()
	if err := <-errc; err != errTestClosed {
		t.Fatalf("serve = %v, want closed", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("serve returned after %v, before the grace period", d)
	}
}

// Shutdown and Close return only after every Serve loop has finished,
// even one that runs in its caller's goroutine and started nothing with Go.
func TestShutdownWaitsForServeLoops(t *testing.T) {
	t.Parallel()
	for _, graceful := range []bool{true, false} {
		var g Group
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s, err := g.Begin(context.Background(), l, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		finished := make(chan struct{})
		go func() {
			_, err := l.Accept()
			time.Sleep(50 * time.Millisecond) // a slow last step of the loop
			close(finished)
			s.Finish(err, errTestClosed)
		}()
		if graceful {
			g.Shutdown(context.Background())
		} else {
			g.Close()
		}
		select {
		case <-finished:
		default:
			t.Fatalf("graceful=%v: returned before the Serve loop finished", graceful)
		}
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	var g Group
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bad := errors.New("bad setting")
	if err := g.Run(context.Background(), l, nil, 0, bad, errTestClosed, nil); err != bad {
		t.Fatalf("Run with a settings error = %v", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Fatal("listener left open")
	}
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	errc := make(chan error, 1)
	go func() {
		errc <- g.Run(context.Background(), l2, nil, 0, nil, errTestClosed, func(s *Scope) error {
			_, err := l2.Accept()
			return err
		})
	}()
	waitScopes(t, &g)
	g.Shutdown(context.Background())
	if err := <-errc; err != errTestClosed {
		t.Fatalf("Run = %v, want closed", err)
	}
	l3, _ := net.Listen("tcp", "127.0.0.1:0")
	if err := g.Run(context.Background(), l3, nil, 0, nil, errTestClosed, func(*Scope) error { panic("ran on a closed group") }); err != errTestClosed {
		t.Fatalf("Run on a closed group = %v", err)
	}
}

func waitScopes(t *testing.T, g *Group) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		n := len(g.scopes)
		g.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no scope opened")
		}
	}
}
