//go:build !linux

package timesync

import (
	"context"
	"net"
)

// batchConn moves many datagrams per system call; only on Linux.
type batchConn interface{}

func newBatchConn(*dgramConn) batchConn { return nil }

func (s *Server) serveBatch(context.Context, net.PacketConn, *dgramConn, batchConn, int) error {
	panic("unreachable")
}
