package clientio

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

func pipe(t *testing.T) (net.Conn, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestCancelInterruptsRead(t *testing.T) {
	a, _ := pipe(t)
	cause := errors.New("user gave up")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := Bind(ctx, a)
	go func() { time.Sleep(20 * time.Millisecond); cancel(cause) }()
	_, err := a.Read(make([]byte, 1))
	err = done(err)
	if !errors.Is(err, cause) || !errors.Is(err, os.ErrDeadlineExceeded) || !Interrupted(err) {
		t.Fatalf("err = %v, want the cause wrapped with the I/O error", err)
	}
	if err.Error() != "user gave up" {
		t.Errorf("message %q", err)
	}
}

func TestDeadlineBecomesConnDeadline(t *testing.T) {
	a, _ := pipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	done := Bind(ctx, a)
	_, err := a.Read(make([]byte, 1))
	if err = done(err); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestUnboundAfterDone(t *testing.T) {
	a, b := pipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := Bind(ctx, a)
	if err := done(nil); err != nil {
		t.Fatalf("done(nil) = %v", err)
	}
	cancel() // after done: must not touch the conn
	go b.Write([]byte("x"))
	a.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := a.Read(make([]byte, 1)); err != nil {
		t.Fatalf("read after done and cancel: %v", err)
	}
	// An error that ctx had no part in is returned as it is.
	other := errors.New("eof")
	if err := Bind(context.Background(), a)(other); err != other {
		t.Errorf("got %v", err)
	}
}
