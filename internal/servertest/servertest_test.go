package servertest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/servertest"
)

func refStreamSuite[S servertest.StreamServer](newServer func() S) servertest.Stream[S] {
	return servertest.Stream[S]{
		Name:            "ref",
		New:             func(testing.TB) S { return newServer() },
		ErrServerClosed: errRefClosed,
		Session:         refSession,
		Hold:            refHold,
		Closing:         refClosing,
		Stuck:           refStuck,
	}
}

func refPacketSuite() servertest.Packet[*refPacket] {
	return servertest.Packet[*refPacket]{
		Name:            "ref",
		New:             func(testing.TB) *refPacket { return new(refPacket) },
		ErrServerClosed: errRefClosed,
		Session:         refPacketSession,
	}
}

// TestStreamReference runs the suite against a server that meets the
// contract: every subtest passes.
func TestStreamReference(t *testing.T) {
	servertest.RunStream(t, refStreamSuite(func() *refStream { return new(refStream) }))
}

// TestPacketReference runs the suite against a datagram server that meets
// the contract.
func TestPacketReference(t *testing.T) {
	servertest.RunPacket(t, refPacketSuite())
}

// flawed lists servers that break one rule each, the subtest that must
// catch it, and words its failure must contain.
var flawed = map[string]struct {
	run     func(t *testing.T)
	subtest string
	want    string
}{
	"wrap-closed":              {streamWith(wrapClosed), "CancelContext", "but is not it"},
	"ignore-timeout":           {streamWith(ignoreTimeout), "CancelContextStuck", "the field seems ignored"},
	"no-source-cap":            {streamWith(noSourceCap), "MaxConnsPerSource", "a third connection from 127.0.0.1 was served"},
	"leak":                     {streamWith(leakGoroutine), "ServeShutdown", "found unexpected goroutines"},
	"accept-negative":          {streamWith(acceptNegative), "BadSettings/ShutdownTimeout", "served a session instead"},
	"silent-shutdown":          {streamWith(silentShutdown), "ServeShutdown", "no BYE line"},
	"cancel-skips-farewell":    {streamWith(cancelSkipsFarewell), "CancelContext", "no BYE line"},
	"shutdown-ignores-context": {streamWith(shutdownIgnoresContext), "ShutdownContextExpires", "want ctx.Err()"},
	"no-counters": {func(t *testing.T) {
		servertest.RunStream(t, refStreamSuite(func() *refBare { return new(refBare) }))
	}, "Stats", "does not embed sockkit.Counters"},
	"open-listener": {func(t *testing.T) {
		servertest.RunStream(t, refStreamSuite(func() *refOpenListener { return new(refOpenListener) }))
	}, "ServeAfterClose", "is still open"},
}

func streamWith(f flaw) func(*testing.T) {
	return func(t *testing.T) {
		servertest.RunStream(t, refStreamSuite(func() *refStream { return &refStream{flaw: f} }))
	}
}

// TestFlawed is run by TestFlawsCaught in a process of its own, with
// SERVERTEST_FLAW naming the server to test; it must fail. Run directly,
// without the variable, it has nothing to do.
func TestFlawed(t *testing.T) {
	name := os.Getenv("SERVERTEST_FLAW")
	if name == "" {
		return
	}
	flawed[name].run(t)
}

// TestFlawsCaught shows that the suite fails a server for each way of
// breaking the contract, in the subtest meant to catch it.
func TestFlawsCaught(t *testing.T) {
	for name, f := range flawed {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestFlawed$/^"+f.subtest+"$", "-test.count=1", "-test.v")
			cmd.Env = append(os.Environ(), "SERVERTEST_FLAW="+name)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a server with the flaw %s; output:\n%s", name, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestFlawed/"+strings.SplitN(f.subtest, "/", 2)[0]) {
				t.Errorf("subtest %s did not fail; output:\n%s", f.subtest, out)
			}
			if !strings.Contains(string(out), f.want) {
				t.Errorf("the failure does not say %q; output:\n%s", f.want, out)
			}
		})
	}
}
