package servertest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// badCase is one setting out of range that a subtest tries.
type badCase[S any] struct {
	Field string
	Set   func(S) error
}

// badCases returns a negative ShutdownTimeout, which the suite sets
// itself on every server, followed by the package's own bad settings.
func badCases[S any](pkg []BadSetting[S]) []badCase[S] {
	cs := []badCase[S]{{Field: "ShutdownTimeout", Set: func(srv S) error { return setShutdownTimeout(srv, -1) }}}
	for _, bs := range pkg {
		cs = append(cs, badCase[S]{Field: bs.Field, Set: func(srv S) error { bs.Set(srv); return nil }})
	}
	return cs
}

// checkBadSetting checks sv, the Serve or ServePacket call of a server
// given a bad setting of field: it must return an error that names the
// field, is not closed (ErrServerClosed) and is no panic, and close x.
// Meanwhile session tries the server: if it gets through, the setting was
// taken, which fails the test at once rather than after a long wait.
func checkBadSetting(t *testing.T, field string, closed error, sv *serving, x any, session func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	served := start(func() error { return session(ctx) })
	defer func() {
		cancel()
		served.wait(patience)
	}()
	select {
	case err := <-sv.done:
		sv.returned, sv.err = true, err
	case err := <-served.done:
		served.returned, served.err = true, err
		if err == nil {
			t.Fatalf("with %s out of range, Serve served a session instead of returning an error", field)
		}
		if sv.wait(patience) == errStillServing {
			t.Fatalf("with %s out of range, Serve neither returned (%v later) nor served a session (%v)", field, patience, err)
		}
	case <-time.After(patience):
		t.Fatalf("with %s out of range, Serve had not returned %v later", field, patience)
	}
	switch err := sv.err; {
	case err == nil:
		t.Errorf("with %s out of range, Serve returned nil", field)
	case errors.Is(err, closed):
		t.Errorf("with %s out of range, Serve returned %q; want an error about the setting", field, err)
	case strings.HasPrefix(err.Error(), "panic: "):
		t.Errorf("with %s out of range, Serve panicked: %v", field, err)
	case !strings.Contains(err.Error(), field):
		t.Errorf("with %s out of range, Serve returned %q, which does not name the field", field, err)
	default:
		t.Logf("Serve: %v", err)
	}
	expectClosed(t, x, "after Serve returned an error")
}
