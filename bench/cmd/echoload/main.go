// Command echoload is the load tool of bench/echo.sh: it measures an echo
// server (RFC 862) over TCP and UDP on loopback.
//
//	echoload -addr 127.0.0.1:7007 -mode stream -sizes 64,1024 -conns 1,100 -dur 2s
//	echoload -addr 127.0.0.1:7007 -mode rtt -conns 1,10,100,1000 -dur 2s
//	echoload -addr 127.0.0.1:7007 -mode hold -conns 10000 -pid 1234 [-touch]
//	echoload -addr 127.0.0.1:7007 -mode udp -conns 16 -dur 2s
//
// Modes:
//
//   - stream: each connection writes messages of one size as fast as it
//     can while it reads the echo concurrently and checks every byte;
//     the figure is the echoed bytes per second (MB/s, 10^6 bytes) over
//     all connections. After the timed part the tool waits for every
//     byte written to come back, so a lost byte is an error.
//   - rtt: each connection sends 64 bytes (-sizes), waits for all of them
//     to come back and checks them, again and again; the figures are
//     round trips per second over all connections and the 50th and 99th
//     percentile of one round trip's time.
//   - hold: opens N connections that send nothing (-touch: one byte each,
//     echoed, then nothing), waits until the server process (-pid) holds
//     them, and reports how much its resident memory (VmRSS) grew per
//     connection.
//   - udp: N sockets each send a 64-byte datagram carrying a sequence
//     number and wait for its echo (a datagram lost after 200 ms counts
//     as lost and the socket goes on); the figure is round trips per
//     second over all sockets.
//
// With -pid, the stream, rtt and udp modes also report the CPU time the
// server process used (user and system, from /proc/PID/stat, in 10 ms
// ticks) per MB echoed or per round trip: a figure that other work on a
// shared machine blurs much less than throughput does.
//
// Output is one line per figure, "NAME VALUE UNIT", for example
// "stream/1KiB/c100 812.40 MB/s", "stream/1KiB/c100/cpu 950.00 us/MB" or
// "rtt/c10/p99 85.20 us", so that a script can compare servers. Every loop is bounded by -dur and the whole
// run by -timeout. A byte that comes back wrong ends the run with an
// error and exit status 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
)

func main() { cli.Main("echoload", run) }

