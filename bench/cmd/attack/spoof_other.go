//go:build !linux

package main

import (
	"errors"
	"net/netip"
	"syscall"
)

// spoofer would send datagrams with any source address; this tool does
// that only on Linux.
type spoofer struct{}

var errNeedRoot = errors.New("needs Linux and root (a raw socket with IP_HDRINCL spoofs the source addresses)")

func newSpoofer() (*spoofer, error) { return nil, errNeedRoot }

func (s *spoofer) send(from, to netip.AddrPort, payload []byte) error { return errNeedRoot }

func (s *spoofer) close() {}

func raiseReadBuffer(rc syscall.RawConn, n int) {}
