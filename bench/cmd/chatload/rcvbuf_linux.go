package main

import "syscall"

// smallReceiveBuffer gives a stalled client a small receive buffer
// before it connects, so that the server's queue for it fills within
// seconds instead of minutes.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192)
	})
	if err != nil {
		return err
	}
	return serr
}
