package httpfetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"syscall"
)

// restartError asks run to discard what it has and start over.
type restartError struct{ err error }

func (e *restartError) Error() string { return e.err.Error() }

func (e *restartError) Unwrap() error { return e.err }

// transient reports whether err may go away if the request is tried
// again.
func transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	if errors.Is(err, ErrStalled) {
		return true
	}
	for _, perm := range []error{ErrTooLarge, ErrChecksum, ErrChanged, ErrBadRange, ErrRedirect, errCannotRestart, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, perm) {
			return false
		}
	}
	var re *restartError
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	var pe *os.PathError
	if errors.As(err, &re) || errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &pe) {
		return false
	}
	// Everything else is the network: refused, reset, timed out, cut
	// short (io.ErrUnexpectedEOF), malformed response.
	return true
}

// final returns the error that ends a request: err, or the context's
// error if the context ended first (err is then a consequence of it).
func (d *download) final(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// refused reports whether err is a refused connection: nothing listens
// at the address.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// retry decides whether to try again after err, and waits if so.
func (d *download) retry(ctx context.Context, fails *int, err error) bool {
	if ctx.Err() != nil || !transient(err) || *fails >= d.set.retries {
		return false
	}
	if refused(err) && !d.c.RetryRefused {
		return false
	}
	*fails++
	base, maxWait := d.set.retryWait, d.set.maxRetryWait
	wait := base << min(*fails-1, 20)
	if wait > maxWait || wait <= 0 {
		wait = maxWait
	}
	wait = wait/2 + rand.N(wait/2+1)
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		if se.RetryAfter > maxWait {
			return false
		}
		wait = se.RetryAfter
	}
	d.mu.Lock()
	d.retries++
	d.mu.Unlock()
	if f := d.c.OnRetry; f != nil {
		d.cb.Lock()
		f(Retry{Err: err, Wait: wait, Attempt: *fails, Max: d.set.retries})
		d.cb.Unlock()
	}
	level := slog.LevelInfo
	if d.c.OnRetry != nil {
		level = slog.LevelDebug // OnRetry has reported it
	}
	d.log(level, "retrying", "err", err, "wait", wait, "attempt", *fails, "max", d.set.retries)
	return d.c.wait(ctx, wait) == nil
}
