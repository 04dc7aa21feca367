package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

var errClosed = errors.New("test: server closed")

func TestServeStopsTogether(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan error, 1)
	block := func(ctx context.Context) error { <-ctx.Done(); return errClosed }
	go func() {
		done <- Serve(ctx, "prog", &out, errClosed, time.Second, func(context.Context) error { return nil }, block, block)
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v, want nil after a cancel", err)
	}
	if out.String() != "prog: stopped\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestServeFailureShutsDownTheOthers(t *testing.T) {
	failed := errors.New("listener broke")
	stop := make(chan struct{})
	shutdown := func(context.Context) error { close(stop); return nil }
	var out bytes.Buffer
	err := Serve(context.Background(), "prog", &out, errClosed, time.Second, shutdown,
		func(context.Context) error { return failed },
		func(context.Context) error { <-stop; return errClosed })
	if err != failed {
		t.Fatalf("Serve = %v, want the failure", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q after a failure", out.String())
	}
}

// The first signal asks the program to stop (its context is cancelled);
// the second stops it at once. The test runs itself as the program.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	if os.Getenv("CLI_TEST_PROGRAM") == "1" {
		Main("prog", func(ctx context.Context, _ []string, stdout, _ io.Writer) error {
			fmt.Fprintln(stdout, "ready")
			<-ctx.Done()
			fmt.Fprintln(stdout, "shutting down slowly")
			time.Sleep(time.Minute) // a shutdown that takes too long
			return nil
		})
		return
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalStopsAtOnce$")
			cmd.Env = append(os.Environ(), "CLI_TEST_PROGRAM=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			r := bufio.NewReader(stdout)
			expectLine(t, r, "ready")
			cmd.Process.Signal(sig)
			expectLine(t, r, "shutting down slowly")
			cmd.Process.Signal(sig)
			errc := make(chan error, 1)
			go func() { errc <- cmd.Wait() }()
			select {
			case err := <-errc:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != sig {
					t.Fatalf("exit: %v, want killed by %v", err, sig)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the second signal did not stop the program")
			}
		})
	}
}

func expectLine(t *testing.T, r *bufio.Reader, want string) {
	t.Helper()
	line, err := r.ReadString('\n')
	if strings.TrimSpace(line) != want {
		t.Fatalf("got %q (%v), want %q", line, err, want)
	}
}
