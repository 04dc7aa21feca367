// Command timesync runs the time server of package timesync, queries an
// NTP server, or asks the format service for the time.
//
//	timesync serve  [-addr 127.0.0.1:12300] [-rate 8]
//	timesync query  [-addr 127.0.0.1:12300] [-samples 8] [-interval 125ms]
//	timesync format [-addr 127.0.0.1:12300] [-charset NAME] FORMAT
//
// serve answers both NTP clients and the format service on one UDP port
// until interrupted. query prints the offset of the local clock from the
// server, the round-trip delay and the server's stratum, from samples
// paced to what a default server allows; a server that answers "RATE"
// (slow down) ends the query, which prints what it has and fails. format
// prints the server's time in a strftime FORMAT such as
// '%Y-%m-%d %H:%M:%S' or '%c'.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
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

const usage = `usage:
  timesync serve  [-addr 127.0.0.1:12300] [-rate 8]
  timesync query  [-addr 127.0.0.1:12300] [-samples 8] [-interval 125ms]
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
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *samples < 1 {
		fmt.Fprintln(stderr, "timesync query: -samples must be at least 1")
		fs.Usage()
		return cli.ErrUsage
	}
	if *interval == 0 {
		*interval = -1 // no pause: what the Client calls a negative Interval
	}
	c := timesync.Client{Samples: *samples, Interval: *interval}
	r, err := c.Query(ctx, *addr)
	if r != nil { // with a "RATE" Kiss-o'-Death, the samples taken before it
		fmt.Fprintf(stdout, "offset %v\ndelay %v\nstratum %d\nrefid %s\nsamples %d\n",
			r.Offset, r.Delay, r.Stratum, timesync.RefIDString(r.Stratum, r.RefID), r.Samples)
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
