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
	r := &streamRun[S]{s: s}
	r.sub = subject{
		name:    s.Name,
		serve:   "Serve",
		stream:  true,
		closed:  s.ErrServerClosed,
		new:     r.instance,
		session: func(ctx context.Context, addr string) error { return s.Session(ctx, localDial, addr) },
		hold: func(t *testing.T, addr string) held {
			return streamHeld{holdConn(t, s.Hold, localDial, addr), s.Closing}
		},
		bad: badCases(s.BadSettings),
	}
	serial := []subtest{{"CancelContextStuck", r.cancelContextStuck}}
	if s.Stuck != nil {
		serial = append(serial, subtest{"ShutdownContextExpires", r.shutdownContextExpires})
	}
	r.sub.runAll(t, serial, []subtest{{"MaxConnsPerSource", r.maxConnsPerSource}})
}

// streamRun holds the subtests that only stream servers have.
type streamRun[S StreamServer] struct {
	s   Stream[S]
	sub subject
}

// localDial dials from the loopback address the servers listen on.
var localDial = dialFrom(loopback)

// instance makes a fresh server.
func (r *streamRun[S]) instance(t *testing.T) *instance {
	srv := r.s.New(t)
	return &instance{
		srv: srv,
		listen: func(t *testing.T) (any, string) {
			l := listen(t)
			return l, l.Addr().String()
		},
		serve:    func(ctx context.Context, x any) error { return srv.Serve(ctx, x.(net.Listener)) },
		shutdown: srv.Shutdown,
		close:    srv.Close,
	}
}

// streamHeld is a connection made by Stream.Hold.
type streamHeld struct {
	c       net.Conn
	closing func(net.Conn) error
}

// graceful checks that the server ends the connection as a graceful
// shutdown ends an idle session: with the closing words of Closing, if
// any, then closing it.
func (h streamHeld) graceful(t *testing.T) {
	t.Helper()
	if h.closing != nil {
		h.c.SetReadDeadline(time.Now().Add(patience))
		if err := h.closing(h.c); err != nil {
			t.Errorf("held connection, during the graceful shutdown: %v", err)
		}
	}
	if err := awaitClose(h.c); err != nil {
		t.Errorf("held idle connection, during the graceful shutdown: %v", err)
	}
}

// closed checks that Close has closed the connection.
func (h streamHeld) closed(t *testing.T) {
	t.Helper()
	if err := awaitClose(h.c); err != nil {
		t.Errorf("held connection, after Close returned: %v", err)
	}
}

// stuck opens a connection that a graceful shutdown cannot end, or an
// idle one where the protocol has none.
func (r *streamRun[S]) stuck(t *testing.T, addr string) net.Conn {
	t.Helper()
	if r.s.Stuck != nil {
		return holdConn(t, r.s.Stuck, localDial, addr)
	}
	return holdConn(t, r.s.Hold, localDial, addr)
}

// cancelContextStuck: cancelling Serve's context with a stuck session
// and a ShutdownTimeout of 10 ms: the session is closed when the timeout
// runs out, and Serve returns ErrServerClosed well before the default
// ShutdownTimeout would have run out.
func (r *streamRun[S]) cancelContextStuck(t *testing.T) {
	noLeak(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run := r.sub.run(t, ctx, func(srv any) {
		if err := setShutdownTimeout(srv, shortShutdown); err != nil {
			t.Error(err)
		}
	})
	c := r.stuck(t, run.addr)
	cancel()
	if err := run.sv.wait(stuckBound); err == errStillServing {
		t.Errorf("Serve had not returned %v after its context was cancelled with ShutdownTimeout %v: the field seems ignored", stuckBound, shortShutdown)
	}
	r.sub.stopped(t, run, "its context was cancelled (ShutdownTimeout 10ms)")
	if err := awaitClose(c); err != nil {
		t.Errorf("stuck connection, after Serve returned: %v", err)
	}
}

// shutdownContextExpires: Shutdown with a stuck session and a context
// that runs out returns ctx.Err(), closes the session, and Serve returns
// ErrServerClosed.
func (r *streamRun[S]) shutdownContextExpires(t *testing.T) {
	noLeak(t)
	run := r.sub.run(t, context.Background(), nil)
	c := r.stuck(t, run.addr)
	ctx, cancel := context.WithTimeout(context.Background(), shortShutdown)
	defer cancel()
	shut := start(func() error { return run.shutdown(ctx) })
	switch err := shut.wait(patience); {
	case err == errStillServing:
		t.Fatalf("Shutdown, whose context ran out after %v, had not returned %v later", shortShutdown, patience)
	case err != context.DeadlineExceeded:
		t.Errorf("Shutdown with a stuck session and a context that ran out returned %v; want ctx.Err(), %v", err, context.DeadlineExceeded)
	}
	if err := awaitClose(c); err != nil {
		t.Errorf("stuck connection, after Shutdown returned: %v", err)
	}
	r.sub.stopped(t, run, "Shutdown")
}

// maxConnsPerSource: with MaxConnsPerSource 2 and two connections held
// from 127.0.0.1, a third from there is refused and counted, one from
// 127.0.0.2 gets in, and closing a held connection gives its slot back.
func (r *streamRun[S]) maxConnsPerSource(t *testing.T) {
	t.Parallel()
	run := r.sub.run(t, context.Background(), func(srv any) {
		if err := setField(srv, "MaxConnsPerSource", 2); err != nil {
			t.Fatal(err)
		}
	})
	addr := run.addr
	held := []net.Conn{holdConn(t, r.s.Hold, localDial, addr), holdConn(t, r.s.Hold, localDial, addr)}
	if err := r.s.Session(patientContext(t), localDial, addr); err == nil {
		t.Errorf("a third connection from %s was served, with MaxConnsPerSource 2 and two held", loopback)
	} else {
		t.Logf("third connection from %s: %v", loopback, err)
	}
	if err := r.s.Session(patientContext(t), dialFrom(other), addr); err != nil {
		t.Errorf("a connection from %s was refused while %s held its 2 slots: %v", other, loopback, err)
	}
	if c, err := counters(run.srv); err != nil {
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
	run.close()
	r.sub.stopped(t, run, "Close")
}
