//go:build !unix

package echo

import "syscall"

const ecONNREFUSED = syscall.Errno(0x274d) // WSAECONNREFUSED
