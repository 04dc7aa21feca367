package leaktest

import (
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Errorf says.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper()                        {}
func (r *recorder) Errorf(format string, a ...any) { r.msg = format }

func TestCheckReportsLeak(t *testing.T) {
	r := &recorder{TB: t}
	stop := make(chan struct{})
	done := verify(r, goroutines())
	go func() { <-stop }()
	start := time.Now()
	done()
	close(stop)
	if !strings.Contains(r.msg, "leaked") {
		t.Fatal("Check did not report a goroutine that was still running")
	}
	if time.Since(start) < 4*time.Second {
		t.Fatal("Check gave up before its grace period")
	}
}

func TestCheckPassesWhenGoroutinesEnd(t *testing.T) {
	r := &recorder{TB: t}
	done := verify(r, goroutines())
	ch := make(chan struct{})
	go func() { time.Sleep(50 * time.Millisecond); close(ch) }()
	<-ch
	done()
	if r.msg != "" {
		t.Fatalf("Check reported a leak for a goroutine that ended: %s", r.msg)
	}
}

// The check must run after the test's own cleanups, which are what stop
// the goroutines of servers started with t.Cleanup teardown.
func TestCheckRunsAfterCleanups(t *testing.T) {
	Check(t)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { <-stop; close(done) }()
	t.Cleanup(func() { close(stop); <-done })
}
