//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris

package httpfetch

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// tryLock takes an advisory flock(2) on the ".part" file itself, without
// blocking. The kernel drops the lock when its holder exits, however it
// exits, so a killed download never leaves the destination locked; the
// ".part.lock" file beside it only names the holder. busy reports that
// another download holds the lock.
func tryLock(part, _ string) (unlock func(), busy bool, err error) {
	for {
		f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, false, err
		}
		err = flock(f)
		if errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, true, nil
		}
		if err != nil {
			f.Close()
			return nil, false, err
		}
		// The holder before us may have renamed or removed the file
		// between our open and our lock: then we hold a lock on a file
		// that is no longer the ".part", and must try again.
		fi, ferr := f.Stat()
		pi, perr := os.Stat(part)
		if ferr == nil && perr == nil && os.SameFile(fi, pi) {
			return func() { f.Close() }, false, nil
		}
		f.Close()
	}
}

// flock takes an exclusive lock on f without blocking.
func flock(f *os.File) error {
	sc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var lerr error
	err = sc.Control(func(fd uintptr) {
		for {
			lerr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB)
			if lerr != unix.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return lerr
}

// lockOutlivesHolder is false: the kernel drops a flock when its holder
// exits.
const lockOutlivesHolder = false
