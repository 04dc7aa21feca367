//go:build unix || windows

package dgram

import (
	"errors"
	"syscall"
)

// isRefused reports whether err is an ICMP "port unreachable" reported on
// a UDP socket: a peer is not (or no longer) listening.
func isRefused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// IsRefused is isRefused for clients, which see the same error when the
// server is not listening.
func IsRefused(err error) bool { return isRefused(err) }
