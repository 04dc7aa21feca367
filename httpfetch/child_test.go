package httpfetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
	"go.uber.org/goleak"
)

// TestMain runs the test binary as a downloading child process when the
// tests that need one (two processes, a killed process) start it so.
func TestMain(m *testing.M) {
	if os.Getenv("HTTPFETCH_TEST_CHILD") == "get" {
		os.Exit(childGet())
	}
	// No goroutine of a test may outlive it (checked once, at the end, so
	// that the tests can run in parallel).
	goleak.VerifyTestMain(m)
}

// childGet downloads $HTTPFETCH_TEST_URL to $HTTPFETCH_TEST_DEST, as
// "httpfetch get" would, logging to stderr, and prints the Result as JSON
// on stdout.
func childGet() int {
	c := &Client{
		WaitForLock:  os.Getenv("HTTPFETCH_TEST_WAIT") != "",
		Parallel:     4,
		MinPartSize:  64 << 10,
		RetryWait:    time.Millisecond,
		MaxRetryWait: time.Second,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Header:       http.Header{"User-Agent": {os.Getenv("HTTPFETCH_TEST_AGENT")}},
	}
	if every, err := time.ParseDuration(os.Getenv("HTTPFETCH_TEST_STATE_EVERY")); err == nil {
		c.stateEvery = every
	}
	if n, err := strconv.Atoi(os.Getenv("HTTPFETCH_TEST_PARALLEL")); err == nil {
		c.Parallel = n
	}
	res, err := c.Fetch(context.Background(), os.Getenv("HTTPFETCH_TEST_URL"), os.Getenv("HTTPFETCH_TEST_DEST"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// child is a downloading child process (see childGet).
type child struct {
	cmd            *exec.Cmd
	stdout, stderr clitest.Buffer
	done           chan struct{}
	err            error // of Wait, once done is closed
}

// startChild starts a child that downloads url to dest, sending agent
// as its User-Agent, with env added to its environment. It is killed, if
// still running, when the test ends.
func startChild(t *testing.T, agent, url, dest string, wait bool, env ...string) *child {
	t.Helper()
	ch := &child{cmd: exec.Command(os.Args[0]), done: make(chan struct{})}
	ch.cmd.Env = append(os.Environ(), "HTTPFETCH_TEST_CHILD=get", "HTTPFETCH_TEST_AGENT="+agent,
		"HTTPFETCH_TEST_URL="+url, "HTTPFETCH_TEST_DEST="+dest)
	ch.cmd.Env = append(ch.cmd.Env, env...)
	if wait {
		ch.cmd.Env = append(ch.cmd.Env, "HTTPFETCH_TEST_WAIT=1")
	}
	ch.cmd.Stdout, ch.cmd.Stderr = &ch.stdout, &ch.stderr
	if err := ch.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { ch.err = ch.cmd.Wait(); close(ch.done) }()
	t.Cleanup(func() {
		ch.cmd.Process.Kill()
		<-ch.done
	})
	return ch
}

// wait waits (up to a minute) for the child to exit and returns its Wait
// error.
func (ch *child) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-ch.done:
		return ch.err
	case <-time.After(time.Minute):
		t.Fatalf("child still running after a minute; stderr:\n%s", ch.stderr.String())
		return nil
	}
}

// result waits for the child and returns the Result it printed, failing
// t if it did not succeed.
func (ch *child) result(t *testing.T) *Result {
	t.Helper()
	if err := ch.wait(t); err != nil {
		t.Fatalf("child: %v; stderr:\n%s", err, ch.stderr.String())
	}
	var res Result
	if err := json.Unmarshal([]byte(ch.stdout.String()), &res); err != nil {
		t.Fatalf("child printed %q: %v", ch.stdout.String(), err)
	}
	return &res
}

// slowFile is a test server for one resource with ranges and an ETag,
// whose responses can be held at one offset until the test lets them go
// on, and slowed down throughout.
type slowFile struct {
	URL     string
	data    []byte
	gateAt  int64         // responses stop before this offset until open; -1 for none
	reached chan struct{} // closed when a response first reaches gateAt
	opened  chan struct{} // closed by open
	chunk   int           // bytes per read; 0 for no throttle
	delay   time.Duration // before each read of chunk bytes

	mu     sync.Mutex
	agents map[string]int // requests by User-Agent

	reachOnce, openOnce sync.Once
}

// newSlowFile starts the server; set the fields that shape it first
// through opts.
func newSlowFile(t *testing.T, data []byte, opts func(*slowFile)) *slowFile {
	t.Helper()
	s := &slowFile{data: data, gateAt: -1, reached: make(chan struct{}), opened: make(chan struct{}), agents: map[string]int{}}
	if opts != nil {
		opts(s)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.agents[r.UserAgent()]++
		s.mu.Unlock()
		w.Header().Set("ETag", `"slow-1"`)
		w.Header().Set("Content-Type", "application/octet-stream") // no sniffing read
		http.ServeContent(w, r, "slow.bin", time.Unix(1700000000, 0), &slowReader{s: s, ctx: r.Context()})
	}))
	t.Cleanup(func() {
		s.open()
		ts.CloseClientConnections()
		ts.Close()
	})
	s.URL = ts.URL + "/slow.bin"
	return s
}

// requestsFrom returns how many requests came with User-Agent ua.
func (s *slowFile) requestsFrom(ua string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.agents[ua]
}

// open lets held responses go on.
func (s *slowFile) open() { s.openOnce.Do(func() { close(s.opened) }) }

// waitReached waits (up to a minute) for a response to reach the gate.
func (s *slowFile) waitReached(t *testing.T) {
	t.Helper()
	select {
	case <-s.reached:
	case <-time.After(time.Minute):
		t.Fatal("no response reached the gate")
	}
}

// slowReader reads a slowFile's data for one response.
type slowReader struct {
	s   *slowFile
	ctx context.Context
	pos int64
}

func (r *slowReader) Read(p []byte) (int, error) {
	s := r.s
	if r.pos >= int64(len(s.data)) {
		return 0, io.EOF
	}
	if s.gateAt >= 0 && r.pos >= s.gateAt {
		s.reachOnce.Do(func() { close(s.reached) })
		select {
		case <-s.opened:
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	end := int64(len(s.data))
	if s.gateAt >= 0 && r.pos < s.gateAt {
		end = s.gateAt
	}
	if s.chunk > 0 {
		end = min(end, r.pos+int64(s.chunk))
		select {
		case <-time.After(s.delay):
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
	n := copy(p, s.data[r.pos:end])
	r.pos += int64(n)
	return n, nil
}

func (r *slowReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += r.pos
	case io.SeekEnd:
		off += int64(len(r.s.data))
	}
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	r.pos = off
	return off, nil
}

// checkAlone fails t unless dest's directory holds dest and nothing else:
// no ".part", ".part.state", ".part.lock" or temporary file.
func checkAlone(t *testing.T, dest string) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(dest))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != filepath.Base(dest) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// pidIn returns "process N" for a child, as a LockedError names it.
func pidIn(ch *child) string { return "process " + strconv.Itoa(ch.cmd.Process.Pid) }
