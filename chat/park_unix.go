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
	r.n, r.err = syscall.Read(int(fd), r.p)
	return true
}

// Read implements io.Reader.
func (r *rawReader) Read(p []byte) (int, error) {
	r.p = p
	defer r.clear()
	for {
		if err := r.rc.Read(r.fn); err != nil {
			return 0, err // a deadline (stop's), or closed
		}
		switch {
		case r.err == syscall.EINTR:
		case r.err == syscall.EAGAIN:
			return 0, errWouldBlock
		case r.err != nil:
			return 0, os.NewSyscallError("read", r.err)
		case r.n == 0:
			return 0, io.EOF
		default:
			return r.n, nil
		}
	}
}

func (r *rawReader) clear() { r.p, r.err = nil, nil }

// SyscallConn implements syscall.Conn, for the poller.
func (r *rawReader) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }
