package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// probe sends the first request, "Range: bytes=0-", and makes the plan
// from its answer. The response it returns carries the first part.
func (d *download) probe(ctx context.Context, split bool) (*state, *http.Response, error) {
	rng := "bytes=0-"
	for fails := 0; ; {
		resp, cancel, err := d.get(ctx, d.url, rng, "")
		var st *state
		if err == nil {
			st, err = d.plan(resp, split)
			if err == nil {
				// The caller reads the body; cancel when done with it.
				resp.Body = &cancelBody{resp.Body, cancel}
				return st, resp, nil
			}
			resp.Body.Close()
		}
		cancel()
		var re *RangeError
		if errors.As(err, &re) && rng != "" {
			// A server that cannot answer a range: ask for everything.
			d.logf("server mishandles ranges, asking for the whole resource", "err", err)
			rng = ""
			continue
		}
		if !d.retry(ctx, &fails, err) {
			return nil, nil, d.final(ctx, err)
		}
	}
}

// plan checks the answer to the first request and splits the resource
// into parts.
func (d *download) plan(resp *http.Response, split bool) (*state, error) {
	st := &state{URL: d.url, Size: -1}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		st.Encoding = enc
	}
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr, err := d.checkRange(resp, 0, -1)
		if err != nil {
			return nil, err
		}
		if cr.Total >= 0 && cr.Last != cr.Total-1 {
			return nil, &RangeError{URL: d.safeURL, Asked: "bytes=0-", Got: resp.Header.Get("Content-Range"), Reason: "range ends before the resource"}
		}
		st.Size = cr.Total
		st.Validator = validator(resp.Header)
		st.Ranges = st.Validator != "" && st.Encoding == "" && !d.noRanges
	case http.StatusOK:
		st.Size = resp.ContentLength
		st.Validator = validator(resp.Header)
	default: // 416: some servers refuse "bytes=0-" for an empty resource
		return nil, &RangeError{URL: d.safeURL, Asked: "bytes=0-", Got: resp.Status, Reason: "range refused"}
	}
	if max := d.set.maxSize; max >= 0 && st.Size > max {
		return nil, &SizeError{URL: d.safeURL, Limit: max, Size: st.Size}
	}
	if st.Size == 0 {
		return st, nil
	}
	n := int64(1)
	minPart := d.set.minPartSize
	if split && st.Ranges && st.Size >= 2*minPart {
		n = min(int64(d.set.parallel), st.Size/minPart)
	}
	if st.Size < 0 {
		st.Parts = []*part{{First: 0, Last: -1}}
		return st, nil
	}
	partLen := (st.Size + n - 1) / n
	for first := int64(0); first < st.Size; first += partLen {
		st.Parts = append(st.Parts, &part{First: first, Last: min(first+partLen, st.Size) - 1, Next: first})
	}
	return st, nil
}

// checkRange checks the Content-Range and Content-Length of a 206
// response to a request for the bytes from first to last (last < 0: to
// the end).
func (d *download) checkRange(resp *http.Response, first, last int64) (contentRange, error) {
	asked := rangeHeader(first, last)
	got := resp.Header.Get("Content-Range")
	bad := func(reason string) (contentRange, error) {
		return contentRange{}, &RangeError{URL: d.safeURL, Asked: asked, Got: got, Reason: reason}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "multipart/byteranges" {
		return bad("multipart answer to a single range")
	}
	cr, err := parseContentRange(got)
	if err != nil {
		return bad(err.Error())
	}
	if cr.First != first {
		return bad("range starts elsewhere")
	}
	if resp.ContentLength >= 0 && resp.ContentLength != cr.Last-cr.First+1 {
		return bad(fmt.Sprintf("Content-Length %d does not match the range", resp.ContentLength))
	}
	return cr, nil
}

// runParts downloads every incomplete part, in parallel. first, if not
// nil, is the response to the probe, which carries part 0.
func (d *download) runParts(ctx context.Context, first *http.Response) error {
	stop := d.checkpoints() // before g.Go, which blocks past the limit
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.set.parallel)
	for i, p := range d.st.Parts {
		var resp *http.Response
		if i == 0 && first != nil {
			resp, first = first, nil
		}
		if p.complete() {
			if resp != nil {
				resp.Body.Close()
			}
			continue
		}
		g.Go(func() error { return d.runPart(gctx, p, resp) })
	}
	if first != nil {
		first.Body.Close()
	}
	err := g.Wait()
	stop()
	return err
}

// runPart downloads one part, resuming it after transient failures.
func (d *download) runPart(ctx context.Context, p *part, resp *http.Response) error {
	for fails := 0; ; {
		before := p.Next
		err := d.attempt(ctx, p, resp)
		resp = nil
		if err == nil {
			return nil
		}
		if p.Next > before && d.st.Ranges {
			fails = 0 // progress kept: the count of failures starts again
		}
		if !d.retry(ctx, &fails, err) {
			return d.final(ctx, err)
		}
		if !d.st.Ranges && p.Next != 0 {
			// The server cannot resume: this stream starts over.
			if d.sink.reset() != nil {
				return err
			}
			d.done.Store(0)
			d.stMu.Lock()
			p.Next = 0
			d.stMu.Unlock()
		}
	}
}

