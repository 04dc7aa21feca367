//go:build unix

package echo

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// fdConn waits for data with the runtime's poller and only then takes a
// buffer from the pool and reads into it. The state of a call lives in its
// fields and the callbacks are bound once, so that a read or write
// allocates nothing.
type fdConn struct {
	rc   syscall.RawConn
	pool *sync.Pool

	buf    *[]byte
	n      int
	err    error
	p      []byte
	readFn func(fd uintptr) bool
	tryFn  func(fd uintptr) bool
}

func newRawConn(c net.Conn, pool *sync.Pool) rawConn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &fdConn{rc: rc, pool: pool}
	r.readFn = r.readOnce
	r.tryFn = r.writeOnce
	return r
}

// readOnce is the poller's callback: it reports false, having given the
// buffer back, when there is nothing to read yet.
func (r *fdConn) readOnce(fd uintptr) bool {
	if r.buf == nil {
		r.buf = r.pool.Get().(*[]byte)
	}
	for {
		r.n, r.err = syscall.Read(int(fd), *r.buf)
		if r.err != syscall.EINTR {
			break
		}
	}
	if r.err == syscall.EAGAIN {
		r.pool.Put(r.buf)
		r.buf = nil
		return false
	}
	return true
}

func (r *fdConn) read() (*[]byte, int, error) {
	r.buf, r.n, r.err = nil, 0, nil
	err := r.rc.Read(r.readFn)
	buf, n, rerr := r.buf, r.n, r.err
	r.buf = nil
	switch {
	case err != nil:
		// Deadline, or closed: the poller's error says which.
		if buf != nil {
			r.pool.Put(buf)
		}
		return nil, 0, err
	case rerr != nil:
		return buf, 0, os.NewSyscallError("read", rerr)
	case n == 0:
		return buf, 0, errEOF
	}
	return buf, n, nil
}

// writeOnce is the poller's callback for tryWrite: one attempt, never a
// wait.
func (r *fdConn) writeOnce(fd uintptr) bool {
	for {
		r.n, r.err = syscall.Write(int(fd), r.p)
		if r.err != syscall.EINTR {
			return true
		}
	}
}

func (r *fdConn) tryWrite(p []byte) (int, error) {
	r.p = p
	err := r.rc.Write(r.tryFn)
	n, werr := r.n, r.err
	r.p = nil
	switch {
	case err != nil:
		return 0, err
	case werr == syscall.EAGAIN:
		return 0, nil
	case werr != nil:
		return 0, os.NewSyscallError("write", werr)
	}
	return n, nil
}

func (r *fdConn) SyscallConn() (syscall.RawConn, error) { return r.rc, nil }
