package httpfetch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/opt"
	"golang.org/x/sync/errgroup"
)

// Defaults for the zero fields of [Client].
const (
	DefaultParallel         = 4
	DefaultMinPartSize      = 8 << 20
	DefaultMaxSize          = 64 << 30
	DefaultMaxRedirects     = 10
	DefaultRetries          = 5
	DefaultRetryWait        = 500 * time.Millisecond
	DefaultMaxRetryWait     = 30 * time.Second
	DefaultStallTimeout     = 30 * time.Second
	DefaultProgressInterval = 250 * time.Millisecond
	DefaultUserAgent        = "sockkit-httpfetch/1"
)

// Client downloads files over HTTP and HTTPS. Its zero value is ready to
// use, and it is safe for concurrent use; it keeps idle connections for
// reuse (see [Client.CloseIdleConnections]). Its fields must not change
// after the first download.
type Client struct {
	// Dial, if not nil, opens the connections, for instance a
	// [net.Dialer]'s DialContext. Nil uses a net.Dialer with a 30 s
	// timeout.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// TLSConfig, if not nil, configures HTTPS connections.
	TLSConfig *tls.Config

	// Parallel is the largest number of ranges downloaded at once. A
	// download is split only when the server honours Range requests with
	// a strong validator (ETag or Last-Modified), announces the size, and
	// the file is at least twice MinPartSize; otherwise it is one stream.
	// Zero means DefaultParallel; 1 means always one stream.
	Parallel int

	// MinPartSize is the smallest range worth a connection of its own.
	// Zero means DefaultMinPartSize.
	MinPartSize int64

	// MaxSize is the largest resource downloaded: a larger announced
	// size fails at once, and a stream of unknown size fails when it
	// passes the limit, with a [SizeError]. Zero means DefaultMaxSize;
	// negative means no limit.
	MaxSize int64

	// MaxRedirects is the largest number of redirects followed for one
	// request. Zero means DefaultMaxRedirects; negative means none.
	MaxRedirects int

	// RedirectSchemes lists the URL schemes a redirect may lead to. Nil
	// means "http" and "https".
	RedirectSchemes []string

	// Retries is how many times a request that failed for a transient
	// reason (connection refused or reset, timeout, stall, body cut
	// short, status 408, 429 or 5xx) is tried again, after a wait that
	// doubles from RetryWait up to MaxRetryWait, or the server's
	// Retry-After. The count starts again after every request that made
	// progress. Other 4xx statuses are never retried. Zero means
	// DefaultRetries; negative means none.
	Retries int

	// RetryWait is the first wait before a retry. Zero means
	// DefaultRetryWait.
	RetryWait time.Duration

	// MaxRetryWait caps the wait between retries. A Retry-After longer
	// than this ends the download with the [StatusError]. Zero means
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration

	// StallTimeout ends a request, which is then retried, when no byte
	// arrives for this long (response headers included). Zero means
	// DefaultStallTimeout.
	StallTimeout time.Duration

	// Header holds extra request headers, such as Authorization. Range,
	// If-Range and Accept-Encoding are set by the client. The User-Agent
	// defaults to DefaultUserAgent. Credentials (Authorization, Cookie and
	// the like) are sent only to the origin of the URL asked for (scheme,
	// host and port), never to another one it redirects to.
	Header http.Header

	// Progress, if not nil, is called from the downloading goroutines,
	// one call at a time, at most every ProgressInterval and once at the
	// end of a successful download. It must be quick.
	Progress func(Progress)

	// ProgressInterval is the least time between two Progress calls.
	// Zero means DefaultProgressInterval.
	ProgressInterval time.Duration

	// NoSync skips the fsync of a downloaded file before it is renamed
	// into place. By default the file is synced, so that a crash never
	// leaves a destination that exists but is incomplete.
	NoSync bool

	// Logger, if not nil, receives one line per retry and restart.
	Logger *slog.Logger

	once sync.Once
	hc   *http.Client
	tr   *http.Transport
}

// Progress reports how a download is going.
type Progress struct {
	Done  int64   // bytes held, including those resumed from an earlier call
	Total int64   // size of the resource, -1 while unknown
	Rate  float64 // bytes per second received by this call so far
}

