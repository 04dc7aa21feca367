//go:build unix

package main

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/udpcolor"
	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary run the program itself, with
// the arguments that follow "--", so that tests can signal it as a
// process.
const childEnv = "UDPCOLOR_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"udpcolor"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	// No goroutine of a test may outlive it (checked once, at the end, so
	// that the tests can run in parallel).
	goleak.VerifyTestMain(m)
}

// waitLeft waits until the server has seen left members leave.
func waitLeft(t *testing.T, srv *udpcolor.Server, left int64) {
	t.Helper()
	for giveUp := time.Now().Add(10 * time.Second); srv.Stats().Left < left; time.Sleep(time.Millisecond) {
		if time.Now().After(giveUp) {
			t.Fatalf("the server saw no leave: %+v", srv.Stats())
		}
	}
}

// Closing the terminal (SIGHUP), SIGTERM and Ctrl-C (SIGINT) all make a
// member leave at once, so that its name is free again.
func TestJoinLeavesOnSignal(t *testing.T) {
	srv, addr := startServer(t)
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			name := "dave" + strings.ToLower(strings.ReplaceAll(sig.String(), " ", ""))
			cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "join", "-addr", addr, "-name", name, "-color", "never")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			stdin, err := cmd.StdinPipe() // kept open: only the signal ends the session
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			var stderr clitest.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			clitest.WaitFor(t, &stderr, "joined")
			left := srv.Stats().Left
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			waitLeft(t, srv, left+1)
			if err := cmd.Wait(); err != nil {
				t.Errorf("after %v: %v\nstderr: %s", sig, err, stderr.String())
			}
			// The name is free at once.
			c, err := (&udpcolor.Client{}).Join(context.Background(), addr, name)
			if err != nil {
				t.Fatalf("joining as %s after it left: %v", name, err)
			}
			c.Close()
		})
	}
	if st := srv.Stats(); st.Expired != 0 {
		t.Errorf("Expired = %d: a member did not leave", st.Expired)
	}
}

// A server whose terminal is closed says bye to its members, as one
// interrupted does.
func TestServeSaysByeOnHangup(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$", "--", "serve", "-addr", "127.0.0.1:0", "-color", "never")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stderr clitest.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	addr := clitest.WaitFor(t, &stderr, `serving on (\S+)\n`)
	c, err := (&udpcolor.Client{}).Join(context.Background(), addr, "frank")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the member heard no bye")
	}
	if !errors.Is(c.Err(), udpcolor.ErrShutdown) {
		t.Errorf("member: %v, want ErrShutdown", c.Err())
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGHUP: %v\nstderr: %s", err, stderr.String())
	}
}

// A terminal that goes away can make reading standard input fail rather
// than end: the member leaves all the same, and the error is reported.
func TestJoinLeavesOnInputError(t *testing.T) {
	srv, addr := startServer(t)
	defer func(old io.Reader) { stdin = old }(stdin)
	eio := errors.New("read /dev/stdin: input/output error")
	stdin = iotest.ErrReader(eio)
	var out, errOut clitest.Buffer
	err := run(context.Background(), []string{"join", "-addr", addr, "-name", "erin"}, &out, &errOut)
	if !errors.Is(err, eio) {
		t.Errorf("join returned %v, want the read error", err)
	}
	if st := srv.Stats(); st.Left != 1 || st.Conns != 0 {
		t.Errorf("Left = %d, Members = %d; want the member to have left", st.Left, st.Conns)
	}
}
