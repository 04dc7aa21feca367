package servertest

import (
	"context"
	"net"
	"testing"
)

// RunPacket runs the lifecycle contract (see the package doc) against the
// datagram server p describes, one subtest per rule. The rules about
// connections (the per-source cap, stuck sessions) are for stream servers
// and are not part of it: a datagram server has no connection to cap, and
// nothing of a client's can hold its shutdown up. The test that calls it
// must not call t.Parallel.
func RunPacket[S PacketServer](t *testing.T, p Packet[S]) {
	t.Helper()
	if p.New == nil || p.Session == nil || p.ErrServerClosed == nil {
		t.Fatal("servertest: a Packet needs New, ErrServerClosed and Session")
	}
	r := packetRun[S]{p}

	// Serial: each checks that its server leaves no goroutine behind.
	t.Run("ServeShutdown", r.serveShutdown)
	t.Run("ShutdownBeforeServe", r.shutdownBeforeServe)
	t.Run("CloseTwice", r.closeTwice)
	t.Run("CancelContext", r.cancelContext)
	t.Run("ServeAfterShutdown", func(t *testing.T) { r.serveAfter(t, "Shutdown", r.shutdown) })
	t.Run("ServeAfterClose", func(t *testing.T) { r.serveAfter(t, "Close", func(_ *testing.T, srv S) error { return srv.Close() }) })
	t.Run("NoGoroutineLeft", r.noGoroutineLeft)

	// Parallel: they check behaviour on servers of their own and leave
	// leak checks, which must not run beside other tests, to the above.
	t.Run("BadSettings", r.badSettings)
	t.Run("Stats", r.stats)
	t.Run("ErrServerClosed", func(t *testing.T) {
		t.Parallel()
		checkErrText(t, p.Name, p.ErrServerClosed)
	})
}

// packetRun holds the subtests of RunPacket.
type packetRun[S PacketServer] struct{ p Packet[S] }

// serve makes a fresh server, has it serve a new packet conn, and closes
// it at the end of the test. ctx is given to ServePacket.
func (r packetRun[S]) serve(t *testing.T, ctx context.Context, config func(S)) (S, net.PacketConn, *serving) {
	t.Helper()
	srv := r.p.New(t)
	if config != nil {
		config(srv)
	}
	pc := listenPacket(t)
	sv := start(func() error { return srv.ServePacket(ctx, pc) })
	stopAtEnd(t, srv.Close, sv)
	return srv, pc, sv
}

// session runs one Session and fails the test if it fails.
func (r packetRun[S]) session(t *testing.T, addr string) {
	t.Helper()
	if err := r.p.Session(patientContext(t), addr); err != nil {
		t.Fatalf("session: %v", err)
	}
}

// hold opens a lasting session if the server has some, and closes it at
// the end of the test; it returns nil otherwise.
func (r packetRun[S]) hold(t *testing.T, addr string) PacketSession {
	t.Helper()
	if r.p.Hold == nil {
		return nil
	}
	ps, err := r.p.Hold(patientContext(t), addr)
	if err != nil {
		t.Fatalf("opening a session to hold: %v", err)
	}
	t.Cleanup(func() { ps.Close() })
	return ps
}

// endedGracefully checks that the server has ended ps, if not nil, as a
// graceful shutdown ends a session.
func (r packetRun[S]) endedGracefully(t *testing.T, ps PacketSession) {
	t.Helper()
	if ps == nil {
		return
	}
	if err := ps.Ended(patientContext(t)); err != nil {
		t.Errorf("held session, during the graceful shutdown: %v", err)
	}
}

// shutdown calls Shutdown with a context bounded by patience.
func (r packetRun[S]) shutdown(t *testing.T, srv S) error {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	return srv.Shutdown(ctx)
}

// serveShutdown: a working server, a session run and one held, then
// Shutdown: it returns nil, the held session is ended gracefully, and
// ServePacket returns ErrServerClosed and closes its packet conn.
func (r packetRun[S]) serveShutdown(t *testing.T) {
	noLeak(t)
	srv, pc, sv := r.serve(t, context.Background(), nil)
	addr := pc.LocalAddr().String()
	r.session(t, addr)
	ps := r.hold(t, addr)
	if err := r.shutdown(t, srv); err != nil {
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	r.endedGracefully(t, ps)
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, "Shutdown")
}

// shutdownBeforeServe: Shutdown on a server that never served returns
// nil, and the ServePacket that follows returns ErrServerClosed at once,
// closing its packet conn.
func (r packetRun[S]) shutdownBeforeServe(t *testing.T) {
	noLeak(t)
	srv := r.p.New(t)
	t.Cleanup(func() { srv.Close() })
	if err := r.shutdown(t, srv); err != nil {
		t.Errorf("Shutdown before ServePacket returned %v; want nil", err)
	}
	pc := listenPacket(t)
	sv := start(func() error { return srv.ServePacket(context.Background(), pc) })
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, "Shutdown (before ServePacket was called)")
}

