package httpfetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// download is the state of one Download call.
type download struct {
	c       *Client
	set     *clientSettings // c's, resolved
	lim     *rate.Limiter   // nil without Client.RateLimit
	burst   int             // the largest read lim allows
	limMu   sync.Mutex      // orders the reservations of lim
	url     string          // as asked
	safeURL string          // for messages, without password
	start   time.Time
	want    []byte // expected SHA-256, or nil
	sink    sink
	st      *state

	// stMu serializes the changes to st's Size and to its parts' Next
	// and Last while the parts run, with the copies that checkpoints
	// take; the goroutine that downloads a part reads its own part
	// without it.
	stMu sync.Mutex

	// For a download to a file: where its resume state is saved, and
	// the bytes held that the saved state describes (0: none saved).
	file      *os.File
	statePath string
	savedHeld int64

	noRanges bool // set after the server mishandled a range

	// cb makes the Progress and OnRetry calls one at a time, without
	// holding mu: a callback that blocks (a paused terminal) holds up
	// only the goroutine that called it, not every part's bookkeeping.
	cb sync.Mutex

	mu       sync.Mutex // guards the fields below
	finalURL string     // after redirects, used for range requests
	lastProg time.Time
	restarts int
	retries  int

	done     atomic.Int64 // bytes held
	received atomic.Int64 // bytes received by this call
	resumed  int64
}

// sink is where the bytes go: a file written at offsets, or a writer.
type sink interface {
	writeAt(p []byte, off int64) error
	// reset discards everything written, for a start over. It fails if
	// that is impossible.
	reset() error
}

type writerSink struct {
	w io.Writer
	n int64
	h hash.Hash
}

var errCannotRestart = errors.New("httpfetch: cannot start over: bytes already written")

func (s *writerSink) writeAt(p []byte, off int64) error {
	if off != s.n {
		return fmt.Errorf("httpfetch: internal error: write at %d, stream at %d", off, s.n)
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	if s.h != nil {
		s.h.Write(p[:n])
	}
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return err
}

func (s *writerSink) reset() error {
	if s.n != 0 {
		return errCannotRestart
	}
	return nil
}

func (d *download) toWriter(ctx context.Context, w io.Writer) (*Result, error) {
	ws := &writerSink{w: w}
	if d.want != nil {
		ws.h = sha256.New()
	}
	d.sink = ws
	if err := d.run(ctx, false); err != nil {
		return nil, err
	}
	res := d.result()
	if ws.h != nil {
		got := ws.h.Sum(nil)
		if err := d.check(got); err != nil {
			return nil, err
		}
		res.SHA256 = hex.EncodeToString(got)
	}
	return res, nil
}

func (d *download) check(got []byte) error {
	if string(got) != string(d.want) {
		return &ChecksumError{URL: d.safeURL, Want: hex.EncodeToString(d.want), Got: hex.EncodeToString(got)}
	}
	return nil
}

func (d *download) result() *Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	u := d.safeURL
	if d.finalURL != "" {
		u = redact(d.finalURL)
	}
	n := len(d.st.Parts)
	if n == 0 {
		n = 1
	}
	return &Result{
		URL:       u,
		Size:      d.st.Size,
		Resumed:   d.resumed,
		Parts:     n,
		Restarts:  d.restarts,
		Retries:   d.retries,
		Validator: d.st.Validator,
		Elapsed:   time.Since(d.start),
	}
}

func (d *download) logf(msg string, args ...any) { d.log(slog.LevelInfo, msg, args...) }

func (d *download) log(level slog.Level, msg string, args ...any) {
	if l := d.c.Logger; l != nil {
		l.Log(context.Background(), level, "httpfetch: "+msg, append([]any{"url", d.safeURL}, args...)...)
	}
}

// run downloads into d.sink, resuming d.st if it is not nil, and starting
// over (at most Retries times) when the resource changes or the server
// stops honouring ranges.
func (d *download) run(ctx context.Context, split bool) error {
	for {
		var first *http.Response
		if d.st == nil {
			st, resp, err := d.probe(ctx, split)
			if err != nil {
				return err
			}
			d.st, first = st, resp
		}
		err := d.runParts(ctx, first)
		if err == nil {
			d.report(true)
			return nil
		}
		var re *restartError
		if !errors.As(err, &re) {
			return err
		}
		d.mu.Lock()
		d.restarts++
		n := d.restarts
		d.mu.Unlock()
		if n > d.set.retries || d.sink.reset() != nil {
			return re.err
		}
		if errors.Is(re.err, ErrBadRange) {
			// The server mishandles ranges: one stream from now on.
			d.noRanges = true
		}
		d.logf("starting over", "reason", re.err)
		d.st = nil
		d.done.Store(0)
		d.resumed = 0
		d.savedHeld = 0 // reset removed the saved state
	}
}

// report calls the Progress callback if it is time, or if final.
func (d *download) report(final bool) {
	f := d.c.Progress
	if f == nil {
		return
	}
	now := time.Now()
	d.mu.Lock()
	if !final && now.Sub(d.lastProg) < d.set.progressGap {
		d.mu.Unlock()
		return
	}
	d.lastProg = now
	total := int64(-1)
	if d.st != nil {
		total = d.st.Size
	}
	d.mu.Unlock()
	var rate float64
	if el := now.Sub(d.start).Seconds(); el > 0 {
		rate = float64(d.received.Load()) / el
	}
	d.cb.Lock()
	defer d.cb.Unlock()
	f(Progress{Done: d.done.Load(), Total: total, Rate: rate})
}