type config struct {
	addr    string
	mode    string
	sizes   []int
	conns   []int
	dur     time.Duration
	drain   time.Duration
	pid     int
	touch   bool
	settle  time.Duration
	timeout time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("echoload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	var sizes, conns string
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:7007", "server `address` (TCP and UDP)")
	fs.StringVar(&cfg.mode, "mode", "stream", "stream, rtt, hold or udp")
	fs.StringVar(&sizes, "sizes", "", "message sizes in bytes, comma-separated (default: stream 64,1024,16384,65536; rtt and udp 64)")
	fs.StringVar(&conns, "conns", "", "connection (udp: socket) counts, comma-separated (default: stream 1,100; rtt 1,10,100,1000; hold 10000; udp 16)")
	fs.DurationVar(&cfg.dur, "dur", 2*time.Second, "measuring time per figure")
	fs.DurationVar(&cfg.drain, "drain", 5*time.Second, "time allowed after -dur for the last echoes to come back")
	fs.IntVar(&windowOverride, "window", 0, "stream: most `bytes` in flight per connection (default 32 messages, at most 256 KiB and 8 MiB over all connections, at least 2 messages)")
	fs.IntVar(&cfg.pid, "pid", 0, "`pid` of the server: hold measures its VmRSS, the other modes its CPU time per MB or round trip (0: neither)")
	fs.BoolVar(&cfg.touch, "touch", false, "hold: echo one byte on each connection before it goes idle")
	fs.DurationVar(&cfg.settle, "settle", 500*time.Millisecond, "hold: wait this long after the server holds every connection before reading VmRSS")
	fs.DurationVar(&cfg.timeout, "timeout", 3*time.Minute, "bound on the whole run")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: echoload [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return cli.ErrUsage
	}
	var defSizes, defConns string
	switch cfg.mode {
	case "stream":
		defSizes, defConns = "64,1024,16384,65536", "1,100"
	case "rtt":
		defSizes, defConns = "64", "1,10,100,1000"
	case "hold":
		defSizes, defConns = "1", "10000"
	case "udp":
		defSizes, defConns = "64", "16"
	default:
		fmt.Fprintf(stderr, "echoload: unknown -mode %q\n", cfg.mode)
		fs.Usage()
		return cli.ErrUsage
	}
	var err error
	if cfg.sizes, err = intList(sizes, defSizes); err != nil {
		fmt.Fprintln(stderr, "echoload: -sizes:", err)
		return cli.ErrUsage
	}
	if cfg.conns, err = intList(conns, defConns); err != nil {
		fmt.Fprintln(stderr, "echoload: -conns:", err)
		return cli.ErrUsage
	}
	for _, n := range cfg.sizes {
		if cfg.mode == "udp" && (n < 8 || n > 65507) || n > 1<<20 {
			fmt.Fprintln(stderr, "echoload: -sizes: out of range:", n)
			return cli.ErrUsage
		}
		if (cfg.mode == "rtt") && n < 8 {
			fmt.Fprintln(stderr, "echoload: -sizes: rtt needs at least 8 bytes:", n)
			return cli.ErrUsage
		}
	}
	if cfg.dur <= 0 || cfg.dur > 10*time.Minute {
		fmt.Fprintln(stderr, "echoload: -dur out of range")
		return cli.ErrUsage
	}
	raiseFileLimit()
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()

	emit := func(name string, v float64, unit string) {
		fmt.Fprintf(stdout, "%s %s %s\n", name, strconv.FormatFloat(v, 'f', 2, 64), unit)
	}
	switch cfg.mode {
	case "stream":
		for _, n := range cfg.conns {
			for _, size := range cfg.sizes {
				cpu := serverCPU(cfg.pid)
				mbps, total, err := stream(ctx, cfg, size, n)
				if err != nil {
					return fmt.Errorf("stream %d B, %d conns: %w", size, n, err)
				}
				name := fmt.Sprintf("stream/%s/c%d", sizeName(size), n)
				emit(name, mbps, "MB/s")
				if d, ok := cpu(); ok && total > 0 {
					emit(name+"/cpu", us(d)/(float64(total)/1e6), "us/MB")
				}
			}
		}
	case "rtt":
		for _, size := range cfg.sizes {
			for _, n := range cfg.conns {
				cpu := serverCPU(cfg.pid)
				r, err := roundTrips(ctx, cfg, size, n)
				if err != nil {
					return fmt.Errorf("rtt %d B, %d conns: %w", size, n, err)
				}
				prefix := fmt.Sprintf("rtt/c%d", n)
				if size != 64 {
					prefix = fmt.Sprintf("rtt/%s/c%d", sizeName(size), n)
				}
				emit(prefix+"/rps", r.perSecond, "rt/s")
				emit(prefix+"/p50", us(r.p50), "us")
				emit(prefix+"/p99", us(r.p99), "us")
				if d, ok := cpu(); ok && r.total > 0 {
					emit(prefix+"/cpu", us(d)/float64(r.total), "us/rt")
				}
			}
		}
	case "hold":
		name := "hold"
		if cfg.touch {
			name = "hold_touched"
		}
		for _, n := range cfg.conns {
			h, err := hold(ctx, cfg, n)
			if err != nil {
				return fmt.Errorf("hold %d conns: %w", n, err)
			}
			if cfg.pid > 0 {
				emit(fmt.Sprintf("%s/c%d/rss_before", name, n), float64(h.before)/1024, "KiB")
				emit(fmt.Sprintf("%s/c%d/rss_after", name, n), float64(h.after)/1024, "KiB")
				emit(fmt.Sprintf("%s/c%d/per_conn", name, n), float64(h.after-h.before)/float64(n), "B")
			}
		}
	case "udp":
		for _, size := range cfg.sizes {
			for _, n := range cfg.conns {
				cpu := serverCPU(cfg.pid)
				r, err := udpRoundTrips(ctx, cfg, size, n)
				if err != nil {
					return fmt.Errorf("udp %d B, %d sockets: %w", size, n, err)
				}
				prefix := fmt.Sprintf("udp/s%d", n)
				if size != 64 {
					prefix = fmt.Sprintf("udp/%s/s%d", sizeName(size), n)
				}
				emit(prefix+"/rps", r.perSecond, "rt/s")
				emit(prefix+"/lost", float64(r.lost), "dgrams")
				if d, ok := cpu(); ok && r.total > 0 {
					emit(prefix+"/cpu", us(d)/float64(r.total), "us/rt")
				}
			}
		}
	}
	return nil
}

// serverCPU notes the CPU time process pid has used so far and returns a
// func that reports how much it has used since; ok is false without a pid.
func serverCPU(pid int) func() (d time.Duration, ok bool) {
	if pid <= 0 {
		return func() (time.Duration, bool) { return 0, false }
	}
	before, err := cpuTime(pid)
	return func() (time.Duration, bool) {
		after, err2 := cpuTime(pid)
		return after - before, err == nil && err2 == nil
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// sizeName names a message size: 64B, 1KiB, 64KiB.
func sizeName(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}

func intList(s, def string) ([]int, error) {
	if s == "" {
		s = def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n <= 0 || n > 100000 {
			return nil, fmt.Errorf("out of range: %d", n)
		}
		out = append(out, n)
	}
	return out, nil
}

// raiseFileLimit lifts the soft limit on open files to the hard one, for
// the hold mode's thousands of connections.
func raiseFileLimit() {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return
	}
	if rl.Cur < rl.Max {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
}
