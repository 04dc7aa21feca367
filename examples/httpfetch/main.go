// Command httpfetch serves a directory over HTTP and downloads files,
// with resume, parallel ranges and SHA-256 verification.
//
//	httpfetch serve [-addr 127.0.0.1:8080] [-dir DIR] [-dotfiles]
//	httpfetch get [-o FILE] [-parallel N] [-sha256 HEX] [-wait] [-q] [-limit-rate RATE]
//	              [-H 'Name: value']... [-retries N] [-retry-refused] [-timeout D]
//	              [-connect-timeout D] URL
//
// serve without -dir answers the "Hello World" page at every path, to a
// browser as to curl. get saves to the last element of the URL's path
// unless -o says otherwise ("-o -" is standard output) and ends with a
// one-line summary. On standard error it shows one progress line for
// all the parallel ranges together, like aria2c's: bytes done, total,
// rate over the last 5 s and ETA, redrawn in place on a terminal, and
// printed every 5 s otherwise (a log, a pipe: nothing for a download
// shorter than that). Before each retry it says why and when
// ("httpfetch: connection reset, retrying in 1s (2/5)"). -q shows none
// of that, nor the summary: only errors.
//
// -parallel is 1 to 32 (httpfetch.MaxParallel); a file is split only if
// the server allows ranges, and into no more parts than it has 8 MiB.
// -limit-rate caps the bytes per second of the whole download, all
// ranges together (a token bucket), with curl's suffixes: 100K, 2.5M (K
// is 1024). -H adds a request header (repeatable); those the client sets
// itself (Host, Range, If-Range, Accept-Encoding, Content-Length,
// Connection and the like) are refused, as overriding them would break
// ranges and resume; User-Agent may be replaced. Credentials given with
// -H go only to the URL's origin, never to a host it redirects to.
//
// -retries N (default 5, 0 for none) retries a request that failed for a
// transient reason (reset, timeout, stall, 408, 429, 5xx), waiting from
// 0.5 s and doubling, or as Retry-After says. A refused connection fails
// at once, as with curl and wget, unless -retry-refused (a server that is
// restarting). -timeout bounds the whole download (default: none);
// -connect-timeout each TCP connection attempt (default 30 s; a TLS
// handshake has 10 s more).
//
// An interrupted or killed get, or one that ran out of retries or time,
// keeps FILE.part and FILE.part.state; running the same command again
// resumes. Two gets to the same FILE never write it together: the second
// fails at once naming the first one's process, or with -wait waits for
// it (and downloads nothing if the first one completed the same URL).
//
// A bad or missing flag prints usage and exits 2; any other failure
// prints why (and, for some, what to do) and exits 1.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/sockkit/sockkit/internal/tlsflag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/internal/textsafe"
)

const usage = `usage:
  httpfetch serve [-addr 127.0.0.1:8080] [-dir DIR] [-dotfiles] [-tls-cert FILE -tls-key FILE]
  httpfetch get [-o FILE] [-parallel N] [-sha256 HEX] [-wait] [-ca FILE | -insecure] [-q]
                [-limit-rate RATE] [-H 'Name: value']... [-retries N] [-retry-refused]
                [-timeout D] [-connect-timeout D] URL
`

