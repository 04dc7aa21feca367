//go:build unix

package chat

import (
	"io"
	"os"
	"syscall"
)

// rawReader reads a connection's descriptor without waiting: a read
// that would wait returns errWouldBlock. The state of a call lives in its
// fields and the callback is bound once, so that a read allocates
// nothing. A read deadline in the past (stop's) still ends a read with
// os.ErrDeadlineExceeded.
type rawReader struct {
	rc  syscall.RawConn
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func (r *rawReader) init(rc syscall.RawConn) {
	r.rc = rc
	r.fn = r.once
}

// once is the read callback: one attempt, never a wait.
func (r *rawReader) once(fd uintptr) bool {
	for {
		r.n, r.err = syscall.Read(int(fd), r.p)
		if r.err != syscall.EINTR {
			return true
		}
	}
}

// Read implements io.Reader.
func (r *rawReader) Read(p []byte) (int, error) {
	r.p = p
	err := r.rc.Read(r.fn)
	n, rerr := r.n, r.err
	r.p, r.err = nil, nil
	switch {
	case err != nil:
		return 0, err // a deadline, or closed
	case rerr == syscall.EAGAIN:
		return 0, errWouldBlock
	case rerr != nil:
		return 0, os.NewSyscallError("read", rerr)
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// SyscallConn implements syscall.Conn, for the poller.
func (r *rawReader) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }
