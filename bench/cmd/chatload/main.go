// Command chatload is the load tool of bench/chat.sh: it measures how
// many lines a chat server delivers per second, how long each takes to
// arrive, and how much memory the server holds per client.
//
//	chatload -serve -addr 127.0.0.1:0       run a server (until stdin ends or SIGTERM)
//	chatload -load 1000:1 -dur 5s            measure (starts a server process of its own)
//	chatload -load 10:10 -dur 1s -inproc     measure a server in this process
//	chatload -load 1000:1 -servers 2         two servers sharing the room through NATS
//	chatload -load 1000:1 -mix 1:1:1         a third of the clients each on TCP, WebSocket and IRC
//	chatload -hold 19900 -load none          19,900 idle clients: the server's memory per idle client
//	chatload -hold 18900 -load 1000:1        1000:1 while 18,900 idle clients stay connected
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
// With -mix TCP:WS:IRC, the clients speak three dialects in turn (1:1:1:
// a third each; the default 1:0:0 is all plain TCP): plain lines over
// TCP as nc does, the same lines over a WebSocket at the server's /ws
// (one message a line, as the page, with github.com/coder/websocket;
// these clients poll below the socket, in the TCP connection under it),
// and IRC on the server's IRC listener (NICK, USER, JOIN #lobby; they
// send "PRIVMSG #lobby :TEXT" and read ":NICK!USER@HOST PRIVMSG #lobby
// :TEXT"). The latency stamp is the text, whatever the dialect. IRC
// clients do not get their own messages back, which "expected" counts.
// The figures are named chat/nN/rR/mixT:W:I/..., with delivered and the
// latencies also for the clients of each dialect (.../tcp/p99, ws, irc:
// the dialect of the receiver).
//
// With -hold N, each run first connects N more clients, plain, idle,
// each with a nickname, in rooms hold0, hold1, ... of 100, from the
// source addresses 127.0.0.2, 127.0.0.3, ... (-per-source each, so that
// no address runs out of ephemeral ports), reads what the server sent
// them, and measures the server; then the point (if -load is not
// "none") runs beside them, and hold_lost says how many of them the
// server dropped meanwhile. The tool raises its limit of open files to
// the hard limit (which the server process inherits) and refuses, before
// starting, a run that needs more than it ("hold: N clients need F
// files, hard limit is L"). The figures:
//
//	chat/hold/nN/mem_rss            server RSS growth per idle client, KiB
//	chat/hold/nN/mem_rss_scavenged  the same, each time after returning free memory to the system
//	chat/hold/nN/mem_go             Go heap + stacks growth per idle client, KiB
//	chat/hold/nN/server_goroutines  the server's goroutines with the N clients
//	chat/hold/nN/goroutines         goroutines more per idle client
//	chat/hold/nN/conns, parked      connections and parked sessions in the server's Stats
//	chat/hold/nN/join_time, sources, rooms, files_limit
//	chat/nN/rR/holdH/...            the point's figures, beside H idle clients, and hold_lost
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
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
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
	mix       mix // dialects of the clients
	hold      int // idle clients held beside each point, or alone
	perSource int // held clients per source address
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
	ircAddr := fs.String("irc", "", "with -serve: also serve IRC alone on this `address`")
	httpAddr := fs.String("http", "", "with -serve: also serve the WebSocket at /ws on this `address`")
	mixArg := fs.String("mix", "1:0:0", "`TCP:WS:IRC` weights of the clients' dialects: 1:1:1 is a third each")
	hold := fs.Int("hold", 0, "connect this many idle `clients` first, in rooms of 100, and measure the server's memory per idle client; with -load none, only that")
	perSource := fs.Int("per-source", 10000, "held `clients` per source address (127.0.0.2, .3, ...)")
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
		raiseNoFile()
		return runServer(ctx, serveConfig{addr: *addr, irc: *ircAddr, http: *httpAddr, interval: *interval, nats: *natsArg}, stdin, stdout)
	}
	cfg := config{stall: *stall, dur: *dur, warm: *warm, size: max(*size, 21), inproc: *inproc,
		probes: *probes, poll: *poll,
		serverCPU: *serverCPU, profile: *profile, interval: *interval, timeout: *timeout, servers: *servers,
		hold: *hold, perSource: *perSource}
	if cfg.servers != 1 && cfg.servers != 2 {
		fmt.Fprintln(stderr, "chatload: -servers must be 1 or 2")
		return cli.ErrUsage
	}
	var err error
	if cfg.mix, err = parseMix(*mixArg); err != nil {
		fmt.Fprintf(stderr, "chatload: %v\n", err)
		return cli.ErrUsage
	}
	if *loadArg != "none" {
		if cfg.points, err = load.ParsePoints(*loadArg); err != nil {
			fmt.Fprintf(stderr, "chatload: %v\n", err)
			return cli.ErrUsage
		}
	}
	if cfg.hold < 0 || cfg.perSource < 1 || cfg.hold == 0 && len(cfg.points) == 0 {
		fmt.Fprintln(stderr, "chatload: -hold must be at least 0 (at least 1 with -load none), -per-source at least 1")
		return cli.ErrUsage
	}
	if err := checkFiles(cfg); err != nil {
		return err // cli.Main prints it
	}
	if cfg.stall < 0 || cfg.stall >= 1 {
		fmt.Fprintln(stderr, "chatload: -stall must be in [0, 1)")
		return cli.ErrUsage
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	if len(cfg.points) == 0 {
		return measure(ctx, cfg, nil, stdout)
	}
	for _, p := range cfg.points {
		if err := measure(ctx, cfg, &p, stdout); err != nil {
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

// serveConfig is what -serve serves.
type serveConfig struct {
	addr, irc, http string // TCP (both dialects), IRC alone, and the WebSocket; empty: none
	interval        time.Duration
	nats            string
}

// listeners are where a server under test listens: tcp always, irc and
// http when asked for.
type listeners struct{ tcp, irc, http net.Listener }

// listen opens the listeners of sc.
func listen(sc serveConfig) (listeners, error) {
	var ls listeners
	var err error
	if ls.tcp, err = net.Listen("tcp", sc.addr); err != nil {
		return ls, err
	}
	if sc.irc != "" {
		if ls.irc, err = net.Listen("tcp", sc.irc); err != nil {
			ls.close()
			return listeners{}, err
		}
	}
	if sc.http != "" {
		if ls.http, err = net.Listen("tcp", sc.http); err != nil {
			ls.close()
			return listeners{}, err
		}
	}
	return ls, nil
}

func (ls listeners) close() {
	for _, l := range []net.Listener{ls.tcp, ls.irc, ls.http} {
		if l != nil {
			l.Close()
		}
	}
}

// serveOn serves srv on ls as examples/chat does (IRC alone on ls.irc,
// the WebSocket at /ws on ls.http), until the func it returns shuts it
// all down and waits for it.
func serveOn(ctx context.Context, srv *chat.Server, ls listeners) (shutdown func()) {
	ctx = context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ctx, ls.tcp) })
	if ls.irc != nil {
		wg.Go(func() { srv.ServeIRC(ctx, ls.irc) })
	}
	var hs *http.Server
	if ls.http != nil {
		ws := new(chat.WebSocket)
		mux := http.NewServeMux()
		mux.Handle("GET /ws", ws)
		hs = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		wg.Go(func() { srv.Serve(ctx, ws) })
		wg.Go(func() { hs.Serve(ls.http) })
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		if hs != nil {
			hs.Close()
		}
		wg.Wait()
	}
}

