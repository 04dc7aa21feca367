//go:build unix

package echo

import "syscall"

const ecONNREFUSED = syscall.ECONNREFUSED
