package servertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// badCase is one setting out of range that a subtest tries.
type badCase struct {
	field string
	set   func(srv any) error
}

// badCases returns a negative ShutdownTimeout, which the suite sets
// itself on every server, followed by the package's own bad settings.
func badCases[S any](pkg []BadSetting[S]) []badCase {
	cs := []badCase{{field: "ShutdownTimeout", set: func(srv any) error { return setShutdownTimeout(srv, -1) }}}
	for _, bs := range pkg {
		cs = append(cs, badCase{field: bs.Field, set: func(srv any) error { bs.Set(srv.(S)); return nil }})
	}
	return cs
}

// checkBadSetting checks r, the Serve call of a server given a bad
// setting of field: it must return an error that names the field, is not
// ErrServerClosed and is no panic, and close its listener. Meanwhile a
// session tries the server: if it gets through, the setting was taken,
// which fails the test at once rather than after a long wait.
func (sub *subject) checkBadSetting(t *testing.T, field string, r *running) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	served := start(func() error { return sub.session(ctx, r.addr) })
	defer func() {
		cancel()
		served.wait(patience)
	}()
	sv := r.sv
	select {
	case err := <-sv.done:
		sv.returned, sv.err = true, err
	case err := <-served.done:
		served.returned, served.err = true, err
		if err == nil {
			t.Fatalf("with %s out of range, %s served a session instead of returning an error", field, sub.serve)
		}
		if sv.wait(patience) == errStillServing {
			t.Fatalf("with %s out of range, %s neither returned (%v later) nor served a session (%v)", field, sub.serve, patience, err)
		}
	case <-time.After(patience):
		t.Fatalf("with %s out of range, %s had not returned %v later", field, sub.serve, patience)
	}
	switch err := sv.err; {
	case err == nil:
		t.Errorf("with %s out of range, %s returned nil", field, sub.serve)
	case errors.Is(err, sub.closed):
		t.Errorf("with %s out of range, %s returned %q; want an error about the setting", field, sub.serve, err)
	case strings.HasPrefix(err.Error(), "panic: "):
		t.Errorf("with %s out of range, %s panicked: %v", field, sub.serve, err)
	case !strings.Contains(err.Error(), field):
		t.Errorf("with %s out of range, %s returned %q, which does not name the field", field, sub.serve, err)
	default:
		t.Logf("%s: %v", sub.serve, err)
	}
	expectClosed(t, r.x, "after "+sub.serve+" returned an error")
}
