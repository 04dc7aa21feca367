// Command natsfanout is the NATS reference of bench/chat.sh: the fan-out
// of a chat room done by NATS alone. N connections (nats.go clients) each
// subscribe to one subject and publish R messages a second to it, of
// -size bytes carrying their send time, so each message goes to all N,
// the sender too: N*N*R deliveries a second, as in the chat points.
//
//	natsfanout -serve                   run a NATS server (embedded) until stdin ends
//	natsfanout -load 1000:1 -dur 3s      measure (starts a server process of its own)
//	natsfanout -load 10:10 -inproc       measure a NATS server in this process
//
// The server process is pinned with taskset to -server-cpu when it is
// not empty. -probes of the connections note when each message arrived;
// the others only count. The figures, one line each "NAME VALUE UNIT",
// measured over -dur after -warm, are:
//
//	nats/nN/rR/sent         messages published per second
//	nats/nN/rR/delivered    messages received per second, over all connections
//	nats/nN/rR/expected     what they would receive if nothing were late or lost
//	nats/nN/rR/p50, p99, max   delivery latency (publish to receive) at the probes, ms
//	nats/nN/rR/server_cpu   CPU used by the NATS server process, in cores
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
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sockkit/sockkit/bench/internal/latency"
	"github.com/sockkit/sockkit/bench/internal/load"
	"github.com/sockkit/sockkit/bench/internal/proc"
	"github.com/sockkit/sockkit/chat/natshub/natsembed"
	"github.com/sockkit/sockkit/internal/cli"
)

func main() {
	cli.Main("natsfanout", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, os.Stdin, stdout, stderr)
	})
}

type config struct {
	dur, warm time.Duration
	size      int
	probes    int
	inproc    bool
	serverCPU string
}

const subject = "bench.room"

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("natsfanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.Bool("serve", false, "run a NATS server instead of measuring one")
	loadArg := fs.String("load", "10:10,1000:1", "comma-separated `N:R` points: N connections publishing R messages/s each")
	dur := fs.Duration("dur", 3*time.Second, "measuring time per point")
	warm := fs.Duration("warm", time.Second, "publishing time before measuring, per point")
	size := fs.Int("size", 32, "bytes per message (at least 21)")
	probes := fs.Int("probes", 20, "`connections` that measure latency")
	inproc := fs.Bool("inproc", false, "run the NATS server in this process")
	serverCPU := fs.String("server-cpu", "", "pin the server process to this `cpu list` with taskset")
	timeout := fs.Duration("timeout", 3*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.ErrUsage
	}
	if *serve {
		return runServer(stdin, stdout)
	}
	points, err := load.ParsePoints(*loadArg)
	if err != nil {
		fmt.Fprintf(stderr, "natsfanout: %v\n", err)
		return cli.ErrUsage
	}
	cfg := config{dur: *dur, warm: *warm, size: max(*size, 21), probes: *probes, inproc: *inproc, serverCPU: *serverCPU}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for _, p := range points {
		if err := measure(ctx, cfg, p, stdout); err != nil {
			return err
		}
	}
	return nil
}

// runServer is -serve: a NATS server until stdin ends; it prints
// "listening URL" first.
func runServer(stdin io.Reader, stdout io.Writer) error {
	ns, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		return err
	}
	defer ns.Shutdown()
	fmt.Fprintf(stdout, "listening %s\n", ns.URL())
	io.Copy(io.Discard, stdin)
	return nil
}

// startServer starts the NATS server of a point and returns its URL, a
// func giving its CPU time, and one that stops it.
func startServer(ctx context.Context, cfg config) (string, func() time.Duration, func(), error) {
	if cfg.inproc {
		ns, err := natsembed.Start(natsembed.Options{})
		if err != nil {
			return "", nil, nil, err
		}
		return ns.URL(), func() time.Duration { return 0 }, ns.Shutdown, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", nil, nil, err
	}
	argv := []string{exe, "-serve"}
	if cfg.serverCPU != "" {
		argv = append([]string{"taskset", "-c", cfg.serverCPU}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, nil, err
	}
	sc := bufio.NewScanner(out)
	url, ok := "", sc.Scan()
	if ok {
		url, ok = strings.CutPrefix(sc.Text(), "listening ")
	}
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		return "", nil, nil, fmt.Errorf("the server process said %q", sc.Text())
	}
	pid := cmd.Process.Pid
	return url, func() time.Duration { return proc.CPU(pid) }, func() { in.Close(); cmd.Wait() }, nil
}

// conn is one connection of the load.
type conn struct {
	nc       *nats.Conn
	probe    bool
	mu       sync.Mutex
	hist     latency.Hist
	received int64
}

// receive counts a message, and times it at a probe.
func (c *conn) receive(m *nats.Msg, win *load.Window) {
	now := time.Now().UnixNano()
	if !win.In(now) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.received++
	if sent, ok := load.SentAt(m.Data); ok && c.probe {
		c.hist.Record(time.Duration(now - sent))
	}
}

// publish publishes rate messages a second until stop (see load.Pace).
func (c *conn) publish(rate float64, size int, win *load.Window, stop <-chan struct{}, sent *atomic.Int64) {
	load.Pace(rate, size, win, stop, sent, func(_ time.Time, msg []byte) bool {
		return c.nc.Publish(subject, msg) == nil
	})
}

// measure runs one point and prints its figures.
func measure(ctx context.Context, cfg config, p load.Point, out io.Writer) error {
	url, cpu, stopServer, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer stopServer()
	win := load.NewWindow()
	conns, err := load.Dial(p.N, func(i int) (*conn, error) {
		c := &conn{probe: i < cfg.probes}
		nc, err := nats.Connect(url, nats.NoReconnect(), nats.Name(fmt.Sprintf("fanout%d", i)))
		if err != nil {
			return nil, err
		}
		c.nc = nc
		_, err = nc.Subscribe(subject, func(m *nats.Msg) { c.receive(m, win) })
		if err == nil {
			err = nc.Flush() // the subscription is in place
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
		return c, nil
	}, func(c *conn) { c.nc.Close() })
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()

	stop := make(chan struct{})
	var sent atomic.Int64
	var pubs sync.WaitGroup
	start := time.Now()
	win.Set(start.Add(cfg.warm), start.Add(cfg.warm+cfg.dur))
	for _, c := range conns {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			c.publish(p.Rate, cfg.size, win, stop, &sent)
		}()
	}
	load.Sleep(ctx, cfg.warm)
	cpu0 := cpu()
	load.Sleep(ctx, cfg.dur)
	cpu1 := cpu()
	close(stop)
	pubs.Wait()
	load.Sleep(ctx, 500*time.Millisecond) // the window's last messages arrive
	if err := ctx.Err(); err != nil {
		return err
	}

	var h latency.Hist
	var received int64
	for _, c := range conns {
		c.mu.Lock()
		h.Add(&c.hist)
		received += c.received
		c.mu.Unlock()
	}
	secs := cfg.dur.Seconds()
	name := fmt.Sprintf("nats/n%d/r%g", p.N, p.Rate)
	fmt.Fprintf(out, "%s/sent %.0f msg/s\n", name, float64(sent.Load())/secs)
	fmt.Fprintf(out, "%s/delivered %.0f lines/s\n", name, float64(received)/secs)
	fmt.Fprintf(out, "%s/expected %.0f lines/s\n", name, float64(sent.Load())*float64(p.N)/secs)
	h.Print(out, name)
	if !cfg.inproc {
		fmt.Fprintf(out, "%s/server_cpu %.2f cores\n", name, (cpu1-cpu0).Seconds()/secs)
	}
	return nil
}
