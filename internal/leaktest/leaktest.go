// Package leaktest checks that a test leaves no goroutine running.
//
// Use it at the top of a test that starts and stops servers:
//
//	defer leaktest.Check(t)()
//
// Check notes the goroutines alive when it is called and registers a
// cleanup, which runs after every other cleanup of the test (those that
// close servers, say): it waits (up to a few seconds) for every goroutine
// started since to end, and fails the test naming the ones that did not.
// Tests that use it must not call t.Parallel, or other tests' goroutines
// would be blamed.
package leaktest

import (
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Check snapshots the running goroutines and registers the check with
// t.Cleanup. It returns a func that does nothing, so that the
// "defer leaktest.Check(t)()" idiom reads naturally; the check itself must
// run after the test's cleanups, which a defer would not.
func Check(t testing.TB) func() {
	t.Helper()
	t.Cleanup(verify(t, goroutines()))
	return func() {}
}

// verify returns the check: it fails t if goroutines not in before are
// still running after a grace period.
func verify(t testing.TB, before map[string]string) func() {
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		var leaked []string
		for {
			leaked = leaked[:0]
			for id, stack := range goroutines() {
				if _, ok := before[id]; !ok && !ignored(stack) {
					leaked = append(leaked, stack)
				}
			}
			if len(leaked) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if len(leaked) > 0 {
			sort.Strings(leaked)
			t.Errorf("leaktest: %d goroutine(s) leaked:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	}
}

// ignored reports goroutines of the runtime, os/signal and the testing
// package, which come and go on their own.
func ignored(stack string) bool {
	for _, s := range []string{
		"testing.(*T).Run(",
		"testing.(*F).Fuzz(",
		"testing.(*T).Parallel(",
		"testing.runTests",
		"os/signal.signal_recv",
		"os/signal.loop",
		"runtime.ensureSigM",
	} {
		if strings.Contains(stack, s) {
			return true
		}
	}
	return false
}

// goroutines returns the stack of every goroutine, by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	m := make(map[string]string)
	for _, g := range strings.Split(string(buf), "\n\n") {
		// "goroutine 18 [chan receive]:"
		head, _, _ := strings.Cut(g, "\n")
		f := strings.Fields(head)
		if len(f) >= 2 && f[0] == "goroutine" {
			m[f[1]] = g
		}
	}
	return m
}
