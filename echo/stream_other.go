//go:build !unix

package echo

import (
	"net"
	"sync"
)

// newRawReader returns nil where raw descriptors are not used: the
// connection then reads into a pooled buffer directly.
func newRawReader(net.Conn, *sync.Pool) rawReader { return nil }
