package httpfetch

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// Sentinel errors. Every error type of the package unwraps to one of
// them, so that callers can test with [errors.Is] without knowing the type.
var (
	// ErrServerClosed is returned by [Server.Serve] after
	// [Server.Shutdown] or [Server.Close], and (wrapping the context's
	// cause) when its context is cancelled.
	ErrServerClosed = errors.New("httpfetch: server closed")

	// ErrStatus means that the server answered with a status other than
	// 200 or 206. See [StatusError].
	ErrStatus = errors.New("httpfetch: unexpected status")

	// ErrTooLarge means that the resource is larger than [Client.MaxSize].
	// See [SizeError].
	ErrTooLarge = errors.New("httpfetch: resource too large")

	// ErrChecksum means that the downloaded bytes do not have the
	// expected SHA-256 digest. See [ChecksumError].
	ErrChecksum = errors.New("httpfetch: checksum mismatch")

	// ErrChanged means that the resource changed on the server while it
	// was being downloaded, too often to start over. See [ChangedError].
	ErrChanged = errors.New("httpfetch: resource changed during download")

	// ErrBadRange means that the server answered a range request with a
	// range other than the one asked for, or with a malformed
	// Content-Range. See [RangeError].
	ErrBadRange = errors.New("httpfetch: server sent a different range")

	// ErrRedirect means that a redirect was refused: too many of them, or
	// to a scheme that is not allowed. See [RedirectError].
	ErrRedirect = errors.New("httpfetch: redirect refused")

	// ErrStalled means that no byte arrived for [Client.StallTimeout].
	ErrStalled = errors.New("httpfetch: download stalled")

	// ErrLocked means that another download, in this process or another
	// one, is writing the same destination. See [LockedError].
	ErrLocked = errors.New("httpfetch: destination is being downloaded by another process")
)

// StatusError is returned when the server answers with a status that is
// not a success. Statuses 408, 429 and 5xx are retried (see
// [Client.Retries]); this error is what remains when retries run out or
// the status is one that is never retried.
type StatusError struct {
	URL        string
	StatusCode int           // e.g. 404
	Status     string        // e.g. "404 Not Found"
	RetryAfter time.Duration // the server's Retry-After, 0 if none
}

// Error describes the failure; the server's reason phrase is cleaned of
// anything that could drive a terminal.
func (e *StatusError) Error() string {
	return fmt.Sprintf("httpfetch: GET %s: %s", e.URL, textsafe.Clean(e.Status))
}

// Unwrap returns [ErrStatus].
func (e *StatusError) Unwrap() error { return ErrStatus }

// Temporary reports whether the status is one that may succeed later
// (408, 429, 5xx).
func (e *StatusError) Temporary() bool { return retryableStatus(e.StatusCode) }

func retryableStatus(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 && code <= 599
}

// SizeError is returned when the resource is, or turns out while
// downloading to be, larger than the limit.
type SizeError struct {
	URL   string
	Limit int64 // the limit, [Client.MaxSize]
	Size  int64 // the announced size, or the bytes received when it went past the limit
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("httpfetch: %s: size %d is over the limit of %d bytes", e.URL, e.Size, e.Limit)
}

// Unwrap returns [ErrTooLarge].
func (e *SizeError) Unwrap() error { return ErrTooLarge }

// ChecksumError is returned when the download does not have the expected
// SHA-256 digest. The downloaded file has been removed.
type ChecksumError struct {
	URL  string
	Want string // expected digest, lowercase hex
	Got  string // digest of what was received, lowercase hex
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("httpfetch: %s: sha256 is %s, want %s", e.URL, e.Got, e.Want)
}

// Unwrap returns [ErrChecksum].
func (e *ChecksumError) Unwrap() error { return ErrChecksum }

// ChangedError is returned when the resource changed on the server during
// the download (its ETag, Last-Modified or size differ from those of the
// first response) and it could not, or could no longer, start over.
type ChangedError struct {
	URL    string
	Before string // validator or size seen first, e.g. `etag "abc"`
	After  string // what the server says now
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("httpfetch: %s changed during download: %s, now %s", e.URL, e.Before, e.After)
}

// Unwrap returns [ErrChanged].
func (e *ChangedError) Unwrap() error { return ErrChanged }

// RangeError is returned when a server answers a range request with
// another range, an unparsable Content-Range, or a body whose length does
// not match the range.
type RangeError struct {
	URL    string
	Asked  string // the Range header sent, e.g. "bytes=100-"
	Got    string // what came back, e.g. the Content-Range header
	Reason string
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("httpfetch: %s: asked %q, got %q: %s", e.URL, e.Asked, e.Got, e.Reason)
}

// Unwrap returns [ErrBadRange].
func (e *RangeError) Unwrap() error { return ErrBadRange }

// RedirectError is returned when a redirect is refused.
type RedirectError struct {
	URL    string // where the redirect pointed
	Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("httpfetch: redirect to %s refused: %s", e.URL, e.Reason)
}

// Unwrap returns [ErrRedirect].
func (e *RedirectError) Unwrap() error { return ErrRedirect }

// LockedError is returned when another download holds the lock on the
// destination's ".part" file (see [Request.Dest]) and
// [Client.WaitForLock] is not set, or the context ended while waiting.
type LockedError struct {
	Dest     string // the destination asked for
	PID      int    // the process that holds the lock, 0 if it is not known yet
	LockFile string // the file that names it, Dest + ".part.lock"
}

func (e *LockedError) Error() string {
	who := "another process"
	switch e.PID {
	case 0:
	case os.Getpid():
		who = fmt.Sprintf("another download in this process (pid %d)", e.PID)
	default:
		who = fmt.Sprintf("process %d", e.PID)
	}
	msg := fmt.Sprintf("httpfetch: %s is being downloaded by %s", e.Dest, who)
	if lockOutlivesHolder {
		msg += fmt.Sprintf(" (if it is gone, remove %s)", e.LockFile)
	}
	return msg
}

// Unwrap returns [ErrLocked].
func (e *LockedError) Unwrap() error { return ErrLocked }
