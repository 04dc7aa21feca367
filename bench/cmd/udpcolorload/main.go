// Command udpcolorload is the load tool of bench/udpcolor.sh: it measures
// how many datagrams a udpcolor server relays per second.
//
//	udpcolorload -serve -addr 127.0.0.1:0                    run a server (until SIGTERM)
//	udpcolorload -addr 127.0.0.1:9090 -members 10,100 -dur 5s  measure it
//	udpcolorload -members 10 -dur 1s                          measure an in-process server
//
// For each member count N, the tool opens N UDP sockets and joins each
// one (cookie exchange included) under a fresh name. Member 0 then sends
// messages of -size bytes of text as fast as the server relays them,
// with at most -window messages in flight: member 1 reports which message
// it has last received, and member 0 waits when it is -window ahead (a
// window that stalls for 200 ms is given up as lost). Every other member
// counts the relays it receives. The figures, one line each, "NAME VALUE
// UNIT", are:
//
//	relay/mN/datagrams  relay datagrams received per second, over all members
//	relay/mN/messages   messages sent per second (each relayed to N-1 members)
//	relay/mN/loss       percentage of the N-1 copies of each message never received
//
// The server (here or in -serve mode) has its per-source rate limit off,
// since every member comes from 127.0.0.1. Every loop is bounded by -dur
// and -max, and the whole run by -timeout.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/cli"

	"github.com/sockkit/sockkit/udpcolor"
)

func main() { cli.Main("udpcolorload", run) }

type config struct {
	addr    string
	members []int
	dur     time.Duration
	size    int
	window  int
	max     int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("udpcolorload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.Bool("serve", false, "run a server on -addr instead of measuring one")
	addr := fs.String("addr", "", "server `address`; empty starts one in this process")
	members := fs.String("members", "10,100", "comma-separated member `counts`")
	dur := fs.Duration("dur", 3*time.Second, "how long to send for each member count")
	size := fs.Int("size", 64, "bytes of text per message")
	window := fs.Int("window", 32, "messages in flight at most")
	maxMsgs := fs.Int("max", 10_000_000, "messages at most per member count")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on the whole run")
	cpuprofile := fs.String("cpuprofile", "", "with -serve: write a CPU profile of the server to `file`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "udpcolorload: unexpected argument %q\n", fs.Arg(0))
		return cli.ErrUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if *serve {
		if *addr == "" {
			*addr = "127.0.0.1:0"
		}
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return serveUntil(ctx, *addr, stdout)
	}
	cfg := config{addr: *addr, dur: *dur, size: *size, window: *window, max: *maxMsgs}
	for _, f := range strings.Split(*members, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 || n > 5000 {
			fmt.Fprintf(stderr, "udpcolorload: bad member count %q (want 2 to 5000)\n", f)
			return cli.ErrUsage
		}
		cfg.members = append(cfg.members, n)
	}
	if cfg.size < 1 || cfg.size > udpcolor.MaxText || cfg.window < 1 || cfg.max < 1 {
		fmt.Fprintln(stderr, "udpcolorload: -size must be 1 to 1024, -window and -max at least 1")
		return cli.ErrUsage
	}
	if cfg.addr == "" {
		srv, addr, done, err := startServer(ctx)
		if err != nil {
			return err
		}
		defer func() {
			srv.Close()
			<-done
		}()
		cfg.addr = addr
	}
	for i, n := range cfg.members {
		if err := measure(ctx, cfg, i, n, stdout); err != nil {
			return fmt.Errorf("%d members: %w", n, err)
		}
	}
	return nil
}

// newServer returns the server under test: no rate limit and no limit
// of members per address (every member is 127.0.0.1), room for every
// member, no expiry during a run.
func newServer() *udpcolor.Server {
	return &udpcolor.Server{PacketsPerSecond: -1, MaxMembersPerAddr: -1, MaxMembers: 10000, MemberTimeout: 10 * time.Minute}
}

func startServer(ctx context.Context) (*udpcolor.Server, string, <-chan error, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := newServer()
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.WithoutCancel(ctx), pc) }()
	return srv, pc.LocalAddr().String(), done, nil
}

// serveUntil runs a server on addr until ctx is done.
func serveUntil(ctx context.Context, addr string, stdout io.Writer) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	srv := newServer()
	fmt.Fprintf(stdout, "listening %s\n", pc.LocalAddr())
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.WithoutCancel(ctx), pc) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	srv.Close()
	<-done
	st := srv.Stats()
	fmt.Fprintf(stdout, "server: %d messages, %d relays sent\n", st.Requests, st.Relayed)
	return nil
}

// member is one joined socket and its counters.
type member struct {
	c        *net.UDPConn
	key      udpcolor.Key // from the welcome: signs what the member sends
	seq      uint64       // the counter of the last datagram it signed
	received atomic.Int64
}

// signed returns p as m sends it next, signed, appended to b.
func (m *member) signed(b []byte, p udpcolor.Packet) []byte {
	m.seq++
	p.Seq = m.seq
	b, _ = m.key.Sign(p).Append(b)
	return b
}