func main() { cli.Main("httpfetch", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Dispatch(ctx, "httpfetch", usage, cli.Commands{"serve": serve, "get": get}, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("httpfetch", "serve", usage, stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	dir := fs.String("dir", "", "directory to serve (default: a Hello World page)")
	dot := fs.Bool("dotfiles", false, "serve names that begin with a dot")
	var tf tlsflag.ServerFlags
	tf.Register(fs)
	ops := metrics.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	tlsConfig, err := tf.Config()
	if err != nil {
		return err
	}
	if *dir != "" {
		if fi, err := os.Stat(*dir); err != nil || !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", *dir)
		}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	scheme := "http"
	if tlsConfig != nil {
		// HTTP/1.1 only: the server speaks nothing else.
		tlsConfig.NextProtos = []string{"http/1.1"}
		l, scheme = tls.NewListener(l, tlsConfig), "https"
	}
	srv := &httpfetch.Server{Dir: *dir, Dotfiles: *dot, Logger: ops.Logger(stderr)}
	stopMetrics, err := ops.Start("httpfetch", stdout, srv.Logger, func() sockkit.Counters { return srv.Stats().Counters })
	if err != nil {
		l.Close()
		return err
	}
	defer stopMetrics()
	what := "a Hello World page"
	if *dir != "" {
		what = *dir
	}
	fmt.Fprintf(stdout, "serving %s on %s://%s/ (Ctrl-C to stop)\n", what, scheme, l.Addr())
	// The signal context goes straight to Serve: its end is a graceful
	// shutdown (requests in progress finish), bounded by ShutdownTimeout.
	srv.ShutdownTimeout = 5 * time.Second
	return cli.Serve(ctx, "httpfetch", stdout, httpfetch.ErrServerClosed, srv.ShutdownTimeout, srv.Shutdown,
		func(ctx context.Context) error { return srv.Serve(ctx, l) })
}

func get(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("httpfetch", "get", usage, stderr)
	out := fs.String("o", "", "output file, - for standard output (default: from the URL)")
	parallel := fs.Int("parallel", httpfetch.DefaultParallel, fmt.Sprintf("ranges downloaded at once, 1 to %d", httpfetch.MaxParallel))
	sum := fs.String("sha256", "", "expected SHA-256 digest, in hex")
	wait := fs.Bool("wait", false, "wait for another download to the same file instead of failing")
	quiet := fs.Bool("q", false, "quiet: no progress, retry messages or summary; errors only")
	var limit rateFlag
	fs.Var(&limit, "limit-rate", "at most `RATE` bytes per second, all ranges together: 500, 100K, 2.5M (K is 1024)")
	header := headerFlag{}
	fs.Var(header, "H", "extra request header `'Name: value'`; repeatable")
	retries := fs.Int("retries", httpfetch.DefaultRetries, "retries of a request after a transient failure, 0 for none")
	retryRefused := fs.Bool("retry-refused", false, "retry a refused connection too (default: fail at once)")
	timeout := fs.Duration("timeout", 0, "give up the whole download after `D`, 0 for never")
	connectTimeout := fs.Duration("connect-timeout", 30*time.Second, "give up a TCP connection attempt after `D`")
	var tf tlsflag.ClientFlags
	tf.Register(fs)
	if err := cli.Parse(fs, args, 1, 1); err != nil {
		return err
	}
	tlsConfig, err := tf.Config(stderr)
	if err != nil {
		return err
	}
	bad := func(format string, args ...any) error {
		fmt.Fprintf(stderr, "httpfetch get: "+format+"\n", args...)
		fs.Usage()
		return cli.ErrUsage
	}
	switch {
	case *parallel < 1 || *parallel > httpfetch.MaxParallel:
		return bad("-parallel %d: must be 1 to %d", *parallel, httpfetch.MaxParallel)
	case *retries < 0:
		return bad("-retries %d: must be 0 or more", *retries)
	case *timeout < 0:
		return bad("-timeout %v: must be 0 (never) or more", *timeout)
	case *connectTimeout <= 0:
		return bad("-connect-timeout %v: must be more than 0", *connectTimeout)
	}
	rawURL := fs.Arg(0)
	dest := *out
	if dest == "" {
		var err error
		if dest, err = fileName(rawURL); err != nil {
			return err
		}
	}

	if tlsConfig != nil && !strings.HasPrefix(rawURL, "https://") {
		return fmt.Errorf("-tls, -ca and -insecure are for https:// URLs, not %s", textsafe.Clean(rawURL))
	}
	c := &httpfetch.Client{
		Parallel:     *parallel,
		WaitForLock:  *wait,
		TLSConfig:    tlsConfig,
		RateLimit:    int64(limit),
		Retries:      *retries,
		RetryRefused: *retryRefused,
		Dial:         (&net.Dialer{Timeout: *connectTimeout}).DialContext,
	}
	if *retries == 0 {
		c.Retries = -1 // none
	}
	if len(header) > 0 {
		c.Header = http.Header(header)
	}
	var m *meter
	if !*quiet {
		m = newMeter(stderr, path.Base(dest), isTerminal(stderr))
		c.Progress, c.OnRetry, c.Logger = m.update, m.retry, logger(m)
	}
	if inspect != nil {
		inspect(c)
	}
	if err := c.Check(); err != nil { // a bad -H
		return bad("%s", strings.ReplaceAll(err.Error(), "httpfetch: Header ", "-H "))
	}
	defer c.CloseIdleConnections()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, *timeout, errTimeout)
		defer cancel()
	}
	req := httpfetch.Request{URL: rawURL, Dest: dest, SHA256: *sum}
	summary := stdout
	if dest == "-" {
		req.Dest, req.Writer, summary = "", stdout, stderr
	}
	res, err := c.Download(ctx, req)
	m.finish()
	err = tlsflag.Explain(err)
	if errors.Is(err, httpfetch.ErrLocked) {
		if !*wait {
			return fmt.Errorf("%w; add -wait to wait for it", err)
		}
		return err
	}
	if err != nil {
		if errors.Is(context.Cause(ctx), errTimeout) {
			err = fmt.Errorf("gave up after -timeout %v: %w", *timeout, err)
		}
		if dest != "-" {
			if _, serr := os.Stat(dest + ".part.state"); serr == nil {
				fmt.Fprintf(stderr, "httpfetch: partial download kept in %s.part; run the same command to resume\n", dest)
			}
		}
		return err
	}
	if !*quiet {
		fmt.Fprintln(summary, summarize(dest, res))
	}
	return nil
}

// errTimeout is the cause of a download's end by -timeout.
var errTimeout = errors.New("-timeout")

// inspect, if not nil, sees the client that get made: a test hook.
var inspect func(*httpfetch.Client)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// logger writes the client's retries, restarts and waits on w, one line
// each, without times.
func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// summarize is the one line printed after a download.
func summarize(dest string, res *httpfetch.Result) string {
	var b strings.Builder
	where := dest
	if dest == "-" {
		where = "standard output"
	}
	if res.CompletedBy != 0 {
		fmt.Fprintf(&b, "saved %s: %s, downloaded by process %d while this one waited", where, size(res.Size), res.CompletedBy)
		if res.SHA256 != "" {
			b.WriteString(", sha256 ok")
		}
		return b.String()
	}
	secs := res.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(res.Size-res.Resumed) / secs
	}
	fmt.Fprintf(&b, "saved %s: %s in %.2fs (%s/s)", where, size(res.Size), secs, size(int64(rate)))
	if res.Parts > 1 {
		fmt.Fprintf(&b, ", %d parallel ranges", res.Parts)
	}
	if res.Resumed > 0 {
		fmt.Fprintf(&b, ", resumed after %s", size(res.Resumed))
	}
	if res.Retries > 0 {
		fmt.Fprintf(&b, ", %d retries", res.Retries)
	}
	if res.Restarts > 0 {
		fmt.Fprintf(&b, ", %d restarts", res.Restarts)
	}
	if res.SHA256 != "" {
		b.WriteString(", sha256 ok")
	}
	return b.String()
}

// size formats a byte count with binary units.
func size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	// 1023.96 KiB would print as "1024.0 KiB": that is 1.0 MiB.
	for float64(n)/float64(div) >= unit-0.05 && exp < 5 {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fileName derives a local file name from a URL: the last element of its
// path, made safe (no directories, no leading dot, no control
// characters), or "index.html".
func fileName(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	return safeName(path.Base(u.Path)), nil
}

func safeName(name string) string {
	name = textsafe.Clean(name)
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r < 0x20 || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if len(name) > 200 {
		name = name[:200]
	}
	if name == "" || name == "_" {
		return "index.html"
	}
	return name
}
