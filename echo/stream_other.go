//go:build !unix

package echo

import (
	"net"
	"sync"
)

// newRawConn returns nil where raw descriptors are not used: the
// connection then reads into a pooled buffer directly.
func newRawConn(net.Conn, *sync.Pool) rawConn { return nil }
