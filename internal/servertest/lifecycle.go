package servertest

import (
	"context"
	"testing"
)

// subject is what the subtests common to stream and datagram servers
// need of a server, whichever it is: RunStream and RunPacket make one
// from their description.
type subject struct {
	name   string // the package
	serve  string // "Serve" or "ServePacket", for the messages
	stream bool
	closed error // ErrServerClosed
	new    func(t *testing.T) *instance
	// session runs one session with the server at addr.
	session func(ctx context.Context, addr string) error
	// hold opens a lasting session, closed at the end of the test; nil
	// when the server has none.
	hold func(t *testing.T, addr string) held
	bad  []badCase
}

// instance is one server of a subject.
type instance struct {
	srv any // the *Server, for the fields and the Stats found by name
	// listen returns a new listener or packet conn, closed at the end of
	// the test, and its address.
	listen   func(t *testing.T) (x any, addr string)
	serve    func(ctx context.Context, x any) error
	shutdown func(ctx context.Context) error
	close    func() error
}

// held is a lasting session of a test.
type held interface {
	// graceful checks that the server ends the session as a graceful
	// shutdown ends one, once such a shutdown has begun.
	graceful(t *testing.T)
	// closed checks that the session was closed by Close, which has
	// returned, if a client can tell.
	closed(t *testing.T)
}

// running is one Serve call of a test.
type running struct {
	*instance
	x    any    // its listener or packet conn
	addr string // the address of x
	sv   *serving
}

// run makes a fresh server, applies config if it is not nil, and serves
// a new listener with ctx. The server is closed at the end of the test.
func (sub *subject) run(t *testing.T, ctx context.Context, config func(srv any)) *running {
	t.Helper()
	in := sub.new(t)
	if config != nil {
		config(in.srv)
	}
	return in.start(t, ctx)
}

// start has in serve a new listener with ctx, and closes in at the end
// of the test.
func (in *instance) start(t *testing.T, ctx context.Context) *running {
	t.Helper()
	x, addr := in.listen(t)
	sv := start(func() error { return in.serve(ctx, x) })
	stopAtEnd(t, in.close, sv)
	return &running{instance: in, x: x, addr: addr, sv: sv}
}

// runSession runs one session and fails the test if it fails.
func (sub *subject) runSession(t *testing.T, addr string) {
	t.Helper()
	if err := sub.session(patientContext(t), addr); err != nil {
		t.Fatalf("session: %v", err)
	}
}

// holdSession opens a lasting session, or returns nil if the server has
// none.
func (sub *subject) holdSession(t *testing.T, addr string) held {
	t.Helper()
	if sub.hold == nil {
		return nil
	}
	return sub.hold(t, addr)
}

// shutdownPatiently calls Shutdown with a context bounded by patience.
func (in *instance) shutdownPatiently() error {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return in.shutdown(ctx)
}

// subtest is one named subtest.
type subtest struct {
	name string
	f    func(*testing.T)
}

// runAll runs the subtests of both kinds of server with the extra ones
// of a kind: the serial ones first, which check for goroutines left
// behind, then the parallel ones, which cannot (see the package doc).
func (sub *subject) runAll(t *testing.T, extraSerial, extraParallel []subtest) {
	serial := []subtest{
		{"ServeShutdown", sub.serveShutdown},
		{"ShutdownBeforeServe", sub.shutdownBeforeServe},
		{"CloseTwice", sub.closeTwice},
		{"CancelContext", sub.cancelContext},
	}
	serial = append(serial, extraSerial...)
	serial = append(serial,
		subtest{"ServeAfterShutdown", func(t *testing.T) { sub.serveAfter(t, "Shutdown", (*instance).shutdownPatiently) }},
		subtest{"ServeAfterClose", func(t *testing.T) { sub.serveAfter(t, "Close", func(in *instance) error { return in.close() }) }},
		subtest{"NoGoroutineLeft", sub.noGoroutineLeft},
	)
	parallel := append([]subtest{
		{"BadSettings", sub.badSettings},
		{"Stats", sub.stats},
		{"ErrServerClosed", sub.errText},
	}, extraParallel...)
	for _, st := range append(serial, parallel...) {
		t.Run(st.name, st.f)
	}
}

// errText: ErrServerClosed reads "<pkg>: server closed".
func (sub *subject) errText(t *testing.T) {
	t.Parallel()
	if want := sub.name + ": server closed"; sub.closed.Error() != want {
		t.Errorf("ErrServerClosed reads %q; want %q", sub.closed.Error(), want)
	}
}