// join opens a socket and runs the cookie exchange for name.
func join(ctx context.Context, addr, name string) (*member, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	c, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(1 << 20)
	buf := make([]byte, udpcolor.MaxDatagram+1)
	step := func(p udpcolor.Packet, want udpcolor.Kind) (udpcolor.Packet, error) {
		out, err := p.Append(nil)
		if err != nil {
			return udpcolor.Packet{}, err
		}
		for range 10 {
			if ctx.Err() != nil {
				return udpcolor.Packet{}, ctx.Err()
			}
			c.Write(out)
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			for {
				n, err := c.Read(buf)
				if err != nil {
					break
				}
				q, err := udpcolor.Parse(buf[:n])
				if err != nil {
					continue
				}
				if q.Kind == udpcolor.KindError {
					return q, fmt.Errorf("join %s: server said %s %s", name, q.Code, q.Text)
				}
				if q.Kind == want {
					return q, nil
				}
			}
		}
		return udpcolor.Packet{}, fmt.Errorf("join %s: no answer", name)
	}
	p, err := step(udpcolor.Packet{Kind: udpcolor.KindJoin, Name: name}, udpcolor.KindCookie)
	if err == nil {
		p, err = step(udpcolor.Packet{Kind: udpcolor.KindJoin, Name: name, Cookie: p.Cookie}, udpcolor.KindWelcome)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetReadDeadline(time.Time{})
	return &member{c: c, key: p.Key}, nil
}

// measure runs one member count and prints its figures.
func measure(ctx context.Context, cfg config, run, n int, stdout io.Writer) error {
	ms := make([]*member, 0, n)
	closed := false
	defer func() {
		if !closed {
			for _, m := range ms {
				m.c.Write(m.signed(nil, udpcolor.Packet{Kind: udpcolor.KindLeave}))
				m.c.Close()
			}
		}
	}()
	// Names are unique per process and member count, so that runs
	// against one server never collide.
	for i := range n {
		m, err := join(ctx, cfg.addr, fmt.Sprintf("p%dr%dm%d-%d", os.Getpid()%100000, run, n, i))
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}

	// Readers: member 1 also reports the last sequence number it saw.
	var lastSeq atomic.Int64
	lastSeq.Store(-1)
	tick := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for i, m := range ms[1:] {
		probe := i == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, udpcolor.MaxDatagram+1)
			for {
				k, err := m.c.Read(buf)
				if err != nil {
					return // closed
				}
				if k < 6 || string(buf[:6]) != "relay " {
					continue
				}
				m.received.Add(1)
				if probe {
					if seq, ok := seqOf(buf[:k]); ok {
						lastSeq.Store(seq)
						select {
						case tick <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}

	pad := strings.Repeat("x", max(cfg.size-12, 0))
	start := time.Now()
	deadline := start.Add(cfg.dur)
	sent, base := 0, int64(0)
	var out []byte
	for sent < cfg.max && time.Now().Before(deadline) && ctx.Err() == nil {
		if int64(sent)-max(lastSeq.Load()+1, base) >= int64(cfg.window) {
			select {
			case <-tick:
			case <-time.After(200 * time.Millisecond):
				base = int64(sent) // the window is lost; go on
			case <-ctx.Done():
			}
			continue
		}
		text := fmt.Sprintf("%010d %s", sent, pad)
		if len(text) > cfg.size {
			text = text[:cfg.size]
		}
		out = ms[0].signed(out[:0], udpcolor.Packet{Kind: udpcolor.KindMsg, Text: text})
		if _, err := ms[0].c.Write(out); err != nil {
			return err
		}
		sent++
	}
	elapsed := time.Since(start)
	// Let the last window arrive, then stop the readers.
	wait := time.Now().Add(500 * time.Millisecond)
	for lastSeq.Load() < int64(sent-1) && time.Now().Before(wait) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	var delivered int64
	for _, m := range ms[1:] {
		delivered += m.received.Load()
	}
	for _, m := range ms {
		m.c.Write(m.signed(nil, udpcolor.Packet{Kind: udpcolor.KindLeave}))
		m.c.Close()
	}
	closed = true
	wg.Wait()

	expected := int64(sent) * int64(n-1)
	loss := 0.0
	if expected > 0 {
		loss = 100 * float64(expected-delivered) / float64(expected)
	}
	secs := elapsed.Seconds()
	fmt.Fprintf(stdout, "relay/m%d/datagrams %.0f datagrams/s\n", n, float64(delivered)/secs)
	fmt.Fprintf(stdout, "relay/m%d/messages %.0f msgs/s\n", n, float64(sent)/secs)
	fmt.Fprintf(stdout, "relay/m%d/loss %.2f %%\n", n, loss)
	return nil
}

// seqOf returns the sequence number at the start of a relayed text.
func seqOf(b []byte) (int64, bool) {
	_, text, ok := strings.Cut(string(b), " : ")
	if !ok || len(text) < 10 {
		return 0, false
	}
	v, err := strconv.ParseInt(text[:10], 10, 64)
	return v, err == nil
}