// closeTwice: Close makes ServePacket return ErrServerClosed and close
// its packet conn, and a second Close returns nil.
func (r packetRun[S]) closeTwice(t *testing.T) {
	noLeak(t)
	srv, pc, sv := r.serve(t, context.Background(), nil)
	addr := pc.LocalAddr().String()
	r.session(t, addr)
	r.hold(t, addr)
	if err := srv.Close(); err != nil {
		t.Errorf("Close returned %v; want nil", err)
	}
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, "Close")
	if err := srv.Close(); err != nil {
		t.Errorf("second Close returned %v; want nil", err)
	}
}

// cancelContext: cancelling ServePacket's context, with a
// ShutdownTimeout far longer than the test, ends the held session
// gracefully, as Shutdown does, and ServePacket returns ErrServerClosed.
func (r packetRun[S]) cancelContext(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, pc, sv := r.serve(t, ctx, func(srv S) {
		if err := setShutdownTimeout(srv, longShutdown); err != nil {
			t.Error(err)
		}
	})
	addr := pc.LocalAddr().String()
	r.session(t, addr)
	ps := r.hold(t, addr)
	cancel()
	r.endedGracefully(t, ps)
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, "its context was cancelled (ShutdownTimeout 1h)")
}

// serveAfter: once the server has been stopped by stop, a new
// ServePacket returns ErrServerClosed at once and closes its packet conn.
func (r packetRun[S]) serveAfter(t *testing.T, name string, stop func(*testing.T, S) error) {
	noLeak(t)
	srv, pc, sv := r.serve(t, context.Background(), nil)
	r.session(t, pc.LocalAddr().String())
	if err := stop(t, srv); err != nil {
		t.Errorf("%s returned %v; want nil", name, err)
	}
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, name)

	pc2 := listenPacket(t)
	sv2 := start(func() error { return srv.ServePacket(context.Background(), pc2) })
	expectServerClosed(t, sv2, r.p.ErrServerClosed, pc2, "a second ServePacket on a server stopped by "+name)
}

// noGoroutineLeft: two ServePacket calls at once on one server, sessions
// run and held on both, then Shutdown: both return ErrServerClosed and no
// goroutine is left.
func (r packetRun[S]) noGoroutineLeft(t *testing.T) {
	noLeak(t)
	srv := r.p.New(t)
	var svs []*serving
	var pcs []net.PacketConn
	for range 2 {
		pc := listenPacket(t)
		sv := start(func() error { return srv.ServePacket(context.Background(), pc) })
		stopAtEnd(t, srv.Close, sv)
		svs, pcs = append(svs, sv), append(pcs, pc)
	}
	var held []PacketSession
	for _, pc := range pcs {
		r.session(t, pc.LocalAddr().String())
		r.session(t, pc.LocalAddr().String())
		held = append(held, r.hold(t, pc.LocalAddr().String()))
	}
	if err := r.shutdown(t, srv); err != nil {
		t.Errorf("Shutdown returned %v; want nil", err)
	}
	for _, ps := range held {
		r.endedGracefully(t, ps)
	}
	for i, sv := range svs {
		expectServerClosed(t, sv, r.p.ErrServerClosed, pcs[i], "Shutdown (one of two ServePacket calls)")
	}
}

// badSettings: each setting out of range makes ServePacket return an
// error that names the field, closes the packet conn, and answers
// nothing.
func (r packetRun[S]) badSettings(t *testing.T) {
	t.Parallel()
	for _, bs := range badCases(r.p.BadSettings) {
		t.Run(bs.Field, func(t *testing.T) {
			t.Parallel()
			srv := r.p.New(t)
			if err := bs.Set(srv); err != nil {
				t.Fatal(err)
			}
			pc := listenPacket(t)
			sv := start(func() error { return srv.ServePacket(context.Background(), pc) })
			stopAtEnd(t, srv.Close, sv)
			checkBadSetting(t, bs.Field, r.p.ErrServerClosed, sv, pc, func(ctx context.Context) error {
				return r.p.Session(ctx, pc.LocalAddr().String())
			})
		})
	}
}

// stats: Stats embeds sockkit.Counters and counts a session, in Requests
// or ConnsTotal; a held session is open in Conns, and nothing is once
// ServePacket has returned.
func (r packetRun[S]) stats(t *testing.T) {
	t.Parallel()
	srv, pc, sv := r.serve(t, context.Background(), nil)
	addr := pc.LocalAddr().String()
	r.session(t, addr)
	c, err := counters(srv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Requests < 1 && c.ConnsTotal < 1 {
		t.Errorf("Stats() has Requests %d and ConnsTotal %d after a session; want one of them at least 1", c.Requests, c.ConnsTotal)
	}
	if ps := r.hold(t, addr); ps != nil {
		if c, _ := counters(srv); c.Conns < 1 {
			t.Errorf("Stats().Conns = %d with a session held open; want at least 1", c.Conns)
		}
	}
	srv.Close()
	expectServerClosed(t, sv, r.p.ErrServerClosed, pc, "Close")
	if c, _ := counters(srv); c.Conns != 0 {
		t.Errorf("Stats().Conns = %d after ServePacket returned; want 0", c.Conns)
	}
}
