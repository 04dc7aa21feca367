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
	MaxParallel             = 32 // the largest Client.Parallel
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
//
// The fields are resolved once, at the first call: zero means the
// documented default, a negative value means "none" or "no limit" only
// where the field says so, and any other value out of range makes every
// Download fail with an error naming the field, such as
// "httpfetch: Parallel 1000: must be 1 to 32" ([Client.Check] reports
// it before any download).
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
	// It is at most MaxParallel, and the file is split into no more
	// parts than it has MinPartSizes. Zero means DefaultParallel; 1 means
	// always one stream.
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
	// reason (connection reset, timeout, stall, body cut short, status
	// 408, 429 or 5xx; a refused connection only with RetryRefused) is
	// tried again, after a wait that doubles from RetryWait up to
	// MaxRetryWait, or the server's Retry-After. The count starts again
	// after every request that made progress. Other 4xx statuses are
	// never retried. Zero means DefaultRetries; negative means none.
	Retries int

	// RetryRefused makes a refused connection (nothing listens at the
	// address: the server is down or starting) a transient failure,
	// retried as the others are. By default it ends the download at
	// once, as curl and wget do without --retry-connrefused: a typo in
	// a port fails in milliseconds instead of after every retry. A
	// download to a file that can be resumed keeps its ".part" either
	// way.
	RetryRefused bool

	// OnRetry, if not nil, is called before each wait for a retry, with
	// why and for how long; a program shows it ("connection reset,
	// retrying in 1s (2/5)"). It is called from the downloading
	// goroutines, one call at a time (and never during a Progress
	// call), and must be quick.
	OnRetry func(Retry)

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

	// Header holds extra request headers, such as Authorization. The
	// User-Agent defaults to DefaultUserAgent. Credentials (Authorization,
	// Cookie and the like) are sent only to the origin of the URL asked
	// for (scheme, host and port), never to another one it redirects to.
	// The headers that the client sets itself or that frame the message
	// (Host, Range, If-Range, Accept-Encoding, Content-Length,
	// Transfer-Encoding, Connection, Keep-Alive, Proxy-Connection, TE,
	// Trailer, Upgrade, Expect), and invalid names or values, make
	// Download fail with an error naming the header: overriding them
	// would break ranges, resume or the connection.
	Header http.Header

	// RateLimit caps the bytes per second that a download receives, all
	// its parallel parts together, with a token bucket
	// (golang.org/x/time/rate) whose burst is an eighth of a second of
	// the rate (at least 1 byte, at most 1 MiB); reads are no larger than
	// the burst, so the rate holds over any second, not only on average.
	// Each download has its own bucket. Time spent waiting for the
	// bucket does not count towards StallTimeout. Zero means no limit.
	RateLimit int64

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

	// now and sleep, if not nil, replace time.Now and the timer of the
	// rate limit's and the retries' waits: a test hook.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	// WaitForLock makes a download to a destination that another
	// download (in this process or another one) is writing wait until
	// that one ends, instead of failing at once with a [LockedError]. If
	// the other download was of the same URL and completed the file, the
	// waiting one downloads nothing and reports it in
	// [Result.CompletedBy]; if it stopped early, the waiting one resumes
	// its ".part". The wait ends with the context.
	WaitForLock bool

	// Logger, if not nil, receives one line per retry and restart, at
	// level Info; a retry that OnRetry reports is logged at level Debug.
	Logger *slog.Logger

	once    sync.Once
	set     clientSettings // resolved once, by init
	initErr error
	hc      *http.Client
	tr      *http.Transport
}

// Retry describes a request about to be tried again, for [Client.OnRetry].
type Retry struct {
	Err     error         // why the request failed
	Wait    time.Duration // how long until it is sent again
	Attempt int           // 1 for the first retry of this request, up to Max
	Max     int           // the retries allowed: Client.Retries, resolved
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

// Check resolves the settings of c and returns what is wrong with them,
// as [Client.Download] would before any request; nil if nothing is. A
// program calls it to report a bad setting as a mistake of its user. The
// fields must not change afterwards.
func (c *Client) Check() error {
	c.init()
	return c.initErr
}

// Download performs the download that r describes.
func (c *Client) Download(ctx context.Context, r Request) (*Result, error) {
	c.init()
	if c.initErr != nil {
		return nil, c.initErr
	}
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
	d := &download{c: c, set: &c.set, url: r.URL, safeURL: u.Redacted(), start: time.Now(), want: want}
	d.lim, d.burst = c.set.limiter()
	switch {
	case r.Dest != "":
		return d.toFile(ctx, r.Dest)
	case r.Writer != nil:
		return d.toWriter(ctx, r.Writer)
	}
	return nil, errors.New("httpfetch: request has neither Dest nor Writer")
}
