// Command timesync runs the time server of package timesync, queries an
// NTP server, or asks the format service for the time.
//
//	timesync serve  [-addr 127.0.0.1:12300] [-rate 8]
//	timesync query  [-samples 8] [-interval 125ms] [-timeout 10s] [-json | -v] [HOST[:PORT] | -addr 127.0.0.1:12300]
//	timesync format [-addr 127.0.0.1:12300] [-charset NAME] FORMAT
//
// serve answers both NTP clients and the format service on one UDP port
// until interrupted. query asks an NTP server (HOST alone means NTP's
// port 123; -addr, the default, is the local serve) for the time, from
// samples paced to what a default server allows, keeping the one with
// the least delay, and prints one line as ntpdig does:
//
//	2026-12-02 13:40:01.123456 (+0000) +0.000123 +/- 0.000045 127.0.0.1:12300 s1 no-leap
//
// the server's time (its transmit timestamp, in the local zone, to the
// digits its precision allows), the offset of the local clock from it
// in seconds, the error bound of that offset (half the delay, plus the
// server's precision and the local clock's drift over the exchange),
// the server as given and its address when that differs, its stratum
// and its leap indicator. -v adds the detail of the reply a line a
// field; -json prints one JSON object instead (see report.go). -timeout
// bounds the whole query, all samples included: when it runs out, query
// prints the best of the samples it had time for, and fails only if
// there were none. A server that answers
// "RATE" (slow down) ends the query, which prints what it has and
// fails. format
// prints the server's time in a strftime FORMAT such as
// '%Y-%m-%d %H:%M:%S' or '%c'.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/charset"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/timesync"
)

const defaultAddr = "127.0.0.1:12300"

// shutdownTimeout bounds the graceful shutdown of serve.
const shutdownTimeout = 5 * time.Second

// defaultQueryTimeout bounds a whole query: 8 samples at the default
// pace take about a second, and a lost request a second more.
const defaultQueryTimeout = 10 * time.Second

const usage = `usage:
  timesync serve  [-addr 127.0.0.1:12300] [-rate 8]
  timesync query  [-samples 8] [-interval 125ms] [-timeout 10s] [-json | -v] [HOST[:PORT] | -addr 127.0.0.1:12300]
  timesync format [-addr 127.0.0.1:12300] [-charset NAME] FORMAT
`

func main() { cli.Main("timesync", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := cli.Commands{"serve": serveCmd, "query": query, "format": format}
	return cli.Dispatch(ctx, "timesync", usage, cmds, args, stdout, stderr)
}

func flags(cmd string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := cli.FlagSet("timesync", cmd, usage, stderr)
	return fs, fs.String("addr", defaultAddr, "UDP address to serve on or to query")
}

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, addr := flags("serve", stderr)
	rate := fs.Float64("rate", timesync.DefaultPacketsPerSecond, "requests per second allowed per source; negative for no limit")
	ops := metrics.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	return serve(ctx, *addr, *rate, ops, stdout, stderr)
}

func query(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, addr := flags("query", stderr)
	samples := fs.Int("samples", 8, "number of requests; the one with the least delay is kept")
	interval := fs.Duration("interval", timesync.DefaultInterval, "least time between two requests; 0 for none")
	timeout := fs.Duration("timeout", defaultQueryTimeout, "time the whole query may take")
	asJSON := fs.Bool("json", false, "print one JSON object instead of the line")
	verbose := fs.Bool("v", false, "print the detail of the reply after the line")
	// The host may come before flags too, as with ntpdig: "query HOST -json".
	var hosts []string
	for {
		if err := cli.Parse(fs, args, 0, -1); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		hosts, args = append(hosts, fs.Arg(0)), fs.Args()[1:]
	}
	server := *addr
	if len(hosts) > 1 {
		fmt.Fprintf(stderr, "timesync query: unexpected argument %q: one server at a time\n", hosts[1])
		fs.Usage()
		return cli.ErrUsage
	}
	if len(hosts) == 1 {
		// -addr on the command line; from the environment, HOST
		// overrides it as any argument does.
		if cli.Given(fs, "addr") {
			fmt.Fprintln(stderr, "timesync query: give the server either as HOST[:PORT] or with -addr, not both")
			fs.Usage()
			return cli.ErrUsage
		}
		server = hosts[0]
	}
	switch {
	case *samples < 1:
		fmt.Fprintln(stderr, "timesync query: -samples must be at least 1")
	case *timeout <= 0:
		fmt.Fprintln(stderr, "timesync query: -timeout must be more than 0")
	case *asJSON && *verbose:
		fmt.Fprintln(stderr, "timesync query: -json has the detail already; -v is for the line")
	default:
		return runQuery(ctx, server, *samples, *interval, *timeout, *asJSON, *verbose, stdout)
	}
	fs.Usage()
	return cli.ErrUsage
}

// runQuery queries server and prints the result as -json or -v say.
func runQuery(ctx context.Context, server string, samples int, interval, timeout time.Duration, asJSON, verbose bool, stdout io.Writer) error {
	if interval == 0 {
		interval = -1 // no pause: what the Client calls a negative Interval
	}
	var peer net.Addr // the address the query went to, once resolved
	c := timesync.Client{Samples: samples, Interval: interval, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			peer = conn.RemoteAddr()
		}
		return conn, err
	}}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	r, err := c.Query(qctx, server)
	switch {
	case err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		err = fmt.Errorf("no usable reply from %s within %v (-timeout)", server, timeout)
		if r != nil {
			err = nil // the samples there was time for, which -v counts
		}
	case r == nil && errors.Is(err, syscall.ECONNREFUSED):
		// The host's ICMP port unreachable: nobody serves that port.
		err = fmt.Errorf("nothing answers NTP on %s (connection refused): is a time server running there?", server)
	}
	// With an error, r is what there was before it: the samples before a
	// "RATE" Kiss-o'-Death or an interrupt.
	if r != nil {
		rep := newReport(server, peer, r)
		switch {
		case asJSON:
			rep.writeJSON(stdout)
		default:
			fmt.Fprintln(stdout, rep.line(time.Local))
			if verbose {
				rep.writeDetail(stdout)
			}
		}
	}
	return err
}

func format(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, addr := flags("format", stderr)
	var cs charset.Flag
	fs.Var(&cs, "charset", charset.Usage("the terminal, for the format typed and the time printed"))
	if err := cli.Parse(fs, args, 1, 1); err != nil {
		return err
	}
	// The wire is UTF-8; a GBK console types and reads GBK.
	var c timesync.Client
	s, err := c.Format(ctx, *addr, cs.Decode([]byte(fs.Arg(0))))
	if err != nil {
		return err
	}
	fmt.Fprintln(cs.Writer(stdout), s)
	return nil
}

func serve(ctx context.Context, addr string, rate float64, ops *metrics.Flags, stdout, stderr io.Writer) error {
	srv := &timesync.Server{PacketsPerSecond: rate, ShutdownTimeout: shutdownTimeout, Logger: ops.Logger(stderr)}
	stopMetrics, err := ops.Start("timesync", stdout, srv.Logger, func() sockkit.Counters { return srv.Stats().Counters })
	if err != nil {
		return err
	}
	defer stopMetrics()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "timesync: serving NTP and the format service on", pc.LocalAddr())
	// The signal context goes straight to ServePacket: its end is the
	// graceful shutdown, bounded by ShutdownTimeout.
	return cli.Serve(ctx, "timesync", stdout, timesync.ErrServerClosed, shutdownTimeout, srv.Shutdown,
		func(ctx context.Context) error { return srv.ServePacket(ctx, pc) })
}
