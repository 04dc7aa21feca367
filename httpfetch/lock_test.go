package httpfetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/internal/clitest"
)

// outcome is what a download run in a goroutine returned.
type outcome struct {
	res *Result
	err error
}

// goFetch runs c.Fetch in a goroutine; its outcome arrives on the channel.
func goFetch(ctx context.Context, c *Client, url, dest string) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := c.Fetch(ctx, url, dest)
		ch <- outcome{res, err}
	}()
	return ch
}

// lockClient is a test client that sends agent as its User-Agent, waits
// for the lock if wait is set, and logs into logs (if not nil).
func lockClient(t *testing.T, agent string, wait bool, logs *clitest.Buffer) *Client {
	c := testClient()
	c.Header = http.Header{"User-Agent": {agent}}
	c.WaitForLock = wait
	if logs != nil {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// holdFirst starts a download of srv to dest and returns once the server
// holds it at its gate, with the lock taken.
func holdFirst(t *testing.T, srv *slowFile, dest string) <-chan outcome {
	done := goFetch(context.Background(), lockClient(t, "a", false, nil), srv.URL, dest)
	srv.waitReached(t)
	return done
}

// TestLockInProcess: two downloads to one destination in one process.
// The second fails at once naming this process, or, with WaitForLock,
// waits and finds the file complete; the server sends the file once.
func TestLockInProcess(t *testing.T) {
	data := testData(1<<20, 31)
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprint("wait=", wait), func(t *testing.T) {
			srv := newSlowFile(t, data, func(s *slowFile) { s.gateAt = int64(len(data) / 2) })
			dest := filepath.Join(t.TempDir(), "out.bin")
			done := holdFirst(t, srv, dest)
			var logs clitest.Buffer
			got := goFetch(context.Background(), lockClient(t, "b", wait, &logs), srv.URL, dest)
			if !wait {
				o := <-got
				var le *LockedError
				if !errors.As(o.err, &le) || !errors.Is(o.err, ErrLocked) {
					t.Fatalf("second download: %v, want a LockedError", o.err)
				}
				want := &LockedError{Dest: dest, PID: os.Getpid(), LockFile: dest + ".part.lock"}
				if diff := cmp.Diff(want, le); diff != "" {
					t.Errorf("LockedError (-want +got):\n%s", diff)
				}
				if !strings.Contains(o.err.Error(), "in this process") {
					t.Errorf("message %q", o.err)
				}
			} else {
				clitest.WaitFor(t, &logs, "waiting for another download")
			}
			srv.open()
			if o := <-done; o.err != nil {
				t.Fatalf("first download: %v", o.err)
			}
			if wait {
				o := <-got
				if o.err != nil {
					t.Fatalf("waiting download: %v", o.err)
				}
				if o.res.CompletedBy != os.Getpid() || o.res.Size != int64(len(data)) || o.res.Parts != 0 {
					t.Errorf("waiting download's result %+v", o.res)
				}
			}
			checkFile(t, dest, data)
			checkAlone(t, dest)
			if n := srv.requestsFrom("b"); n != 0 || srv.requestsFrom("a") == 0 {
				t.Errorf("requests: %d from the first download, %d from the second; want only the first", srv.requestsFrom("a"), n)
			}
		})
	}
}

