//go:build !linux

package main

import "syscall"

// bindAddressNoPort does nothing here: each source address has its
// ephemeral ports to itself.
func bindAddressNoPort(network, address string, c syscall.RawConn) error { return nil }

// raiseOpenFiles leaves the limit of open files alone here.
func raiseOpenFiles(n int) error { return nil }
