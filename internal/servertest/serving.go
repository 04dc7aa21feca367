package servertest

import (
	"errors"
	"fmt"
	"runtime/debug"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// serving is one Serve or ServePacket call, running in a goroutine of its
// own.
type serving struct {
	done     chan error
	returned bool
	err      error
}

// errStillServing is what [serving.wait] returns when Serve has not
// returned in time.
var errStillServing = errors.New("servertest: still serving")

// start runs serve in a goroutine. A panic of serve is turned into the
// error it returns, so that the subtest fails rather than the whole run.
func start(serve func() error) *serving {
	sv := &serving{done: make(chan error, 1)}
	go func() {
		defer func() {
			if r := recover(); r != nil {
				sv.done <- fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			}
		}()
		sv.done <- serve()
	}()
	return sv
}

// wait waits up to d for the call to return and returns its error, or
// errStillServing.
func (sv *serving) wait(d time.Duration) error {
	if sv.returned {
		return sv.err
	}
	select {
	case sv.err = <-sv.done:
		sv.returned = true
		return sv.err
	case <-time.After(d):
		return errStillServing
	}
}

// stopped waits for r's Serve call to return after a shutdown or close,
// and checks that it returned exactly ErrServerClosed and closed its
// listener. what says what stopped the server, for the messages.
func (sub *subject) stopped(t testing.TB, r *running, what string) {
	t.Helper()
	err := r.sv.wait(patience)
	switch {
	case err == errStillServing:
		t.Fatalf("%s had not returned %v after %s", sub.serve, patience, what)
	case err == sub.closed:
	case err == nil:
		t.Errorf("%s returned nil after %s; want %q", sub.serve, what, sub.closed)
	case errors.Is(err, sub.closed):
		t.Errorf("%s returned %q after %s, which wraps %q but is not it: the contract asks for ErrServerClosed exactly", sub.serve, err, what, sub.closed)
	default:
		t.Errorf("%s returned %q after %s; want %q", sub.serve, err, what, sub.closed)
	}
	expectClosed(t, r.x, "after "+sub.serve+" returned")
}

// expectClosed checks that x, a listener or packet conn, is closed.
func expectClosed(t testing.TB, x any, when string) {
	t.Helper()
	closed, err := isClosed(x)
	switch {
	case err != nil:
		t.Errorf("%s: %v", when, err)
	case !closed:
		t.Errorf("%s, the %T it was given is still open; Serve must always close it", when, x)
	}
}

// stopAtEnd makes sure, at the end of the test, that the server is closed
// and that sv has returned, so that a failing subtest leaves nothing
// running for the next one.
func stopAtEnd(t testing.TB, close func() error, sv *serving) {
	t.Cleanup(func() {
		close()
		if sv.wait(patience) == errStillServing {
			t.Errorf("Serve had not returned %v after Close", patience)
		}
	})
}

// noLeak registers, as the test's last cleanup, the check that no
// goroutine is left that was not running when noLeak was called. The
// test must not be parallel.
func noLeak(t testing.TB) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		t.Helper()
		goleak.VerifyNone(t, ignore)
	})
}
