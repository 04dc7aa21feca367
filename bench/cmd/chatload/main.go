// Command chatload is the load tool of bench/chat.sh: it measures how
// many lines a chat server delivers per second, how long each takes to
// arrive, and how much memory the server holds per client.
//
//	chatload -serve -addr 127.0.0.1:0       run a server (until stdin ends or SIGTERM)
//	chatload -load 1000:1 -dur 5s            measure (starts a server process of its own)
//	chatload -load 10:10 -dur 1s -inproc     measure a server in this process
//
// For each point N:R of -load, the tool starts a fresh server (a child
// process running "chatload -serve", pinned with taskset to the CPU of
// -server-cpu when it is not empty), connects N clients, which all join
// the lobby, and measures the server's memory. Then every client sends R
// messages per second, each carrying its send time, for -warm and then
// -dur; a fraction -stall of the clients never read (nor send). Every other client
// reads everything: -probes of them at once, noting when each message
// arrived, the others every -poll (one core cannot wake a thousand
// readers for every line; the server writes to them all the same). Each
// message goes
// to all N members (the sender too), so the offered load is N*N*R
// deliveries per second. The figures, one line each "NAME VALUE UNIT",
// measured over -dur after -warm, are:
//
//	chat/nN/rR[/stallS]/sent        messages sent per second
//	chat/nN/rR[/stallS]/delivered   messages received per second by the clients that read
//	chat/nN/rR[/stallS]/expected    what they would receive if nothing were late or lost
//	chat/nN/rR[/stallS]/p50, p99, max   delivery latency (send to receive) at the probes, ms
//	chat/nN/rR[/stallS]/kicked      clients the server disconnected as too slow
//	chat/nN/rR[/stallS]/server_cpu  CPU used by the server process, in cores
//	chat/nN/rR[/stallS]/mem_rss     server RSS growth per connected idle client, KiB
//	chat/nN/rR[/stallS]/mem_go      server Go heap + stacks growth per idle client, KiB
//
// With -hold H, H idle clients connect to each point's server first and
// stay connected through the point (see hold.go):
//
//	chatload -hold 100000 -load ""          per-client memory of 100,000 idle clients
//	chatload -hold 99000 -load 1000:1       1000:1 while 99,000 idle clients stay connected
//
// Every loop is bounded by -dur and the whole run by -timeout.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/sockkit/sockkit/internal/cli"

	"github.com/sockkit/sockkit/chat"
)

func main() {
	cli.Main("chatload", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, os.Stdin, stdout, stderr)
	})
}

// point is one load to measure: N clients each sending R messages/s.
type point struct {
	n    int
	rate float64
}

type config struct {
	points    []point
	stall     float64
	dur, warm time.Duration
	size      int
	probes    int
	poll      time.Duration
	inproc    bool
	serverCPU string
	profile   string
	interval  time.Duration
	timeout   time.Duration
	wrap      bool // the server sees its connections wrapped (see wrapListener)
	hold      int  // idle clients connected to a point's server first
	holdRoom  int  // members per room of the hold
	maxConns  int  // the server's MaxConns
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.Bool("serve", false, "run a server on -addr instead of measuring one")
	addr := fs.String("addr", "127.0.0.1:0", "`address` for -serve")
	load := fs.String("load", "10:10,100:10,1000:1", "comma-separated `N:R` points: N clients sending R messages/s each")
	stall := fs.Float64("stall", 0, "`fraction` of clients that never read")
	dur := fs.Duration("dur", 3*time.Second, "measuring time per point")
	warm := fs.Duration("warm", time.Second, "sending time before measuring, per point")
	size := fs.Int("size", 32, "bytes of text per message (at least 21)")
	probes := fs.Int("probes", 20, "`clients` that read at once and measure latency")
	poll := fs.Duration("poll", 10*time.Millisecond, "how often the other clients read")
	inproc := fs.Bool("inproc", false, "run the server in this process")
	serverCPU := fs.String("server-cpu", "", "pin the server process to this `cpu list` with taskset")
	interval := fs.Duration("write-interval", 0, "the server's WriteInterval (0: its default)")
	profile := fs.String("cpuprofile", "", "with -serve: write a CPU profile of the server to `file`")
	timeout := fs.Duration("timeout", 3*time.Minute, "bound on the whole run")
	holdN := fs.Int("hold", 0, "idle `clients` connected to each point's server first and kept through the point (with -load \"\": alone)")
	holdRoom := fs.Int("hold-room", 50, "`members` per room of the idle clients")
	maxConns := fs.Int("max-conns", 0, "with -serve: the server's MaxConns (0: 100000)")
	wrap := fs.Bool("wrap", false, "the server sees each connection wrapped, as a TLS or WebSocket one: without a descriptor of its own")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.ErrUsage
	}
	if *serve {
		if *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return runServer(ctx, *addr, *interval, *maxConns, *wrap, stdin, stdout)
	}
	cfg := config{stall: *stall, dur: *dur, warm: *warm, size: max(*size, 21), inproc: *inproc,
		probes: *probes, poll: *poll,
		serverCPU: *serverCPU, profile: *profile, interval: *interval, timeout: *timeout,
		hold: *holdN, holdRoom: *holdRoom, maxConns: 100000, wrap: *wrap}
	var points []string
	if *load != "" {
		points = strings.Split(*load, ",")
	}
	for _, p := range points {
		ns, rs, ok := strings.Cut(p, ":")
		n, err1 := strconv.Atoi(ns)
		r, err2 := strconv.ParseFloat(rs, 64)
		if !ok || err1 != nil || err2 != nil || n < 1 || r <= 0 {
			fmt.Fprintf(stderr, "chatload: bad -load point %q\n", p)
			return cli.ErrUsage
		}
		cfg.points = append(cfg.points, point{n, r})
	}
	if cfg.stall < 0 || cfg.stall >= 1 {
		fmt.Fprintln(stderr, "chatload: -stall must be in [0, 1)")
		return cli.ErrUsage
	}
	if cfg.hold < 0 || cfg.holdRoom < 1 || cfg.hold == 0 && len(cfg.points) == 0 {
		fmt.Fprintln(stderr, "chatload: -hold must not be negative, -hold-room must be positive, and without -hold -load needs a point")
		return cli.ErrUsage
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if cfg.hold > 0 {
		if err := prepareHold(&cfg); err != nil {
			return err
		}
		if len(cfg.points) == 0 {
			return measureHold(ctx, cfg, stdout)
		}
	}
	for _, p := range cfg.points {
		if err := measure(ctx, cfg, p, stdout); err != nil {
			return err
		}
	}
	return nil
}

