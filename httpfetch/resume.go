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
)

type fileSink struct{ f *os.File }

func (s fileSink) writeAt(p []byte, off int64) error {
	_, err := s.f.WriteAt(p, off)
	return err
}

func (s fileSink) reset() error { return s.f.Truncate(0) }

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
	os.Remove(statePath) // from here on the .part may change
	if st == nil {
		if err := f.Truncate(0); err != nil {
			return nil, fmt.Errorf("httpfetch: %w", err)
		}
	} else {
		d.resumed = st.held()
		d.done.Store(d.resumed)
		d.logf("resuming", "held", d.resumed, "size", st.Size)
	}
	d.st = st
	d.sink = fileSink{f}

	if err := d.run(ctx, true); err != nil {
		if d.st != nil && d.st.Ranges && d.st.Validator != "" && resumable(err) {
			if f.Sync() == nil && saveState(statePath, d.st) == nil {
				keep = true
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
