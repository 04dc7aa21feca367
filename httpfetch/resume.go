package httpfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sockkit/sockkit/internal/track"
)

// fileSink writes a ".part" file, whose resume state is at statePath.
type fileSink struct {
	f         *os.File
	statePath string
}

func (s fileSink) writeAt(p []byte, off int64) error {
	_, err := s.f.WriteAt(p, off)
	return err
}

// reset removes the resume state, which would describe bytes no longer
// there, then empties the file.
func (s fileSink) reset() error {
	if err := os.Remove(s.statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return s.f.Truncate(0)
}

func (d *download) toFile(ctx context.Context, dest string) (res *Result, err error) {
	partPath, statePath := dest+".part", dest+".part.state"
	lock, by, err := d.lockDest(ctx, dest)
	if err != nil {
		return nil, err
	}
	if lock == nil {
		return d.completedBy(dest, by)
	}
	defer lock.release() // after the files are renamed or removed
	f, err := os.OpenFile(partPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			os.Remove(partPath)
			os.Remove(statePath)
		}
	}()
	st := loadState(statePath, d.url)
	if st != nil {
		if fi, err := f.Stat(); err != nil || !fitsFile(st, fi.Size()) {
			st = nil
		}
	}
	d.sink = fileSink{f, statePath}
	d.file, d.statePath, d.savedHeld = f, statePath, 0
	if st == nil {
		if err := d.sink.reset(); err != nil {
			return nil, fmt.Errorf("httpfetch: %w", err)
		}
	} else {
		// The saved state stays valid as the parts grow: it is kept
		// until a newer one replaces it.
		d.resumed = st.held()
		d.savedHeld = d.resumed
		d.done.Store(d.resumed)
		d.logf("resuming", "held", d.resumed, "size", st.Size)
	}
	d.st = st

	if err := d.run(ctx, true); err != nil {
		if d.st != nil && d.st.Ranges && d.st.Validator != "" && resumable(err) {
			if serr := d.checkpoint(); serr != nil {
				d.logf("saving resume state failed", "err", serr)
			} else {
				keep = d.savedHeld > 0 // nothing to resume otherwise
			}
		}
		return nil, err
	}
	if err := f.Truncate(d.st.Size); err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	res = d.result()
	if d.want != nil {
		h := sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, d.st.Size)); err != nil {
			return nil, fmt.Errorf("httpfetch: %w", err)
		}
		got := h.Sum(nil)
		if err := d.check(got); err != nil {
			return nil, err
		}
		res.SHA256 = hex.EncodeToString(got)
	}
	if !d.c.NoSync {
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("httpfetch: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	// The state goes first: a crash between the two then leaves a
	// complete .part without a state, never a state without its file.
	if err := os.Remove(statePath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	if err := os.Rename(partPath, dest); err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	res.Elapsed = time.Since(d.start)
	return res, nil
}

// completedBy is the result of a download that waited for another
// download of the same URL, which completed dest: the file is checked,
// not downloaded.
func (d *download) completedBy(dest string, pid int) (*Result, error) {
	f, err := os.Open(dest)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	defer f.Close()
	res := &Result{URL: d.safeURL, CompletedBy: pid}
	if d.want != nil {
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, fmt.Errorf("httpfetch: %w", err)
		}
		got := h.Sum(nil)
		if err := d.check(got); err != nil {
			return nil, err
		}
		res.SHA256 = hex.EncodeToString(got)
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	res.Size = fi.Size()
	res.Elapsed = time.Since(d.start)
	return res, nil
}

// fitsFile reports whether the partial file can hold what st says was
// written into it.
func fitsFile(st *state, size int64) bool {
	for _, p := range st.Parts {
		if p.Next > p.First && p.Next > size {
			return false
		}
	}
	return true
}

// resumable reports whether a failed download may be resumed later.
func resumable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	return transient(err)
}

// stateInterval is how often a download to a file saves its resume
// state while its parts run (if bytes arrived since the last save); it
// is saved once more when the download stops early.
const stateInterval = time.Second

// checkpoints saves d's resume state every stateInterval (or
// Client.stateEvery) while the parts run, for a download that can be
// resumed; the stop it returns ends that and waits for a save in
// progress.
func (d *download) checkpoints() (stop func()) {
	if d.file == nil || !d.st.Ranges || d.st.Validator == "" {
		return func() {}
	}
	every := d.set.stateEvery
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		track.Every(quit, every, func() {
			if err := d.checkpoint(); err != nil {
				d.logf("saving resume state failed", "err", err)
			}
		})
	}()
	return func() {
		close(quit)
		<-exited
	}
}

// checkpoint saves the resume state if it holds more than the saved one
// (and so nothing while nothing is held):
// it copies the state, syncs the file (unless Client.NoSync), so that
// every byte the copy describes is on disk, and then replaces the state
// file atomically. A crash at any point leaves a state file that
// describes bytes the .part holds, or none.
func (d *download) checkpoint() error {
	d.stMu.Lock()
	st := d.st.clone()
	d.stMu.Unlock()
	held := st.held()
	if held == d.savedHeld {
		return nil
	}
	sync := !d.c.NoSync
	if sync {
		if err := d.file.Sync(); err != nil {
			return err
		}
	}
	if err := saveState(d.statePath, st, sync); err != nil {
		return err
	}
	d.savedHeld = held
	return nil
}