// Request describes one download for [Client.Download].
type Request struct {
	// URL is the http or https URL to download.
	URL string

	// Dest is the file to create or replace. The bytes are written to
	// Dest + ".part" and renamed to Dest only when complete and verified.
	// If the download stops for a transient reason (cancelled context,
	// lost connection, retries exhausted) and the server supports
	// resuming, the ".part" file is kept with a ".part.state" file beside
	// it, and the next download of the same URL to the same Dest resumes
	// where it stopped. After any other failure both are removed.
	Dest string

	// Writer receives the bytes, in order, when Dest is empty. A Writer
	// download is always one stream; it is resumed after a lost
	// connection, but cannot start over if the resource changes once
	// bytes have been written, and on failure the Writer may hold part
	// of the resource.
	Writer io.Writer

	// SHA256, if not empty, is the expected SHA-256 digest in hex. A
	// download that does not match fails with a [ChecksumError], and its
	// file is removed.
	SHA256 string
}

// Result describes a finished download.
type Result struct {
	URL       string        // the URL the bytes came from, after redirects
	Size      int64         // bytes of the resource
	Resumed   int64         // bytes reused from an earlier, interrupted call
	Parts     int           // ranges downloaded in parallel; 1 for one stream
	Restarts  int           // times the download started over (resource changed, range ignored)
	Retries   int           // requests retried after transient failures
	SHA256    string        // the verified digest, when Request.SHA256 was set
	Validator string        // the ETag or Last-Modified used for If-Range, if any
	Elapsed   time.Duration // time spent in this call
}

// Fetch downloads url into the file dest. See [Request.Dest] for how the
// file is written and resumed.
func (c *Client) Fetch(ctx context.Context, url, dest string) (*Result, error) {
	return c.Download(ctx, Request{URL: url, Dest: dest})
}

// FetchTo downloads url and writes it to w, in order, as one stream.
func (c *Client) FetchTo(ctx context.Context, url string, w io.Writer) (*Result, error) {
	return c.Download(ctx, Request{URL: url, Writer: w})
}

// CloseIdleConnections closes the connections kept for reuse.
func (c *Client) CloseIdleConnections() {
	c.init()
	c.tr.CloseIdleConnections()
}

func (c *Client) init() {
	c.once.Do(func() {
		dial := c.Dial
		if dial == nil {
			dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		}
		c.tr = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dial,
			TLSClientConfig:     c.TLSConfig,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: c.parallel() + 2,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 10 * time.Second,
			// Transparent gzip would make Content-Length and Content-Range
			// count bytes other than those we write: no ranged download
			// could be resumed or split correctly.
			DisableCompression: true,
			ReadBufferSize:     64 << 10,
		}
		c.hc = &http.Client{Transport: c.tr, CheckRedirect: c.checkRedirect}
	})
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	limit := c.MaxRedirects
	if limit == 0 {
		limit = DefaultMaxRedirects
	}
	if len(via) > limit {
		return &RedirectError{URL: req.URL.Redacted(), Reason: fmt.Sprintf("more than %d redirects", max(limit, 0))}
	}
	if !c.schemeAllowed(req.URL.Scheme) {
		return &RedirectError{URL: req.URL.Redacted(), Reason: "scheme " + req.URL.Scheme + " not allowed"}
	}
	// net/http keeps credentials on a redirect to the same host name on
	// another port; an origin is scheme, host and port, so drop them.
	if !sameOrigin(via[0].URL, req.URL) {
		for k := range req.Header {
			if sensitiveHeader(k) {
				req.Header.Del(k)
			}
		}
	}
	return nil
}

func (c *Client) schemeAllowed(s string) bool {
	schemes := c.RedirectSchemes
	if schemes == nil {
		schemes = []string{"http", "https"}
	}
	return slices.ContainsFunc(schemes, func(x string) bool { return strings.EqualFold(x, s) })
}

func (c *Client) parallel() int {
	if c.Parallel <= 0 {
		return DefaultParallel
	}
	return c.Parallel
}

func (c *Client) retries() int {
	switch {
	case c.Retries == 0:
		return DefaultRetries
	case c.Retries < 0:
		return 0
	}
	return c.Retries
}

func (c *Client) maxSize() int64 {
	if c.MaxSize == 0 {
		return DefaultMaxSize
	}
	return c.MaxSize
}

// Download performs the download that r describes.
func (c *Client) Download(ctx context.Context, r Request) (*Result, error) {
	c.init()
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("httpfetch: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("httpfetch: %s: scheme %q is not http or https", u.Redacted(), u.Scheme)
	}
	var want []byte
	if r.SHA256 != "" {
		want, err = hex.DecodeString(r.SHA256)
		if err != nil || len(want) != sha256.Size {
			return nil, fmt.Errorf("httpfetch: %q is not a hex SHA-256 digest", r.SHA256)
		}
	}
	d := &download{c: c, url: r.URL, safeURL: u.Redacted(), start: time.Now(), want: want}
	switch {
	case r.Dest != "":
		return d.toFile(ctx, r.Dest)
	case r.Writer != nil:
		return d.toWriter(ctx, r.Writer)
	}
	return nil, errors.New("httpfetch: request has neither Dest nor Writer")
}

