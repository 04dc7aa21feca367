// Command chatload is the load tool of bench/chat.sh: it measures how
// many lines a chat server delivers per second, how long each takes to
// arrive, and how much memory the server holds per client.
//
//	chatload -serve -addr 127.0.0.1:0       run a server (until stdin ends or SIGTERM)
//	chatload -load 1000:1 -dur 5s            measure (starts a server process of its own)
//	chatload -load 10:10 -dur 1s -inproc     measure a server in this process
//	chatload -load 1000:1 -servers 2         two servers sharing the room through NATS
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
// With -servers 2, each point runs two server processes (both pinned to
// -server-cpu) that share the lobby through NATS with chat/natshub: the
// first runs the NATS server, embedded, in its own process. The clients
// alternate between them, and the figures, named chat/nN/rR/servers2/...,
// count both (the memory too, NATS's included).
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
	"strings"
	"time"

	"github.com/sockkit/sockkit/internal/cli"

	"github.com/sockkit/sockkit/bench/internal/load"
	"github.com/sockkit/sockkit/bench/internal/proc"
	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/chat/natshub"
	"github.com/sockkit/sockkit/chat/natshub/natsembed"
)

func main() {
	cli.Main("chatload", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, os.Stdin, stdout, stderr)
	})
}

type config struct {
	points    []load.Point
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
	servers   int // 1, or 2 sharing the room through NATS
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.Bool("serve", false, "run a server on -addr instead of measuring one")
	addr := fs.String("addr", "127.0.0.1:0", "`address` for -serve")
	loadArg := fs.String("load", "10:10,100:10,1000:1", "comma-separated `N:R` points: N clients sending R messages/s each")
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
	servers := fs.Int("servers", 1, "chat `servers` sharing the room: 1, or 2 through NATS (the first runs it, in its process), each with half the clients")
	natsArg := fs.String("nats", "", "with -serve: share rooms through the NATS server at this `URL`, or \"embedded\" to run one in the server")
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
		return runServer(ctx, *addr, *interval, *natsArg, stdin, stdout)
	}
	cfg := config{stall: *stall, dur: *dur, warm: *warm, size: max(*size, 21), inproc: *inproc,
		probes: *probes, poll: *poll,
		serverCPU: *serverCPU, profile: *profile, interval: *interval, timeout: *timeout, servers: *servers}
	if cfg.servers != 1 && cfg.servers != 2 {
		fmt.Fprintln(stderr, "chatload: -servers must be 1 or 2")
		return cli.ErrUsage
	}
	var err error
	if cfg.points, err = load.ParsePoints(*loadArg); err != nil {
		fmt.Fprintf(stderr, "chatload: %v\n", err)
		return cli.ErrUsage
	}
	if cfg.stall < 0 || cfg.stall >= 1 {
		fmt.Fprintln(stderr, "chatload: -stall must be in [0, 1)")
		return cli.ErrUsage
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	for _, p := range cfg.points {
		if err := measure(ctx, cfg, p, stdout); err != nil {
			return err
		}
	}
	return nil
}

// newServer is the server under test, with bench settings: room for
// every client, and no flood control (every message is wanted).
func newServer() *chat.Server {
	return &chat.Server{MaxConns: 100000, MaxConnsPerSource: -1, RegisterTimeout: -1, LineRate: -1, Logger: slog.New(slog.DiscardHandler)}
}

// runServer is -serve: it serves on addr, prints "listening ADDR"
// (after "nats URL" when it runs NATS itself), and answers each "mem"
// line on stdin with "mem HEAP+STACK RSS GOROUTINES"; the end of stdin or
// a signal shuts it down. With natsArg, the server shares its rooms
// through NATS.
func runServer(ctx context.Context, addr string, interval time.Duration, natsArg string, stdin io.Reader, stdout io.Writer) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := newServer()
	srv.WriteInterval = interval
	if natsArg != "" {
		hub, url, closeHub, err := startHub(ctx, natsArg)
		if err != nil {
			l.Close()
			return err
		}
		defer closeHub()
		if natsArg == "embedded" {
			fmt.Fprintf(stdout, "nats %s\n", url)
		}
		srv.Hub = hub
	}
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

