package servertest

import (
	"context"
	"net"
	"testing"
	"time"
)

// RunStream runs the lifecycle contract (see the package doc) against the
// stream server s describes, one subtest per rule. The test that calls it
// must not call t.Parallel.
func RunStream[S StreamServer](t *testing.T, s Stream[S]) {
	t.Helper()
	if s.New == nil || s.Session == nil || s.Hold == nil || s.ErrServerClosed == nil {
		t.Fatal("servertest: a Stream needs New, ErrServerClosed, Session and Hold")
	}
	r := streamRun[S]{s}

	// Serial: each checks that its server leaves no goroutine behind.
	t.Run("ServeShutdown", r.serveShutdown)
	t.Run("ShutdownBeforeServe", r.shutdownBeforeServe)
	t.Run("CloseTwice", r.closeTwice)
	t.Run("CancelContext", r.cancelContext)
	t.Run("CancelContextStuck", r.cancelContextStuck)
	if s.Stuck != nil {
		t.Run("ShutdownContextExpires", r.shutdownContextExpires)
	}
	t.Run("ServeAfterShutdown", func(t *testing.T) { r.serveAfter(t, "Shutdown", r.shutdown) })
	t.Run("ServeAfterClose", func(t *testing.T) { r.serveAfter(t, "Close", func(_ *testing.T, srv S) error { return srv.Close() }) })
	t.Run("NoGoroutineLeft", r.noGoroutineLeft)

	// Parallel: they check behaviour on servers of their own and leave
	// leak checks, which must not run beside other tests, to the above.
	t.Run("BadSettings", r.badSettings)
	t.Run("MaxConnsPerSource", r.maxConnsPerSource)
	t.Run("Stats", r.stats)
	t.Run("ErrServerClosed", func(t *testing.T) {
		t.Parallel()
		checkErrText(t, s.Name, s.ErrServerClosed)
	})
}

// streamRun holds the subtests of RunStream.
type streamRun[S StreamServer] struct{ s Stream[S] }

var localDial = dialFrom(loopback)

// serve makes a fresh server, has it serve a new listener, and closes it
// at the end of the test. ctx is given to Serve.
func (r streamRun[S]) serve(t *testing.T, ctx context.Context, config func(S)) (S, net.Listener, *serving) {
	t.Helper()
	srv := r.s.New(t)
	if config != nil {
		config(srv)
	}
	l := listen(t)
	sv := start(func() error { return srv.Serve(ctx, l) })
	stopAtEnd(t, srv.Close, sv)
	return srv, l, sv
}

// session runs one Session from dial and fails the test if it fails.
func (r streamRun[S]) session(t *testing.T, dial DialFunc, addr string) {
	t.Helper()
	if err := r.s.Session(patientContext(t), dial, addr); err != nil {
		t.Fatalf("session: %v", err)
	}
}

// shutdown calls Shutdown with a context bounded by patience.
func (r streamRun[S]) shutdown(t *testing.T, srv S) error {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return srv.Shutdown(ctx)
}

// endedGracefully checks that the server ends c, a held connection, as a
// graceful shutdown ends an idle session: with the closing words of
// Closing, if any, then closing it.
func (r streamRun[S]) endedGracefully(t *testing.T, c net.Conn) {
	t.Helper()
	if r.s.Closing != nil {
		c.SetReadDeadline(time.Now().Add(patience))
		if err := r.s.Closing(c); err != nil {
			t.Errorf("held connection, during the graceful shutdown: %v", err)
		}
	}
	if err := awaitClose(c); err != nil {
		t.Errorf("held idle connection, during the graceful shutdown: %v", err)
	}
}

// stuck opens a connection that a graceful shutdown cannot end, or an
// idle one where the protocol has none.
func (r streamRun[S]) stuck(t *testing.T, addr string) net.Conn {
	t.Helper()
	if r.s.Stuck != nil {
		return holdConn(t, r.s.Stuck, localDial, addr)
	}
	return holdConn(t, r.s.Hold, localDial, addr)
}