// newServer is the server under test, with bench settings: room for
// maxConns clients (all from a few loopback addresses), no registration
// timeout (the hold clients register at once, but may wait for the
// server), and no flood control (every message is wanted).
func newServer(maxConns int) *chat.Server {
	return &chat.Server{MaxConns: maxConns, MaxConnsPerSource: -1, RegisterTimeout: -1, LineRate: -1, Logger: slog.New(slog.DiscardHandler)}
}

// runServer is -serve: it serves on addr, prints "listening ADDR", and
// answers each "mem" line on stdin with "mem HEAP+STACK RSS GOROUTINES";
// the end of stdin or a signal shuts it down.
func runServer(ctx context.Context, addr string, interval time.Duration, maxConns int, wrap bool, stdin io.Reader, stdout io.Writer) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if wrap {
		l = wrapListener{l}
	}
	if maxConns == 0 {
		maxConns = 100000
	}
	srv := newServer(maxConns)
	srv.WriteInterval = interval
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(context.WithoutCancel(ctx), l) }()
	fmt.Fprintf(stdout, "listening %s\n", l.Addr())
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			if l == "mem" {
				goMem, rss := memNow()
				fmt.Fprintf(stdout, "mem %d %d %d\n", goMem, rss, runtime.NumGoroutine())
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	<-errc
	return nil
}

// wrapListener hands out its connections wrapped in a type of its own,
// as a TLS or WebSocket listener would: the chat server cannot read their
// descriptors, so their sessions wait in a goroutine each instead of
// parked. For comparing the two.
type wrapListener struct{ net.Listener }

// wrappedConn is a connection as wrapListener hands it out.
type wrappedConn struct{ net.Conn }

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

// memNow returns the Go heap and stacks in use, after a collection, and
// the process's resident set size, in bytes.
func memNow() (goMem, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse), rssOf(os.Getpid())
}

// rssOf reads VmRSS of a process from /proc (0 where there is none).
func rssOf(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpuOf returns the CPU time a process has used, from /proc.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
}

// server is a running server under test.
type server struct {
	addr  string
	mem   func() (goMem, rss, goroutines int64, err error)
	cpu   func() time.Duration
	close func() error
}

func startServer(ctx context.Context, cfg config) (*server, error) {
	if cfg.inproc {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if cfg.wrap {
			l = wrapListener{l}
		}
		srv := newServer(cfg.maxConns)
		srv.WriteInterval = cfg.interval
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(context.WithoutCancel(ctx), l) }()
		return &server{
			addr: l.Addr().String(),
			mem: func() (int64, int64, int64, error) {
				g, r := memNow()
				return g, r, int64(runtime.NumGoroutine()), nil
			},
			cpu: func() time.Duration { return 0 },
			close: func() error {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
				<-errc
				return nil
			},
		}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{exe, "-serve", "-write-interval", cfg.interval.String(), "-max-conns", strconv.Itoa(cfg.maxConns), "-wrap=" + strconv.FormatBool(cfg.wrap)}
	if cfg.profile != "" {
		argv = append(argv, "-cpuprofile", cfg.profile)
	}
	if cfg.serverCPU != "" {
		argv = append([]string{"taskset", "-c", cfg.serverCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	out := bufio.NewScanner(outPipe)
	if !out.Scan() {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, errors.New("the server process did not start")
	}
	addr, ok := strings.CutPrefix(out.Text(), "listening ")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("server said %q", out.Text())
	}
	pid := cmd.Process.Pid
	return &server{
		addr: addr,
		mem: func() (int64, int64, int64, error) {
			if _, err := io.WriteString(in, "mem\n"); err != nil {
				return 0, 0, 0, err
			}
			if !out.Scan() {
				return 0, 0, 0, errors.New("the server process ended")
			}
			var g, r, n int64
			if _, err := fmt.Sscanf(out.Text(), "mem %d %d %d", &g, &r, &n); err != nil {
				return 0, 0, 0, fmt.Errorf("server said %q", out.Text())
			}
			return g, r, n, nil
		},
		cpu: func() time.Duration { return cpuOf(pid) },
		close: func() error {
			in.Close()
			go io.Copy(io.Discard, outPipe)
			return cmd.Wait()
		},
	}, nil
}
