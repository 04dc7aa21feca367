//go:build !linux

package dgram

import (
	"net"
	"time"
)

const (
	oobSize  = 0
	msgTrunc = 0
)

// enableRxTimestamps reports false: kernel receive timestamps are used on
// Linux only; elsewhere the clock is read when the datagram is read.
func enableRxTimestamps(*net.UDPConn) bool { return false }

func rxTimestamp([]byte) (time.Time, bool) { return time.Time{}, false }
