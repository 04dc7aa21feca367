// Package clitest runs the example programs in-process for their tests:
// a server sub-command started in a goroutine, its output watched until
// it says where it listens, and stopped the way an interrupt stops it.
package clitest

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
)

// Buffer is a bytes.Buffer safe for one writer and concurrent readers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitFor polls b until the regular expression re matches what has been
// written, for up to 10 s, and returns its first submatch (or the whole
// match if it has none).
func WaitFor(t testing.TB, b *Buffer, re string) string {
	t.Helper()
	r := regexp.MustCompile(re)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := r.FindStringSubmatch(b.String()); m != nil {
			return m[len(m)-1]
		}
	}
	t.Fatalf("no %q in:\n%s", re, b.String())
	return ""
}

// Program is a program running in-process.
type Program struct {
	Stdout, Stderr Buffer

	args   []string
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// Start runs run with args in a goroutine. When the test ends it is
// stopped (see [Program.Stop]), and the test fails unless it returned nil.
func Start(t testing.TB, run cli.Run, args ...string) *Program {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Program{args: args, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, &p.Stdout, &p.Stderr) }()
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("%s: returned %v after an interrupt, want nil\nstderr:\n%s", strings.Join(args, " "), err, p.Stderr.String())
		}
	})
	return p
}

// Stop cancels the program's context, as an interrupt would, and returns
// what it returned. It may be called more than once.
func (p *Program) Stop() error {
	p.once.Do(func() {
		p.cancel()
		p.err = <-p.done
	})
	return p.err
}
