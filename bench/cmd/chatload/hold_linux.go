package main

import (
	"fmt"
	"syscall"
)

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT.
const ipBindAddressNoPort = 0x18

// bindAddressNoPort lets a client bound to a source address pick its
// port when it connects, not when it binds: a port is then unique per
// destination, not per source address, and ports in TIME_WAIT towards an
// earlier server do not count.
func bindAddressNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// raiseOpenFiles raises this process's limit of open files (and so that
// of the server process it starts) to at least n, if it is lower: the
// soft limit up to the hard one, and the hard one too where the process
// may (root with CAP_SYS_RESOURCE).
func raiseOpenFiles(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= uint64(n) {
		return nil
	}
	lim.Cur = uint64(n)
	hard := lim.Max
	lim.Max = max(lim.Max, lim.Cur)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("need %d open files (ulimit -n) but the hard limit is %d, and raising it failed (it takes CAP_SYS_RESOURCE): %w", n, hard, err)
	}
	return nil
}