// serveShutdown: a working server, a session run and one held idle, then
// Shutdown: it returns nil, the held session is ended gracefully, and
// Serve returns ErrServerClosed and closes its listener.
func (r streamRun[S]) serveShutdown(t *testing.T) {
	noLeak(t)
	srv, l, sv := r.serve(t, context.Background(), nil)
	addr := l.Addr().String()
	r.session(t, localDial, addr)
	c := holdConn(t, r.s.Hold, localDial, addr)

	shut := start(func() error { return r.shutdown(t, srv) })
	r.endedGracefully(t, c)
	switch err := shut.wait(patience); err {
	case nil:
	case errStillServing:
		t.Fatalf("Shutdown had not returned %v later", patience)
	default:
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Shutdown")
}

// shutdownBeforeServe: Shutdown on a server that never served returns
// nil, and the Serve that follows returns ErrServerClosed at once,
// closing its listener.
func (r streamRun[S]) shutdownBeforeServe(t *testing.T) {
	noLeak(t)
	srv := r.s.New(t)
	t.Cleanup(func() { srv.Close() })
	if err := r.shutdown(t, srv); err != nil {
		t.Errorf("Shutdown before Serve returned %v; want nil", err)
	}
	l := listen(t)
	sv := start(func() error { return srv.Serve(context.Background(), l) })
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Shutdown (before Serve was called)")
}

// closeTwice: Close closes the listener and a held connection at once,
// Serve returns ErrServerClosed, and a second Close returns nil.
func (r streamRun[S]) closeTwice(t *testing.T) {
	noLeak(t)
	srv, l, sv := r.serve(t, context.Background(), nil)
	addr := l.Addr().String()
	r.session(t, localDial, addr)
	c := holdConn(t, r.s.Hold, localDial, addr)
	if err := srv.Close(); err != nil {
		t.Errorf("Close returned %v; want nil", err)
	}
	if err := awaitClose(c); err != nil {
		t.Errorf("held connection, after Close returned: %v", err)
	}
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Close")
	if err := srv.Close(); err != nil {
		t.Errorf("second Close returned %v; want nil", err)
	}
}

// cancelContext: cancelling Serve's context, with a ShutdownTimeout far
// longer than the test, ends the held idle session gracefully (with its
// closing words), and Serve returns ErrServerClosed.
func (r streamRun[S]) cancelContext(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, l, sv := r.serve(t, ctx, func(srv S) {
		if err := setShutdownTimeout(srv, longShutdown); err != nil {
			t.Error(err)
		}
	})
	addr := l.Addr().String()
	r.session(t, localDial, addr)
	c := holdConn(t, r.s.Hold, localDial, addr)
	cancel()
	r.endedGracefully(t, c)
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "its context was cancelled (ShutdownTimeout 1h)")
}

// cancelContextStuck: cancelling Serve's context with a stuck session
// and a ShutdownTimeout of 10 ms: the session is closed when the timeout
// runs out, and Serve returns ErrServerClosed well before the default
// ShutdownTimeout would have run out.
func (r streamRun[S]) cancelContextStuck(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, l, sv := r.serve(t, ctx, func(srv S) {
		if err := setShutdownTimeout(srv, shortShutdown); err != nil {
			t.Error(err)
		}
	})
	c := r.stuck(t, l.Addr().String())
	cancel()
	if err := sv.wait(stuckBound); err == errStillServing {
		t.Errorf("Serve had not returned %v after its context was cancelled with ShutdownTimeout %v: the field seems ignored", stuckBound, shortShutdown)
	}
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "its context was cancelled (ShutdownTimeout 10ms)")
	if err := awaitClose(c); err != nil {
		t.Errorf("stuck connection, after Serve returned: %v", err)
	}
}

// shutdownContextExpires: Shutdown with a stuck session and a context
// that runs out returns ctx.Err(), closes the session, and Serve returns
// ErrServerClosed.
func (r streamRun[S]) shutdownContextExpires(t *testing.T) {
	noLeak(t)
	srv, l, sv := r.serve(t, context.Background(), nil)
	c := r.stuck(t, l.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), shortShutdown)
	defer cancel()
	shut := start(func() error { return srv.Shutdown(ctx) })
	switch err := shut.wait(patience); {
	case err == errStillServing:
		t.Fatalf("Shutdown, whose context ran out after %v, had not returned %v later", shortShutdown, patience)
	case err != context.DeadlineExceeded:
		t.Errorf("Shutdown with a stuck session and a context that ran out returned %v; want ctx.Err(), %v", err, context.DeadlineExceeded)
	}
	if err := awaitClose(c); err != nil {
		t.Errorf("stuck connection, after Shutdown returned: %v", err)
	}
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Shutdown")
}

// serveAfter: once the server has been stopped by stop, a new Serve
// returns ErrServerClosed at once and closes its listener.
func (r streamRun[S]) serveAfter(t *testing.T, name string, stop func(*testing.T, S) error) {
	noLeak(t)
	srv, l, sv := r.serve(t, context.Background(), nil)
	r.session(t, localDial, l.Addr().String())
	if err := stop(t, srv); err != nil {
		t.Errorf("%s returned %v; want nil", name, err)
	}
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, name)

	l2 := listen(t)
	sv2 := start(func() error { return srv.Serve(context.Background(), l2) })
	expectServerClosed(t, sv2, r.s.ErrServerClosed, l2, "a second Serve on a server stopped by "+name)
}

