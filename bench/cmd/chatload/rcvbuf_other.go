//go:build !linux

package main

import "syscall"

// smallReceiveBuffer does nothing here: stalled clients keep the
// system's receive buffer and take longer to be disconnected.
func smallReceiveBuffer(network, address string, c syscall.RawConn) error { return nil }