// download is the state of one Download call.
type download struct {
	c       *Client
	url     string // as asked
	safeURL string // for messages, without password
	start   time.Time
	want    []byte // expected SHA-256, or nil
	sink    sink
	st      *state

	noRanges bool // set after the server mishandled a range

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

type fileSink struct{ f *os.File }

func (s fileSink) writeAt(p []byte, off int64) error {
	_, err := s.f.WriteAt(p, off)
	return err
}

func (s fileSink) reset() error { return s.f.Truncate(0) }

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

func (d *download) toFile(ctx context.Context, dest string) (res *Result, err error) {
	partPath, statePath := dest+".part", dest+".part.state"
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

func (d *download) logf(msg string, args ...any) {
	if l := d.c.Logger; l != nil {
		l.Info("httpfetch: "+msg, append([]any{"url", d.safeURL}, args...)...)
	}
}

// restartError asks run to discard what it has and start over.
type restartError struct{ err error }

func (e *restartError) Error() string { return e.err.Error() }
func (e *restartError) Unwrap() error { return e.err }

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
		if n > d.c.retries() || d.sink.reset() != nil {
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
	}
}

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

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
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
	if max := d.c.maxSize(); max >= 0 && st.Size > max {
		return nil, &SizeError{URL: d.safeURL, Limit: max, Size: st.Size}
	}
	if st.Size == 0 {
		return st, nil
	}
	n := int64(1)
	minPart := opt.Positive(d.c.MinPartSize, DefaultMinPartSize)
	if split && st.Ranges && st.Size >= 2*minPart {
		n = min(int64(d.c.parallel()), st.Size/minPart)
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
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(d.c.parallel())
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
	return g.Wait()
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
			p.Next = 0
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
			st.Size = n
			p.Last = n - 1
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
	maxSize := d.c.maxSize()
	fill := 0
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
		p.Next += int64(fill)
		d.done.Add(int64(fill))
		d.report(false)
		fill = 0
		return nil
	}
	for {
		want := len(buf)
		if p.Last >= 0 {
			left := p.Last + 1 - p.Next - int64(fill)
			if left <= 0 {
				// The server may send more than asked: the rest is not ours.
				return flush()
			}
			want = fill + int(min(int64(want-fill), left))
		}
		n, err := resp.Body.Read(buf[fill:want])
		fill += n
		d.received.Add(int64(n))
		if n > 0 {
			touch(resp.Body)
		}
		if err == io.EOF {
			if ferr := flush(); ferr != nil {
				return ferr
			}
			if p.Last < 0 {
				d.st.Size = p.Next
				p.Last = p.Next - 1
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
		if fill >= flushSize || p.Last >= 0 && p.Next+int64(fill) > p.Last {
			if err := flush(); err != nil {
				return err
			}
		}
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
	defer d.mu.Unlock()
	if !final && now.Sub(d.lastProg) < opt.Positive(d.c.ProgressInterval, DefaultProgressInterval) {
		return
	}
	d.lastProg = now
	total := int64(-1)
	if d.st != nil {
		total = d.st.Size
	}
	var rate float64
	if el := now.Sub(d.start).Seconds(); el > 0 {
		rate = float64(d.received.Load()) / el
	}
	f(Progress{Done: d.done.Load(), Total: total, Rate: rate})
}

// get sends a GET request, with a Range and If-Range if not empty, under
// a stall timer. The returned cancel must be called when the response is
// done with. A status other than 200, 206 or (for a range) 416 is
// returned as a *StatusError.
func (d *download) get(ctx context.Context, u, rng, ifRange string) (*http.Response, context.CancelFunc, error) {
	rctx, cancelCause := context.WithCancelCause(ctx)
	stall := opt.Positive(d.c.StallTimeout, DefaultStallTimeout)
	timer := time.AfterFunc(stall, func() { cancelCause(ErrStalled) })
	cancel := func() {
		timer.Stop()
		cancelCause(context.Canceled)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, cancel, fmt.Errorf("httpfetch: %w", err)
	}
	orig, err := url.Parse(d.url)
	if err != nil {
		return nil, cancel, fmt.Errorf("httpfetch: %w", err)
	}
	sameOrigin := sameOrigin(orig, req.URL)
	for k, v := range d.c.Header {
		if !sameOrigin && sensitiveHeader(k) {
			continue
		}
		req.Header[k] = slices.Clone(v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", DefaultUserAgent)
	}
	req.Header.Set("Accept-Encoding", "identity")
	if rng != "" {
		req.Header.Set("Range", rng)
		if ifRange != "" {
			req.Header.Set("If-Range", ifRange)
		}
	}
	resp, err := d.c.hc.Do(req)
	if err != nil {
		if c := context.Cause(rctx); c == ErrStalled {
			err = fmt.Errorf("%w: %w", ErrStalled, err)
		}
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, cancel, re
		}
		return nil, cancel, err
	}
	resp.Body = &stallBody{ReadCloser: resp.Body, ctx: rctx, timer: timer, stall: stall}
	d.mu.Lock()
	if d.finalURL == "" {
		d.finalURL = resp.Request.URL.String()
	}
	d.mu.Unlock()
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		return resp, cancel, nil
	case http.StatusRequestedRangeNotSatisfiable:
		if rng != "" {
			return resp, cancel, nil
		}
	}
	io.CopyN(io.Discard, resp.Body, 4<<10)
	resp.Body.Close()
	se := &StatusError{URL: d.safeURL, StatusCode: resp.StatusCode, Status: resp.Status}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		se.RetryAfter = ra
	}
	return nil, cancel, se
}

// stallBody rearms the stall timer as bytes arrive, and turns the
// cancellation it causes into ErrStalled.
type stallBody struct {
	io.ReadCloser
	ctx   context.Context
	timer *time.Timer
	stall time.Duration
}

func (b *stallBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF && context.Cause(b.ctx) == ErrStalled {
		err = fmt.Errorf("%w: %w", ErrStalled, err)
	}
	return n, err
}

// touch rearms the stall timer of a response body.
func touch(body io.ReadCloser) {
	if cb, ok := body.(*cancelBody); ok {
		body = cb.ReadCloser
	}
	if sb, ok := body.(*stallBody); ok {
		sb.timer.Reset(sb.stall)
	}
}

// transient reports whether err may go away if the request is tried
// again.
func transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Temporary()
	}
	if errors.Is(err, ErrStalled) {
		return true
	}
	for _, perm := range []error{ErrTooLarge, ErrChecksum, ErrChanged, ErrBadRange, ErrRedirect, errCannotRestart, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, perm) {
			return false
		}
	}
	var re *restartError
	var cve *tls.CertificateVerificationError
	var rhe tls.RecordHeaderError
	var pe *os.PathError
	if errors.As(err, &re) || errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &pe) {
		return false
	}
	// Everything else is the network: refused, reset, timed out, cut
	// short (io.ErrUnexpectedEOF), malformed response.
	return true
}

