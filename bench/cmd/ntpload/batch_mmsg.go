//go:build linux && (amd64 || arm64)

package main

import (
	"errors"
	"net"
	"runtime"
	"syscall"
	"unsafe"
)

// mmsghdr is struct mmsghdr of 64-bit Linux.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// mmsgs is a set of datagram buffers for one sendmmsg or recvmmsg call.
type mmsgs struct {
	msgs []mmsghdr
	iovs []syscall.Iovec
	bufs [][]byte
}

func newMmsgs(n, size int) *mmsgs {
	m := &mmsgs{msgs: make([]mmsghdr, n), iovs: make([]syscall.Iovec, n), bufs: make([][]byte, n)}
	for i := range n {
		m.bufs[i] = make([]byte, size)
		m.iovs[i].Base = &m.bufs[i][0]
		m.iovs[i].SetLen(size)
		m.msgs[i].hdr.Iov = &m.iovs[i]
		m.msgs[i].hdr.Iovlen = 1
	}
	return m
}

// mmsgBatcher moves the datagrams of a connected UDP socket with sendmmsg
// and recvmmsg. It never waits: a socket buffer that is full or empty
// moves nothing.
type mmsgBatcher struct {
	c       net.Conn
	rc      syscall.RawConn
	out, in *mmsgs
}

func newBatcher(c net.Conn, window int) (batcher, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &mmsgBatcher{c: c, rc: rc, out: newMmsgs(window, 48), in: newMmsgs(window, 512)}, nil
}

func (b *mmsgBatcher) close() error { return b.c.Close() }

func (b *mmsgBatcher) sendBuf(i int) []byte { return b.out.bufs[i] }

func (b *mmsgBatcher) recvBuf(i int) []byte { return b.in.bufs[i][:b.in.msgs[i].n] }

func (b *mmsgBatcher) send(k int) (int, error) {
	sent := 0
	var errno syscall.Errno
	err := b.rc.Write(func(fd uintptr) bool {
		for sent < k {
			r, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&b.out.msgs[sent])), uintptr(k-sent), syscall.MSG_DONTWAIT, 0, 0)
			if e == syscall.EAGAIN {
				return true // the socket buffer is full: send the rest later
			}
			if e != 0 {
				errno = e
				return true
			}
			sent += int(r)
		}
		return true
	})
	runtime.KeepAlive(b.out)
	if err == nil && errno != 0 {
		err = errno
	}
	return sent, err
}

func (b *mmsgBatcher) recv() (int, error) {
	n := 0
	var errno syscall.Errno
	err := b.rc.Read(func(fd uintptr) bool {
		r, _, e := syscall.Syscall6(sysRecvmmsg, fd, uintptr(unsafe.Pointer(&b.in.msgs[0])), uintptr(len(b.in.msgs)), syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN {
			return true // nothing yet
		}
		n, errno = int(r), e
		return true
	})
	runtime.KeepAlive(b.in)
	if err == nil && errno != 0 {
		err = errno
	}
	return n, err
}
