//go:build !(linux && (amd64 || arm64))

package main

import (
	"errors"
	"net"
	"os"
	"time"
)

// plainBatcher moves one datagram per system call, where sendmmsg and
// recvmmsg are not available to the tool.
type plainBatcher struct {
	c   net.Conn
	out [][]byte
	in  []byte
	n   int
}

func newBatcher(c net.Conn, window int) (batcher, error) {
	b := &plainBatcher{c: c, out: make([][]byte, window), in: make([]byte, 512)}
	for i := range b.out {
		b.out[i] = make([]byte, 48)
	}
	return b, nil
}

func (b *plainBatcher) sendBuf(i int) []byte { return b.out[i] }
func (b *plainBatcher) recvBuf(int) []byte   { return b.in[:b.n] }

func (b *plainBatcher) send(k int) (int, error) {
	for i := range k {
		if _, err := b.c.Write(b.out[i]); err != nil {
			return i, err
		}
	}
	return k, nil
}

func (b *plainBatcher) close() error { return b.c.Close() }

func (b *plainBatcher) recv() (int, error) {
	b.c.SetReadDeadline(time.Now().Add(time.Millisecond))
	n, err := b.c.Read(b.in)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	b.n = n
	return 1, nil
}