// serveShutdown: a working server, a session run and one held, then
// Shutdown: it returns nil, the held session is ended gracefully, and
// Serve returns ErrServerClosed and closes its listener.
func (sub *subject) serveShutdown(t *testing.T) {
	noLeak(t)
	r := sub.run(t, context.Background(), nil)
	sub.runSession(t, r.addr)
	h := sub.holdSession(t, r.addr)
	shut := start(r.shutdownPatiently)
	if h != nil {
		h.graceful(t)
	}
	switch err := shut.wait(patience); err {
	case nil:
	case errStillServing:
		t.Fatalf("Shutdown had not returned %v later", patience)
	default:
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	sub.stopped(t, r, "Shutdown")
}

// shutdownBeforeServe: Shutdown on a server that never served returns
// nil, and the Serve that follows returns ErrServerClosed at once,
// closing its listener.
func (sub *subject) shutdownBeforeServe(t *testing.T) {
	noLeak(t)
	in := sub.new(t)
	t.Cleanup(func() { in.close() })
	if err := in.shutdownPatiently(); err != nil {
		t.Errorf("Shutdown before %s returned %v; want nil", sub.serve, err)
	}
	r := in.start(t, context.Background())
	sub.stopped(t, r, "Shutdown (before "+sub.serve+" was called)")
}

// closeTwice: Close closes the listener and a held session at once,
// Serve returns ErrServerClosed, and a second Close returns nil.
func (sub *subject) closeTwice(t *testing.T) {
	noLeak(t)
	r := sub.run(t, context.Background(), nil)
	sub.runSession(t, r.addr)
	h := sub.holdSession(t, r.addr)
	if err := r.close(); err != nil {
		t.Errorf("Close returned %v; want nil", err)
	}
	if h != nil {
		h.closed(t)
	}
	sub.stopped(t, r, "Close")
	if err := r.close(); err != nil {
		t.Errorf("second Close returned %v; want nil", err)
	}
}

// cancelContext: cancelling Serve's context, with a ShutdownTimeout far
// longer than the test, ends the held session gracefully, as Shutdown
// does, and Serve returns ErrServerClosed.
func (sub *subject) cancelContext(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := sub.run(t, ctx, func(srv any) {
		if err := setShutdownTimeout(srv, longShutdown); err != nil {
			t.Error(err)
		}
	})
	sub.runSession(t, r.addr)
	h := sub.holdSession(t, r.addr)
	cancel()
	if h != nil {
		h.graceful(t)
	}
	sub.stopped(t, r, "its context was cancelled (ShutdownTimeout 1h)")
}

// serveAfter: once the server has been stopped by stop, a new Serve
// returns ErrServerClosed at once and closes its listener.
func (sub *subject) serveAfter(t *testing.T, name string, stop func(*instance) error) {
	noLeak(t)
	r := sub.run(t, context.Background(), nil)
	sub.runSession(t, r.addr)
	if err := stop(r.instance); err != nil {
		t.Errorf("%s returned %v; want nil", name, err)
	}
	sub.stopped(t, r, name)

	again := r.start(t, context.Background())
	sub.stopped(t, again, "a second "+sub.serve+" on a server stopped by "+name)
}

// noGoroutineLeft: two Serve calls at once on one server, sessions run
// and held on both, then Shutdown: both return ErrServerClosed and no
// goroutine is left.
func (sub *subject) noGoroutineLeft(t *testing.T) {
	noLeak(t)
	in := sub.new(t)
	rs := []*running{in.start(t, context.Background()), in.start(t, context.Background())}
	var hs []held
	for _, r := range rs {
		sub.runSession(t, r.addr)
		sub.runSession(t, r.addr)
		if h := sub.holdSession(t, r.addr); h != nil {
			hs = append(hs, h)
		}
	}
	shut := start(in.shutdownPatiently)
	for _, h := range hs {
		h.graceful(t)
	}
	if err := shut.wait(patience); err != nil {
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	for _, r := range rs {
		sub.stopped(t, r, "Shutdown (one of two "+sub.serve+" calls)")
	}
}

// badSettings: each setting out of range makes Serve return an error
// that names the field, closes the listener, and serves nothing.
func (sub *subject) badSettings(t *testing.T) {
	t.Parallel()
	for _, bc := range sub.bad {
		t.Run(bc.field, func(t *testing.T) {
			t.Parallel()
			in := sub.new(t)
			if err := bc.set(in.srv); err != nil {
				t.Fatal(err)
			}
			r := in.start(t, context.Background())
			sub.checkBadSetting(t, bc.field, r)
		})
	}
}

// stats: Stats embeds sockkit.Counters and counts a session (a stream
// server in ConnsTotal, a datagram server in Requests or ConnsTotal); a
// held session is open in Conns; and nothing is once Serve has returned.
func (sub *subject) stats(t *testing.T) {
	t.Parallel()
	r := sub.run(t, context.Background(), nil)
	sub.runSession(t, r.addr)
	c, err := counters(r.srv)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case sub.stream && c.ConnsTotal < 1:
		t.Errorf("Stats().ConnsTotal = %d after a session; want at least 1", c.ConnsTotal)
	case !sub.stream && c.Requests < 1 && c.ConnsTotal < 1:
		t.Errorf("Stats() has Requests %d and ConnsTotal %d after a session; want one of them at least 1", c.Requests, c.ConnsTotal)
	}
	if h := sub.holdSession(t, r.addr); h != nil {
		if c, _ := counters(r.srv); c.Conns < 1 {
			t.Errorf("Stats().Conns = %d with a session held open; want at least 1", c.Conns)
		}
	}
	r.close()
	sub.stopped(t, r, "Close")
	if c, _ := counters(r.srv); c.Conns != 0 {
		t.Errorf("Stats().Conns = %d after %s returned; want 0", c.Conns, sub.serve)
	}
}
