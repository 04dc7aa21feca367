//go:build unix || windows

package udpcolor

import (
	"errors"
	"syscall"
)

// isRefused reports whether err is an ICMP "port unreachable" reported on
// a UDP socket: a peer is not (or no longer) listening.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }
