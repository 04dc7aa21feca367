package httpfetch

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
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
	// into place, and before each save of its resume state. By default
	// the file is synced, so that a crash never leaves a destination that
	// exists but is incomplete, nor a resume state that describes bytes
	// the ".part" lost.
	NoSync bool

	// stateEvery, if positive, replaces stateInterval: a test hook.
	stateEvery time.Duration

	// WaitForLock makes a download to a destination that another
	// download (in this process or another one) is writing wait until
	// that one ends, instead of failing at once with a [LockedError]. If
	// the other download was of the same URL and completed the file, the
	// waiting one downloads nothing and reports it in
	// [Result.CompletedBy]; if it stopped early, the waiting one resumes
	// its ".part". The wait ends with the context.
	WaitForLock bool

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
	// A download holds an exclusive lock on the ".part" from start to
	// rename, and names its process in Dest + ".part.lock": a second
	// download to the same Dest fails with a [LockedError], or waits (see
	// [Client.WaitForLock]).
	// If the server supports resuming, a ".part.state" file beside it
	// describes the bytes held: it is saved every second while bytes
	// arrive (after an fsync of the ".part", atomically) and when the
	// download stops. If the download stops for a transient reason
	// (cancelled context, lost connection, retries exhausted), or the
	// process is killed, both are kept, and the next download of the same
	// URL to the same Dest resumes where the last saved state says. After
	// any other failure both are removed.
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

	// CompletedBy is, when this call waited for another download of the
	// same URL to the same Dest ([Client.WaitForLock]) and that download
	// completed the file, the id of its process; this call then
	// downloaded nothing (Parts is 0). The file is checked against
	// Request.SHA256 all the same; a mismatch is a [ChecksumError] that
	// leaves the file, which is not this call's, in place.
	CompletedBy int
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
