// Package clientio binds a context to the I/O of a connection, the same
// way for all of sockkit's clients: the context's deadline becomes the
// connection's deadline, and cancelling the context interrupts a read or
// write in progress. When the context is what stopped the I/O, the error
// the call returns wraps [context.Cause], so that
// errors.Is(err, context.Canceled) (or context.DeadlineExceeded) holds
// whatever the connection itself reported.
package clientio

import (
	"context"
	"errors"
	"time"
)

// Deadliner is what Bind needs of a connection: a net.Conn or a
// net.PacketConn.
type Deadliner interface {
	SetDeadline(t time.Time) error
}

// writeOnly binds the write half only, for a connection whose reads are
// another goroutine's business.
type writeOnly struct {
	c interface{ SetWriteDeadline(time.Time) error }
}

func (w writeOnly) SetDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

// BindWrite is [Bind] for the writes of c only: a session whose reader
// runs in its own goroutine binds each write to its call's context.
func BindWrite(ctx context.Context, c interface{ SetWriteDeadline(time.Time) error }) (done func(err error) error) {
	return Bind(ctx, writeOnly{c})
}

// Bind makes ctx's deadline and cancellation interrupt I/O on c until the
// returned done is called. done undoes the binding and returns the error
// the call should report for err, the error of its I/O: err itself when
// ctx played no part (nil stays nil), or an [*InterruptedError] when ctx
// was cancelled or its deadline passed.
func Bind(ctx context.Context, c Deadliner) (done func(err error) error) {
	d, _ := ctx.Deadline()
	c.SetDeadline(d)
	interrupted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		c.SetDeadline(time.Unix(1, 0))
		close(interrupted)
	})
	return func(err error) error {
		if !stop() {
			<-interrupted
		} else {
			c.SetDeadline(time.Time{})
		}
		if err == nil {
			return nil
		}
		// The conn's deadline can fire a moment before ctx's own timer.
		if ctx.Err() != nil || !d.IsZero() && !time.Now().Before(d) {
			cause := context.Cause(ctx)
			if cause == nil {
				cause = context.DeadlineExceeded
			}
			return &InterruptedError{Cause: cause, Err: err}
		}
		return err
	}
}

// InterruptedError is the error of I/O that a context stopped.
type InterruptedError struct {
	Cause error // context.Cause of the context
	Err   error // what the I/O itself returned
}

func (e *InterruptedError) Error() string { return e.Cause.Error() }

// Unwrap returns the cause and the I/O error.
func (e *InterruptedError) Unwrap() []error { return []error{e.Cause, e.Err} }

// Interrupted reports whether err came from I/O that a context stopped.
func Interrupted(err error) bool {
	var ie *InterruptedError
	return errors.As(err, &ie)
}
