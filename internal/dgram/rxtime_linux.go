//go:build linux

package dgram

import (
	"encoding/binary"
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// oobSize is room for the control message that carries a receive
// timestamp.
var oobSize = unix.CmsgSpace(16)

// msgTrunc is the flag of a datagram cut short by the kernel.
const msgTrunc = unix.MSG_TRUNC

// enableRxTimestamps asks the kernel to stamp each datagram received on c
// with the time it arrived (SO_TIMESTAMPNS), the closest to the wire a
// program can read the clock without hardware timestamping. It reports
// whether the kernel agreed.
func enableRxTimestamps(c *net.UDPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return false
	}
	return serr == nil
}

// rxTimestamp returns the SCM_TIMESTAMPNS time in the control messages
// oob, if there is one.
func rxTimestamp(oob []byte) (time.Time, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		// struct cmsghdr: a size_t length, then int level and type.
		var l int
		if unix.SizeofCmsghdr == 16 {
			l = int(binary.NativeEndian.Uint64(oob))
		} else {
			l = int(binary.NativeEndian.Uint32(oob))
		}
		lenSize := unix.SizeofCmsghdr - 8
		level := int32(binary.NativeEndian.Uint32(oob[lenSize:]))
		typ := int32(binary.NativeEndian.Uint32(oob[lenSize+4:]))
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return time.Time{}, false
		}
		if level == unix.SOL_SOCKET && typ == unix.SCM_TIMESTAMPNS {
			// struct timespec: two longs.
			d := oob[unix.CmsgLen(0):l]
			switch len(d) {
			case 16:
				return time.Unix(int64(binary.NativeEndian.Uint64(d)), int64(binary.NativeEndian.Uint64(d[8:]))), true
			case 8:
				return time.Unix(int64(int32(binary.NativeEndian.Uint32(d))), int64(binary.NativeEndian.Uint32(d[4:]))), true
			}
			return time.Time{}, false
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return time.Time{}, false
}
