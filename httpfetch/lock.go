package httpfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// lockPoll is how often a download that waits for another
// ([Client.WaitForLock]) tries the lock again.
const lockPoll = 100 * time.Millisecond

// lockInfo is what the holder of a destination's lock writes in the
// ".part.lock" file beside it, so that a download that finds the
// destination taken can name the process, and tell whether that process
// downloads the same URL.
type lockInfo struct {
	PID    int    `json:"pid"`
	URLSum string `json:"url_sha256"` // hex SHA-256 of the URL, which may hold a password
}

// urlSum is the lockInfo.URLSum of rawURL.
func urlSum(rawURL string) string {
	s := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(s[:])
}

// readLockInfo reads the lock file at path; it returns a zero lockInfo if
// there is none or it cannot be parsed (it is being written, say).
func readLockInfo(path string) lockInfo {
	var li lockInfo
	b, err := os.ReadFile(path)
	if err != nil || len(b) > 4<<10 || json.Unmarshal(b, &li) != nil || li.PID < 0 {
		return lockInfo{}
	}
	return li
}

// destLock is one download's exclusive claim on a destination: on its
// ".part" file, and on everything beside it.
type destLock struct {
	info   string // dest + ".part.lock"
	unlock func()
}

// release gives the destination up. The caller has already renamed or
// removed the ".part" files.
func (l *destLock) release() {
	os.Remove(l.info)
	l.unlock()
}

// lockDest takes the lock on dest for the download of d.url, and writes
// this process's id in dest + ".part.lock". If another download holds
// the lock it fails at once with a [*LockedError], or, if wait, waits
// until the lock is free or ctx ends.
//
// If it waited for a download of the same URL that completed dest
// meanwhile (the ".part" it watched is now dest), it returns a nil lock
// and the id of that download's process: there is nothing left to do.
func (d *download) lockDest(ctx context.Context, dest string) (*destLock, int, error) {
	part, info := dest+".part", dest+".part.lock"
	sum := urlSum(d.url)
	wait := d.c.WaitForLock
	var (
		waited  bool
		holder  lockInfo    // the last holder seen while waiting
		watched os.FileInfo // its ".part"
	)
	for {
		unlock, busy, err := tryLock(part, info)
		if err != nil {
			return nil, 0, fmt.Errorf("httpfetch: lock %s: %w", part, err)
		}
		if !busy {
			l := &destLock{info: info, unlock: unlock}
			if holder.URLSum == sum && watched != nil {
				if fi, err := os.Stat(dest); err == nil && os.SameFile(fi, watched) {
					l.dropEmptyPart(part)
					l.release()
					return nil, holder.PID, nil
				}
			}
			// Temporary files of a download killed while it wrote them.
			os.Remove(info + ".tmp")
			os.Remove(part + ".state.tmp")
			b, _ := json.Marshal(lockInfo{PID: os.Getpid(), URLSum: sum})
			if err := writeFileAtomic(info, b, false); err != nil {
				l.release()
				return nil, 0, fmt.Errorf("httpfetch: lock %s: %w", part, err)
			}
			return l, 0, nil
		}
		li := readLockInfo(info)
		le := &LockedError{Dest: dest, PID: li.PID, LockFile: info}
		if !wait {
			return nil, 0, le
		}
		if !waited {
			d.logf("waiting for another download", "dest", dest, "pid", li.PID)
			waited = true
		}
		if fi, err := os.Stat(part); err == nil && li.URLSum != "" && readLockInfo(info) == li {
			// The same holder before and after the stat: fi is its file.
			holder, watched = li, fi
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, 0, fmt.Errorf("%w (while waiting: %w)", ctx.Err(), le)
		}
	}
}

// dropEmptyPart removes an empty ".part" that taking the lock created,
// unless a resume state says it belongs to an interrupted download.
func (l *destLock) dropEmptyPart(part string) {
	if _, err := os.Stat(part + ".state"); !errors.Is(err, os.ErrNotExist) {
		return
	}
	if fi, err := os.Stat(part); err == nil && fi.Size() == 0 {
		os.Remove(part)
	}
}
