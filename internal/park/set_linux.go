//go:build linux

package park

import (
	"os"

	"golang.org/x/sys/unix"
)

// The readiness set on Linux is an epoll set. Each parked connection is
// registered once, with EPOLLONESHOT, so that it is reported once and
// then disarmed until it parks again (EPOLL_CTL_MOD). The event's data
// is the connection's token, never its descriptor, so that an event for
// a connection unparked or closed meanwhile (whose descriptor number may
// already belong to another connection) matches nothing.

type event = unix.EpollEvent

const armEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

// openSet returns a new, non-blocking epoll descriptor.
func openSet() (int, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("epoll_create1", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// armFD asks the set to report fd once, as token, when it becomes
// readable; registered says whether fd is in the set already.
func armFD(set, fd int, token uint64, registered bool) error {
	ev := unix.EpollEvent{Events: armEvents, Fd: int32(uint32(token)), Pad: int32(uint32(token >> 32))}
	if registered {
		err := unix.EpollCtl(set, unix.EPOLL_CTL_MOD, fd, &ev)
		if err != unix.ENOENT {
			return os.NewSyscallError("epoll_ctl", err)
		}
		// Not in the set after all: add it.
	}
	return os.NewSyscallError("epoll_ctl", unix.EpollCtl(set, unix.EPOLL_CTL_ADD, fd, &ev))
}

// wait collects the events ready in the set without waiting.
func wait(set int, evs []event) (int, error) {
	for {
		n, err := unix.EpollWait(set, evs, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		return n, nil
	}
}

// tokenOf returns the token ev was armed with.
func tokenOf(ev *event) uint64 {
	return uint64(uint32(ev.Pad))<<32 | uint64(uint32(ev.Fd))
}
