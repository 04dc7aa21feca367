//go:build linux

package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// spoofer sends UDP datagrams over IPv4 with any source address, through
// a raw socket (IPPROTO_RAW implies IP_HDRINCL: the caller writes the IP
// header). It needs root, or CAP_NET_RAW.
type spoofer struct {
	fd  int
	buf []byte
}

// errNeedRoot is the reason attacks that spoof are skipped.
var errNeedRoot = errors.New("needs root (a raw socket with IP_HDRINCL spoofs the source addresses)")

func newSpoofer() (*spoofer, error) {
	if os.Geteuid() != 0 {
		return nil, errNeedRoot
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return nil, fmt.Errorf("%w: %v", errNeedRoot, err)
	}
	if err != nil {
		return nil, err
	}
	// A large send buffer, so that a flood rarely meets ENOBUFS.
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, 8<<20)
	return &spoofer{fd: fd}, nil
}

// send sends payload to to as a UDP datagram from from. A full send
// buffer (ENOBUFS) is waited out for up to a second.
func (s *spoofer) send(from, to netip.AddrPort, payload []byte) error {
	s.buf = appendUDP4(s.buf[:0], from, to, payload)
	sa := &syscall.SockaddrInet4{Addr: to.Addr().As4()}
	for wait := time.Duration(0); ; wait += time.Millisecond {
		err := syscall.Sendto(s.fd, s.buf, 0, sa)
		if !errors.Is(err, syscall.ENOBUFS) || wait > time.Second {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *spoofer) close() { syscall.Close(s.fd) }

// raiseReadBuffer gives a socket a receive buffer of n bytes, past
// net.core.rmem_max (SO_RCVBUFFORCE, as root), so that a victim counting
// what it receives does not lose datagrams in a burst.
func raiseReadBuffer(rc syscall.RawConn, n int) {
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
	})
}