// startHub connects a natshub.Hub to the NATS server at natsArg, or to
// one it starts in this process for "embedded", and waits until the
// rooms are shared. It returns the NATS URL and a func that closes both.
func startHub(ctx context.Context, natsArg string) (*natshub.Hub, string, func(), error) {
	url := natsArg
	var ns *natsembed.Server
	if natsArg == "embedded" {
		var err error
		if ns, err = natsembed.Start(natsembed.Options{}); err != nil {
			return nil, "", nil, err
		}
		url = ns.URL()
	}
	stopNATS := func() {
		if ns != nil {
			ns.Shutdown()
		}
	}
	hub, err := natshub.Connect(url, natshub.Options{})
	if err != nil {
		stopNATS()
		return nil, "", nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := hub.WaitShared(wctx); err != nil {
		hub.Close()
		stopNATS()
		return nil, "", nil, fmt.Errorf("rooms not shared through %s: %w", url, err)
	}
	return hub, url, func() { hub.Close(); stopNATS() }, nil
}

// memNow returns the Go heap and stacks in use, after a collection, and
// the process's resident set size, in bytes.
func memNow() (goMem, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse), proc.RSS(os.Getpid())
}

// server is a running server under test, or several (see startServers).
type server struct {
	addrs   []string // where the clients connect, in turn
	natsURL string   // the NATS server it runs, if any
	mem     func() (goMem, rss int64, err error)
	cpu     func() time.Duration
	close   func() error
}

// startServers starts the servers of a point: one, or two that share
// the room through NATS, run by the first. Their figures add up.
func startServers(ctx context.Context, cfg config) (*server, error) {
	if cfg.servers == 1 {
		return startServer(ctx, cfg, "")
	}
	a, err := startServer(ctx, cfg, "embedded")
	if err != nil {
		return nil, err
	}
	b, err := startServer(ctx, cfg, a.natsURL)
	if err != nil {
		a.close()
		return nil, err
	}
	return &server{
		addrs: append(a.addrs, b.addrs...),
		mem: func() (int64, int64, error) {
			g1, r1, err1 := a.mem()
			g2, r2, err2 := b.mem()
			return g1 + g2, r1 + r2, errors.Join(err1, err2)
		},
		cpu:   func() time.Duration { return a.cpu() + b.cpu() },
		close: func() error { return errors.Join(b.close(), a.close()) }, // a runs NATS
	}, nil
}

// startServer starts a server, in this process with -inproc, sharing its
// rooms through NATS if natsArg is not empty (see runServer).
func startServer(ctx context.Context, cfg config, natsArg string) (*server, error) {
	if cfg.inproc {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := newServer()
		srv.WriteInterval = cfg.interval
		closeHub, natsURL := func() {}, ""
		if natsArg != "" {
			hub, url, stop, err := startHub(ctx, natsArg)
			if err != nil {
				l.Close()
				return nil, err
			}
			srv.Hub, closeHub, natsURL = hub, stop, url
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(context.WithoutCancel(ctx), l) }()
		return &server{
			addrs:   []string{l.Addr().String()},
			natsURL: natsURL,
			mem: func() (int64, int64, error) {
				g, r := memNow()
				return g, r, nil
			},
			cpu: func() time.Duration { return 0 },
			close: func() error {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				srv.Shutdown(sctx)
				<-errc
				closeHub()
				return nil
			},
		}, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{exe, "-serve", "-write-interval", cfg.interval.String()}
	if natsArg != "" {
		argv = append(argv, "-nats", natsArg)
	}
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
	natsURL, ok := strings.CutPrefix(out.Text(), "nats ")
	if ok && !out.Scan() {
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
		addrs:   []string{addr},
		natsURL: natsURL,
		mem: func() (int64, int64, error) {
			if _, err := io.WriteString(in, "mem\n"); err != nil {
				return 0, 0, err
			}
			if !out.Scan() {
				return 0, 0, errors.New("the server process ended")
			}
			var g, r, n int64
			if _, err := fmt.Sscanf(out.Text(), "mem %d %d %d", &g, &r, &n); err != nil {
				return 0, 0, fmt.Errorf("server said %q", out.Text())
			}
			return g, r, nil
		},
		cpu: func() time.Duration { return proc.CPU(pid) },
		close: func() error {
			in.Close()
			go io.Copy(io.Discard, outPipe)
			return cmd.Wait()
		},
	}, nil
}
