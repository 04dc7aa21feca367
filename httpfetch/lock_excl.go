//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris)

package httpfetch

import (
	"errors"
	"os"
)

// tryLock creates the ".part.lock" file with O_EXCL, where the system
// has no flock(2): the file's existence is the lock. A download that is
// killed leaves it behind, and the destination stays locked until the
// file is removed by hand ([LockedError] says so). busy reports that the
// file exists.
func tryLock(_, info string) (unlock func(), busy bool, err error) {
	f, err := os.OpenFile(info, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	f.Close()
	return func() {}, false, nil
}

// lockOutlivesHolder is true: an O_EXCL lock file outlives a holder that
// is killed.
const lockOutlivesHolder = true