// runServer is -serve: it serves sc, prints "nats URL" when it runs NATS
// itself, "irc ADDR" and "http ADDR" for those listeners, then
// "listening ADDR", and answers each "mem" line on stdin with
// "mem HEAP+STACK RSS GOROUTINES CONNS PARKED" ("mem scavenge": after
// returning the memory it can to the system); the end of stdin or a
// signal shuts it down. With sc.nats, the server shares its rooms
// through NATS.
func runServer(ctx context.Context, sc serveConfig, stdin io.Reader, stdout io.Writer) error {
	ls, err := listen(sc)
	if err != nil {
		return err
	}
	srv := newServer()
	srv.WriteInterval = sc.interval
	if sc.nats != "" {
		hub, url, closeHub, err := startHub(ctx, sc.nats)
		if err != nil {
			ls.close()
			return err
		}
		defer closeHub()
		if sc.nats == "embedded" {
			fmt.Fprintf(stdout, "nats %s\n", url)
		}
		srv.Hub = hub
	}
	shutdown := serveOn(ctx, srv, ls)
	defer shutdown()
	if ls.irc != nil {
		fmt.Fprintf(stdout, "irc %s\n", ls.irc.Addr())
	}
	if ls.http != nil {
		fmt.Fprintf(stdout, "http %s\n", ls.http.Addr())
	}
	fmt.Fprintf(stdout, "listening %s\n", ls.tcp.Addr())
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if l == "mem" || l == "mem scavenge" {
				m := memNow(srv, l == "mem scavenge")
				fmt.Fprintf(stdout, "mem %d %d %d %d %d\n", m.goMem, m.rss, m.goroutines, m.conns, m.parked)
			}
		}
	}
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

// memStat is what a server under test says of its memory.
type memStat struct {
	goMem, rss int64 // Go heap and stacks in use, after a collection; resident set size; in bytes
	goroutines int64
	conns      int64 // connections open (Stats)
	parked     int64 // sessions parked (Stats)
}

func (m memStat) add(o memStat) memStat {
	return memStat{m.goMem + o.goMem, m.rss + o.rss, m.goroutines + o.goroutines, m.conns + o.conns, m.parked + o.parked}
}