// noGoroutineLeft: two Serve calls at once on one server, sessions run
// and held on both, then Shutdown: both return ErrServerClosed and no
// goroutine is left.
func (r streamRun[S]) noGoroutineLeft(t *testing.T) {
	noLeak(t)
	srv := r.s.New(t)
	var svs []*serving
	var ls []net.Listener
	for range 2 {
		l := listen(t)
		sv := start(func() error { return srv.Serve(context.Background(), l) })
		stopAtEnd(t, srv.Close, sv)
		svs, ls = append(svs, sv), append(ls, l)
	}
	var held []net.Conn
	for _, l := range ls {
		r.session(t, localDial, l.Addr().String())
		r.session(t, localDial, l.Addr().String())
		held = append(held, holdConn(t, r.s.Hold, localDial, l.Addr().String()))
	}
	shut := start(func() error { return r.shutdown(t, srv) })
	for _, c := range held {
		r.endedGracefully(t, c)
	}
	if err := shut.wait(patience); err != nil {
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	for i, sv := range svs {
		expectServerClosed(t, sv, r.s.ErrServerClosed, ls[i], "Shutdown (one of two Serve calls)")
	}
}

// badSettings: each setting out of range makes Serve return an error
// that names the field, closes the listener, and serves nothing.
func (r streamRun[S]) badSettings(t *testing.T) {
	t.Parallel()
	for _, bs := range badCases(r.s.BadSettings) {
		t.Run(bs.Field, func(t *testing.T) {
			t.Parallel()
			srv := r.s.New(t)
			if err := bs.Set(srv); err != nil {
				t.Fatal(err)
			}
			l := listen(t)
			sv := start(func() error { return srv.Serve(context.Background(), l) })
			stopAtEnd(t, srv.Close, sv)
			checkBadSetting(t, bs.Field, r.s.ErrServerClosed, sv, l, func(ctx context.Context) error {
				return r.s.Session(ctx, localDial, l.Addr().String())
			})
		})
	}
}

// maxConnsPerSource: with MaxConnsPerSource 2 and two connections held
// from 127.0.0.1, a third from there is refused and counted, one from
// 127.0.0.2 gets in, and closing a held connection gives its slot back.
func (r streamRun[S]) maxConnsPerSource(t *testing.T) {
	t.Parallel()
	srv, l, sv := r.serve(t, context.Background(), func(srv S) {
		if err := setField(srv, "MaxConnsPerSource", 2); err != nil {
			t.Fatal(err)
		}
	})
	addr := l.Addr().String()
	held := []net.Conn{holdConn(t, r.s.Hold, localDial, addr), holdConn(t, r.s.Hold, localDial, addr)}
	if err := r.s.Session(patientContext(t), localDial, addr); err == nil {
		t.Errorf("a third connection from %s was served, with MaxConnsPerSource 2 and two held", loopback)
	} else {
		t.Logf("third connection from %s: %v", loopback, err)
	}
	if err := r.s.Session(patientContext(t), dialFrom(other), addr); err != nil {
		t.Errorf("a connection from %s was refused while %s held its 2 slots: %v", other, loopback, err)
	}
	if c, err := counters(srv); err != nil {
		t.Errorf("counting refusals: %v", err)
	} else if c.Dropped.SourceFull < 1 {
		t.Errorf("Stats().Dropped.SourceFull = %d after a refusal for MaxConnsPerSource; want at least 1", c.Dropped.SourceFull)
	}

	held[0].Close()
	ctx := patientContext(t)
	for {
		err := r.s.Session(ctx, localDial, addr)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Errorf("a held connection from %s was closed, yet a new one was still refused %v later: %v", loopback, patience, err)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.Close()
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Close")
}

// stats: Stats embeds sockkit.Counters, counts the connections accepted
// (ConnsTotal) and open (Conns), and no connection is open once Serve has
// returned.
func (r streamRun[S]) stats(t *testing.T) {
	t.Parallel()
	srv, l, sv := r.serve(t, context.Background(), nil)
	addr := l.Addr().String()
	r.session(t, localDial, addr)
	c, err := counters(srv)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConnsTotal < 1 {
		t.Errorf("Stats().ConnsTotal = %d after a session; want at least 1", c.ConnsTotal)
	}
	holdConn(t, r.s.Hold, localDial, addr)
	if c, _ := counters(srv); c.Conns < 1 {
		t.Errorf("Stats().Conns = %d with a connection held open; want at least 1", c.Conns)
	}
	srv.Close()
	expectServerClosed(t, sv, r.s.ErrServerClosed, l, "Close")
	if c, _ := counters(srv); c.Conns != 0 {
		t.Errorf("Stats().Conns = %d after Serve returned; want 0", c.Conns)
	}
}

// checkErrText checks that closed reads "<pkg>: server closed".
func checkErrText(t *testing.T, pkg string, closed error) {
	if want := pkg + ": server closed"; closed.Error() != want {
		t.Errorf("ErrServerClosed reads %q; want %q", closed.Error(), want)
	}
}