// attempt makes one request for the rest of part p (unless resp already
// answers it) and copies its body.
func (d *download) attempt(ctx context.Context, p *part, resp *http.Response) error {
	if resp == nil {
		var cancel context.CancelFunc
		var err error
		u := d.rangeURL()
		if d.st.Ranges {
			resp, cancel, err = d.get(ctx, u, rangeHeader(p.Next, p.Last), d.st.Validator)
		} else {
			resp, cancel, err = d.get(ctx, u, "", "")
		}
		if err != nil {
			cancel()
			return err
		}
		resp.Body = &cancelBody{resp.Body, cancel}
		if err := d.checkPart(resp, p); err != nil {
			resp.Body.Close()
			if err == errPartDone {
				return nil
			}
			return err
		}
	}
	defer resp.Body.Close()
	return d.copyBody(resp, p)
}

var errPartDone = errors.New("part complete")

// checkPart checks a response to a request for the rest of part p.
func (d *download) checkPart(resp *http.Response, p *part) error {
	st := d.st
	now := validator(resp.Header)
	if !st.Ranges {
		if resp.StatusCode != http.StatusOK {
			return &restartError{&RangeError{URL: d.safeURL, Got: resp.Status, Reason: "partial answer to a request without Range"}}
		}
		if st.Size >= 0 && resp.ContentLength != st.Size || now != st.Validator {
			return &restartError{&ChangedError{URL: d.safeURL, Before: describe(st.Validator, st.Size), After: describe(now, resp.ContentLength)}}
		}
		return nil
	}
	asked := rangeHeader(p.Next, p.Last)
	switch resp.StatusCode {
	case http.StatusOK:
		if now != st.Validator {
			return &restartError{&ChangedError{URL: d.safeURL, Before: describe(st.Validator, st.Size), After: describe(now, resp.ContentLength)}}
		}
		return &restartError{&RangeError{URL: d.safeURL, Asked: asked, Got: resp.Status, Reason: "server ignored Range"}}
	case http.StatusRequestedRangeNotSatisfiable:
		// Asking "bytes=N-" for a resource of unknown size that has
		// exactly N bytes: the part is complete.
		n, err := parseUnsatisfiedRange(resp.Header.Get("Content-Range"))
		if err == nil && st.Size < 0 && p.Last < 0 && n == p.Next {
			d.stMu.Lock()
			st.Size = n
			p.Last = n - 1
			d.stMu.Unlock()
			return errPartDone
		}
		return &restartError{&RangeError{URL: d.safeURL, Asked: asked, Got: resp.Header.Get("Content-Range"), Reason: "range not satisfiable"}}
	}
	cr, err := d.checkRange(resp, p.Next, p.Last)
	if err != nil {
		return &restartError{err}
	}
	if cr.Total != st.Size || now != "" && now != st.Validator {
		return &restartError{&ChangedError{URL: d.safeURL, Before: describe(st.Validator, st.Size), After: describe(now, cr.Total)}}
	}
	return nil
}

func describe(validator string, size int64) string {
	if validator == "" {
		return fmt.Sprintf("size %d", size)
	}
	return fmt.Sprintf("%s, size %d", validator, size)
}

func (d *download) rangeURL() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.finalURL != "" {
		return d.finalURL
	}
	return d.url
}

const (
	bufSize   = 1 << 20
	flushSize = 512 << 10
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// copyBody writes the body of resp into part p, from p.Next on.
func (d *download) copyBody(resp *http.Response, p *part) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	maxSize := d.set.maxSize
	fill := 0
	// Bytes are flushed when the buffer is half full, and also when it
	// has held bytes for ProgressInterval, so that a slow download
	// reports progress that often and not every 512 KiB.
	var held time.Time // when the buffer got its first byte
	flush := func() error {
		if fill == 0 {
			return nil
		}
		if maxSize >= 0 && p.Next+int64(fill) > maxSize {
			return &SizeError{URL: d.safeURL, Limit: maxSize, Size: p.Next + int64(fill)}
		}
		if err := d.sink.writeAt(buf[:fill], p.Next); err != nil {
			return fmt.Errorf("httpfetch: %w", err)
		}
		d.stMu.Lock()
		p.Next += int64(fill) // after the write: a checkpoint never claims bytes not written
		d.stMu.Unlock()
		d.done.Add(int64(fill))
		d.report(false)
		fill, held = 0, time.Time{}
		return nil
	}
	ctx := resp.Request.Context()
	for {
		// A cancelled download stops here, at once, with what it has
		// written kept for a resume: the transport would notice only
		// when the body's buffers run dry, which on a fast link may be
		// the end of the file.
		if ctx.Err() != nil {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			return context.Cause(ctx)
		}
		want := len(buf)
		if p.Last >= 0 {
			left := p.Last + 1 - p.Next - int64(fill)
			if left <= 0 {
				// The server may send more than asked: the rest is not ours.
				return flush()
			}
			want = fill + int(min(int64(want-fill), left))
		}
		if d.lim != nil {
			want = min(want, fill+d.burst)
		}
		n, err := resp.Body.Read(buf[fill:want])
		fill += n
		d.received.Add(int64(n))
		if n > 0 && d.lim != nil {
			// Waiting for the rate limit is not a stall.
			hold(resp.Body)
			if terr := d.throttle(ctx, n); terr != nil {
				flush()
				return terr
			}
		}
		if n > 0 {
			touch(resp.Body)
		}
		if err == io.EOF {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			if p.Last < 0 {
				d.stMu.Lock()
				d.st.Size = p.Next
				p.Last = p.Next - 1
				d.stMu.Unlock()
				return nil
			}
			if p.Next <= p.Last {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil {
			flush()
			return err
		}
		if n > 0 && held.IsZero() {
			held = time.Now()
		}
		if fill >= flushSize || p.Last >= 0 && p.Next+int64(fill) > p.Last ||
			fill > 0 && d.c.Progress != nil && time.Since(held) >= d.set.progressGap {
			if err := flush(); err != nil {
				return err
			}
		}
	}
}