// memNow measures this process, which runs srv, after a collection
// (after returning all it can to the system, with scavenge).
func memNow(srv *chat.Server, scavenge bool) memStat {
	if scavenge {
		debug.FreeOSMemory()
	} else {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := srv.Stats()
	return memStat{int64(ms.HeapInuse + ms.StackInuse), proc.RSS(os.Getpid()), int64(runtime.NumGoroutine()), st.Conns, st.Parked}
}

// server is a running server under test, or several (see startServers).
type server struct {
	addrs     []string // where the clients connect, in turn
	ircAddrs  []string // the same for IRC clients
	httpAddrs []string // and for WebSocket clients
	natsURL   string   // the NATS server it runs, if any
	mem       func(scavenge bool) (memStat, error)
	cpu       func() time.Duration
	close     func() error
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
		addrs:     append(a.addrs, b.addrs...),
		ircAddrs:  append(a.ircAddrs, b.ircAddrs...),
		httpAddrs: append(a.httpAddrs, b.httpAddrs...),
		mem: func(scavenge bool) (memStat, error) {
			m1, err1 := a.mem(scavenge)
			m2, err2 := b.mem(scavenge)
			return m1.add(m2), errors.Join(err1, err2)
		},
		cpu:   func() time.Duration { return a.cpu() + b.cpu() },
		close: func() error { return errors.Join(b.close(), a.close()) }, // a runs NATS
	}, nil
}

// serveConfig returns what a server of cfg serves: IRC and the
// WebSocket too when some clients speak them.
func (cfg config) serveConfig(natsArg string) serveConfig {
	sc := serveConfig{addr: "127.0.0.1:0", interval: cfg.interval, nats: natsArg}
	if cfg.mix[irc] > 0 {
		sc.irc = "127.0.0.1:0"
	}
	if cfg.mix[webSocket] > 0 {
		sc.http = "127.0.0.1:0"
	}
	return sc
}

// startServer starts a server, in this process with -inproc, sharing its
// rooms through NATS if natsArg is not empty (see runServer).
func startServer(ctx context.Context, cfg config, natsArg string) (*server, error) {
	sc := cfg.serveConfig(natsArg)
	if cfg.inproc {
		ls, err := listen(sc)
		if err != nil {
			return nil, err
		}
		srv := newServer()
		srv.WriteInterval = cfg.interval
		closeHub, natsURL := func() {}, ""
		if natsArg != "" {
			hub, url, stop, err := startHub(ctx, natsArg)
			if err != nil {
				ls.close()
				return nil, err
			}
			srv.Hub, closeHub, natsURL = hub, stop, url
		}
		shutdown := serveOn(ctx, srv, ls)
		s := &server{
			addrs:   []string{ls.tcp.Addr().String()},
			natsURL: natsURL,
			mem:     func(scavenge bool) (memStat, error) { return memNow(srv, scavenge), nil },
			cpu:     func() time.Duration { return 0 },
			close: func() error {
				shutdown()
				closeHub()
				return nil
			},
		}
		if ls.irc != nil {
			s.ircAddrs = []string{ls.irc.Addr().String()}
		}
		if ls.http != nil {
			s.httpAddrs = []string{ls.http.Addr().String()}
		}
		return s, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	argv := []string{exe, "-serve", "-write-interval", cfg.interval.String()}
	if natsArg != "" {
		argv = append(argv, "-nats", natsArg)
	}
	if sc.irc != "" {
		argv = append(argv, "-irc", sc.irc)
	}
	if sc.http != "" {
		argv = append(argv, "-http", sc.http)
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
	fail := func(err error) (*server, error) {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, err
	}
	s := &server{}
	out := bufio.NewScanner(outPipe)
	for {
		if !out.Scan() {
			return fail(errors.New("the server process did not start"))
		}
		k, v, _ := strings.Cut(out.Text(), " ")
		switch k {
		case "nats":
			s.natsURL = v
			continue
		case "irc":
			s.ircAddrs = []string{v}
			continue
		case "http":
			s.httpAddrs = []string{v}
			continue
		case "listening":
			s.addrs = []string{v}
		default:
			return fail(fmt.Errorf("server said %q", out.Text()))
		}
		break
	}
	pid := cmd.Process.Pid
	s.mem = func(scavenge bool) (memStat, error) {
		req := "mem\n"
		if scavenge {
			req = "mem scavenge\n"
		}
		if _, err := io.WriteString(in, req); err != nil {
			return memStat{}, err
		}
		if !out.Scan() {
			return memStat{}, errors.New("the server process ended")
		}
		var m memStat
		if _, err := fmt.Sscanf(out.Text(), "mem %d %d %d %d %d", &m.goMem, &m.rss, &m.goroutines, &m.conns, &m.parked); err != nil {
			return memStat{}, fmt.Errorf("server said %q", out.Text())
		}
		return m, nil
	}
	s.cpu = func() time.Duration { return proc.CPU(pid) }
	s.close = func() error {
		in.Close()
		go io.Copy(io.Discard, outPipe)
		return cmd.Wait()
	}
	return s, nil
}
