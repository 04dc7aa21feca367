// Command httpfetch serves a directory over HTTP and downloads files,
// with resume, parallel ranges and SHA-256 verification.
//
//	httpfetch serve [-addr 127.0.0.1:8080] [-dir DIR] [-dotfiles]
//	httpfetch get [-o FILE] [-parallel N] [-sha256 HEX] [-wait] URL
//
// serve without -dir answers the "Hello World" page at every path, to a
// browser as to curl. get saves to the last element of the URL's path
// unless -o says otherwise ("-o -" is standard output), shows a progress
// bar on standard error when it is a terminal, logs retries there, and
// ends with a one-line summary. An interrupted or killed get keeps
// FILE.part and FILE.part.state; running the same command again resumes.
// Two gets to the same FILE never write it together: the second fails at
// once naming the first one's process, or with -wait waits for it (and
// downloads nothing if the first one completed the same URL).
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
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/internal/textsafe"
)

const usage = `usage:
  httpfetch serve [-addr 127.0.0.1:8080] [-dir DIR] [-dotfiles] [-tls-cert FILE -tls-key FILE]
  httpfetch get [-o FILE] [-parallel N] [-sha256 HEX] [-wait] [-ca FILE | -insecure] URL
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
	parallel := fs.Int("parallel", httpfetch.DefaultParallel, "ranges downloaded at once")
	sum := fs.String("sha256", "", "expected SHA-256 digest, in hex")
	wait := fs.Bool("wait", false, "wait for another download to the same file instead of failing")
	var tf tlsflag.ClientFlags
	tf.Register(fs)
	if err := cli.Parse(fs, args, 1, 1); err != nil {
		return err
	}
	tlsConfig, err := tf.Config(stderr)
	if err != nil {
		return err
	}
	if *parallel < 1 {
		fmt.Fprintln(stderr, "httpfetch get: -parallel must be at least 1")
		fs.Usage()
		return cli.ErrUsage
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
	c := &httpfetch.Client{Parallel: *parallel, WaitForLock: *wait, Logger: logger(stderr), TLSConfig: tlsConfig}
	defer c.CloseIdleConnections()
	bar := newBar(stderr, dest)
	if bar != nil {
		c.Progress = bar.update
	}
	req := httpfetch.Request{URL: rawURL, Dest: dest, SHA256: *sum}
	summary := stdout
	if dest == "-" {
		req.Dest, req.Writer, summary = "", stdout, stderr
	}
	res, err := c.Download(ctx, req)
	bar.finish()
	err = tlsflag.Explain(err)
	if errors.Is(err, httpfetch.ErrLocked) {
		if !*wait {
			return fmt.Errorf("%w; add -wait to wait for it", err)
		}
		return err
	}
	if err != nil {
		if dest != "-" {
			if _, serr := os.Stat(dest + ".part.state"); serr == nil {
				fmt.Fprintf(stderr, "httpfetch: partial download kept in %s.part; run the same command to resume\n", dest)
			}
		}
		return err
	}
	fmt.Fprintln(summary, summarize(dest, res))
	return nil
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
	for m := n / unit; m >= unit && exp < 5; m /= unit {
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

// bar is a progress bar on a terminal; a nil *bar does nothing.
type bar struct {
	w    io.Writer
	desc string
	pb   *progressbar.ProgressBar
}

// newBar returns a progress bar if w is a terminal, else nil.
func newBar(w io.Writer, dest string) *bar {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &bar{w: w, desc: path.Base(dest)}
}

func (b *bar) update(p httpfetch.Progress) {
	if b.pb == nil {
		b.pb = progressbar.NewOptions64(p.Total,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(b.desc),
			progressbar.OptionShowBytes(true),
			progressbar.OptionUseIECUnits(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	b.pb.Set64(p.Done)
}

func (b *bar) finish() {
	if b != nil && b.pb != nil {
		b.pb.Finish()
	}
}
