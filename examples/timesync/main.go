// Command timesync runs the time server of package timesync, queries an
// NTP server, or asks the format service for the time.
//
//	timesync serve  [-addr 127.0.0.1:12300] [-rate 2]
//	timesync query  [-addr 127.0.0.1:12300] [-samples 8]
//	timesync format [-addr 127.0.0.1:12300] FORMAT
//
// serve answers both NTP clients and the format service on one UDP port
// until interrupted. query prints the offset of the local clock from the
// server, the round-trip delay and the server's stratum. format prints
// the server's time in a strftime FORMAT such as '%Y-%m-%d %H:%M:%S'.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/sockkit/sockkit/timesync"
)

const defaultAddr = "127.0.0.1:12300"

// shutdownTimeout bounds the graceful shutdown of serve.
const shutdownTimeout = 5 * time.Second

// errUsage reports bad arguments; main exits with status 2 for it.
var errUsage = errors.New("usage")

// errHelp reports that -h was given and the usage printed: run returns
// nil for it.
var errHelp = errors.New("help shown")

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		msg := err.Error()
		if !strings.HasPrefix(msg, "timesync: ") {
			msg = "timesync: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  timesync serve  [-addr 127.0.0.1:12300] [-rate 2]
  timesync query  [-addr 127.0.0.1:12300] [-samples 8]
  timesync format [-addr 127.0.0.1:12300] FORMAT
`)
}

// run is main without the process: it returns errUsage for bad
// arguments, after printing the usage to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	err := runCommand(ctx, args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		usage(stderr)
		return errUsage
	}
	fs := flag.NewFlagSet("timesync "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "UDP address to serve on or to query")
	switch args[0] {
	case "serve":
		rate := fs.Float64("rate", timesync.DefaultPacketsPerSecond, "requests per second allowed per source; negative for no limit")
		if err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		return serve(ctx, *addr, *rate, stdout)
	case "query":
		samples := fs.Int("samples", 8, "number of requests; the one with the least delay is kept")
		if err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		if *samples < 1 {
			fmt.Fprintln(stderr, "timesync query: -samples must be at least 1")
			usage(stderr)
			return errUsage
		}
		c := timesync.Client{Samples: *samples}
		r, err := c.Query(ctx, *addr)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "offset %v\ndelay %v\nstratum %d\nrefid %s\nsamples %d\n",
			r.Offset, r.Delay, r.Stratum, timesync.RefIDString(r.Stratum, r.RefID), r.Samples)
		return nil
	case "format":
		if err := parse(fs, args[1:], 1); err != nil {
			return err
		}
		var c timesync.Client
		s, err := c.Format(ctx, *addr, fs.Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, s)
		return nil
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return nil
	}
	fmt.Fprintf(stderr, "timesync: unknown command %q\n", args[0])
	usage(stderr)
	return errUsage
}

// parse parses flags and checks that nargs arguments follow them.
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	if fs.NArg() != nargs {
		fmt.Fprintf(fs.Output(), "%s: want %d argument(s), got %d\n", fs.Name(), nargs, fs.NArg())
		fs.Usage()
		return errUsage
	}
	return nil
}

func serve(ctx context.Context, addr string, rate float64, stdout io.Writer) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	srv := &timesync.Server{PacketsPerSecond: rate}
	done := make(chan error, 1)
	// The server's own context is not cancelled by the signal: a signal
	// asks for the graceful Shutdown below, not for an immediate close.
	go func() { done <- srv.ServePacket(context.WithoutCancel(ctx), pc) }()
	fmt.Fprintln(stdout, "timesync: serving NTP and the format service on", pc.LocalAddr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, timesync.ErrServerClosed) {
		return err
	}
	return nil
}