// final returns the error that ends a request: err, or the context's
// error if the context ended first (err is then a consequence of it).
func (d *download) final(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// retry decides whether to try again after err, and waits if so.
func (d *download) retry(ctx context.Context, fails *int, err error) bool {
	if ctx.Err() != nil || !transient(err) || *fails >= d.c.retries() {
		return false
	}
	*fails++
	base := opt.Positive(d.c.RetryWait, DefaultRetryWait)
	maxWait := opt.Positive(d.c.MaxRetryWait, DefaultMaxRetryWait)
	wait := base << min(*fails-1, 20)
	if wait > maxWait || wait <= 0 {
		wait = maxWait
	}
	wait = wait/2 + rand.N(wait/2+1)
	var se *StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		if se.RetryAfter > maxWait {
			return false
		}
		wait = se.RetryAfter
	}
	d.mu.Lock()
	d.retries++
	d.mu.Unlock()
	d.logf("retrying", "err", err, "wait", wait)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// sensitiveHeader reports the headers that carry credentials, which
// net/http drops when it follows a redirect to another host.
func sensitiveHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Proxy-Authorization", "Www-Authenticate", "Cookie", "Cookie2":
		return true
	}
	return false
}

// sameOrigin reports whether u, where a request goes after a redirect,
// has the origin of orig: the same host and port, and no downgrade from
// https to http. Requests elsewhere go without [Client.Header]'s
// credentials: a mirror the origin redirects to must not learn them.
func sameOrigin(orig, u *url.URL) bool {
	if orig.Scheme == "https" && u.Scheme != "https" {
		return false
	}
	return strings.EqualFold(orig.Host, u.Host)
}

// redact returns rawURL with any password replaced, for results and logs.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