// TestLockTwoProcesses: the same with two real processes (this test
// binary, re-run as a downloader). The lock is taken while the first is
// held mid-way by the server, so the second meets it for certain.
func TestLockTwoProcesses(t *testing.T) {
	t.Parallel()
	data := testData(1<<20, 32)
	for _, wait := range []bool{false, true} {
		t.Run(fmt.Sprint("wait=", wait), func(t *testing.T) {
			srv := newSlowFile(t, data, func(s *slowFile) { s.gateAt = int64(len(data) / 3) })
			dest := filepath.Join(t.TempDir(), "out.bin")
			a := startChild(t, "a", srv.URL, dest, false)
			srv.waitReached(t)
			b := startChild(t, "b", srv.URL, dest, wait)
			if !wait {
				err := b.wait(t)
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 {
					t.Fatalf("second process: %v, want exit status 1; stderr:\n%s", err, b.stderr.String())
				}
				msg := b.stderr.String()
				if !strings.Contains(msg, dest+" is being downloaded by "+pidIn(a)) {
					t.Errorf("second process said %q, want it to name %s", msg, pidIn(a))
				}
			} else {
				clitest.WaitFor(t, &b.stderr, "waiting for another download")
			}
			select {
			case <-a.done:
				t.Fatalf("first process ended while held: %v\n%s", a.err, a.stderr.String())
			default:
			}
			srv.open()
			ra := a.result(t)
			if ra.Size != int64(len(data)) || ra.CompletedBy != 0 {
				t.Errorf("first process: %+v", ra)
			}
			if wait {
				rb := b.result(t)
				if rb.CompletedBy != a.cmd.Process.Pid || rb.Size != int64(len(data)) {
					t.Errorf("waiting process: %+v, want CompletedBy %d", rb, a.cmd.Process.Pid)
				}
			}
			checkFile(t, dest, data)
			checkAlone(t, dest)
			if n := srv.requestsFrom("b"); n != 0 || srv.requestsFrom("a") == 0 {
				t.Errorf("requests: %d from the first process, %d from the second; want only the first", srv.requestsFrom("a"), n)
			}
		})
	}
}

// TestLockLeftByKilledProcess: a ".part.lock" left by a process that died
// does not block the next download where the lock is a flock, and is
// reported with a way out where it is a lock file.
func TestLockLeftByKilledProcess(t *testing.T) {
	t.Parallel()
	data := testData(200000, 33)
	srv := newSlowFile(t, data, nil)
	dest := filepath.Join(t.TempDir(), "out.bin")
	b, _ := json.Marshal(lockInfo{PID: 999999, URLSum: urlSum(srv.URL)})
	must(t, os.WriteFile(dest+".part.lock", b, 0o644))
	must(t, os.WriteFile(dest+".part.lock.tmp", b[:3], 0o644))
	must(t, os.WriteFile(dest+".part.state.tmp", []byte("{"), 0o644))
	c := testClient()
	defer c.CloseIdleConnections()
	_, err := c.Fetch(context.Background(), srv.URL, dest)
	if lockOutlivesHolder {
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "process 999999 (if it is gone, remove "+dest+".part.lock)") {
			t.Fatalf("err = %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	checkAlone(t, dest)
}

// TestLockWaitCancelled: a download waiting for the lock ends with its
// context, and says what it was waiting for.
func TestLockWaitCancelled(t *testing.T) {
	t.Parallel()
	data := testData(300000, 34)
	srv := newSlowFile(t, data, func(s *slowFile) { s.gateAt = 1000 })
	dest := filepath.Join(t.TempDir(), "out.bin")
	done := holdFirst(t, srv, dest)
	var logs clitest.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	got := goFetch(ctx, lockClient(t, "b", true, &logs), srv.URL, dest)
	clitest.WaitFor(t, &logs, "waiting for another download")
	cancel()
	if o := <-got; !errors.Is(o.err, context.Canceled) || !errors.Is(o.err, ErrLocked) {
		t.Errorf("err = %v, want context.Canceled and ErrLocked", o.err)
	}
	srv.open()
	if o := <-done; o.err != nil {
		t.Fatal(o.err)
	}
	checkFile(t, dest, data)
	checkAlone(t, dest)
}

// TestLockOtherURL: a download that waited for a download of another URL
// to the same destination downloads its own after it.
func TestLockOtherURL(t *testing.T) {
	t.Parallel()
	one, two := testData(300000, 35), testData(200000, 36)
	s1 := newSlowFile(t, one, func(s *slowFile) { s.gateAt = 1000 })
	s2 := newSlowFile(t, two, nil)
	dest := filepath.Join(t.TempDir(), "out.bin")
	done := holdFirst(t, s1, dest)
	var logs clitest.Buffer
	got := goFetch(context.Background(), lockClient(t, "b", true, &logs), s2.URL, dest)
	clitest.WaitFor(t, &logs, "waiting for another download")
	s1.open()
	if o := <-done; o.err != nil {
		t.Fatal(o.err)
	}
	if o := <-got; o.err != nil || o.res.CompletedBy != 0 || o.res.Size != int64(len(two)) {
		t.Fatalf("second download: %+v, %v", o.res, o.err)
	}
	checkFile(t, dest, two)
	checkAlone(t, dest)
}
