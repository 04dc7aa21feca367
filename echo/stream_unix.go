//go:build unix

package echo

import (
	"net"
	"os"
	"sync"
	"syscall"
)

// fdReader waits for data with the runtime's poller and only then takes a
// buffer from the pool and reads into it.
type fdReader struct {
	rc   syscall.RawConn
	pool *sync.Pool
}

func newRawReader(c net.Conn, pool *sync.Pool) rawReader {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &fdReader{rc: rc, pool: pool}
}

func (r *fdReader) read() (*[]byte, int, error) {
	var (
		buf  *[]byte
		n    int
		rerr error
	)
	err := r.rc.Read(func(fd uintptr) bool {
		if buf == nil {
			buf = r.pool.Get().(*[]byte)
		}
		for {
			n, rerr = syscall.Read(int(fd), *buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			// Nothing to read: give the buffer back before waiting.
			r.pool.Put(buf)
			buf = nil
			return false
		}
		return true
	})
	if err != nil {
		// Deadline, or closed: the poller's error says which.
		if buf != nil {
			r.pool.Put(buf)
		}
		return nil, 0, err
	}
	switch {
	case rerr != nil:
		return buf, 0, os.NewSyscallError("read", rerr)
	case n == 0:
		return buf, 0, errEOF
	}
	return buf, n, nil
}
