// Command attack is the tool of bench/attack.sh: it runs each sockkit
// server in a process of its own, floods it from outside with one
// attack at a time, on loopback only (127.0.0.0/8), while a legitimate
// client measures how well it is still served, and prints one line per
// attack with a PASS or FAIL against the attack's target.
//
//	attack [-only NAME,NAME] [-udpcolor-bin PATH] [-timeout 3m]
//	attack -list
//	attack serve [flags] KIND       the server process (see serve.go)
//
// The attacks (issue 13), each with its target:
//
//	udpcolor-fill     1,024 ports of 127.0.0.1 join: the host holds at most
//	                  MaxMembersPerAddr places; users from 127.0.0.2 join (100 %)
//	udpcolor-spoof    msg, leave and ping spoofed from a member's address, and
//	                  replays of its datagrams: nothing relayed, the member stays
//	ratelimit-fill    70,000 spoofed sources flood timesync at the rate that
//	                  fills the rate limiter's 65,536 entries in 4 s: 20 new
//	                  clients get normal service (>= 80 %, no Kiss-o'-Death)
//	reflect-*         requests spoofed from a victim's socket on 127.0.0.3 to
//	                  echo (plain, upper, hello), timesync and udpcolor: the
//	                  victim gets at most 3 times the bytes sent in its name,
//	                  on the wire (payload + 28 bytes per datagram)
//	chat-register     unregistered connections of one host that send bad lines:
//	                  at most MaxConnsPerSource slots, each freed after
//	                  RegisterTimeout; users from 127.0.0.2 join (100 %)
//	echo-drip         connections of one host that send a byte every 3 s: at
//	                  most MaxConnsPerSource; round trips from 127.0.0.2 (100 %)
//	httpfetch-range   "Range: bytes=-0" gets 416; overlapping ranges get no
//	                  more than the file
//	httpfetch-lock    a second download to one destination fails with
//	                  ErrLocked; the first's file is byte for byte right
//	udpcolor-sighup   examples/udpcolor join gets SIGHUP: its name is free at once
//
// The attacks that spoof source addresses need root; without it they
// are reported as SKIP. Every flood is bounded in count and in time, and
// the whole run by -timeout. The tool exits 1 if an attack failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
)

func main() {
	cli.Main("attack", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 && args[0] == "serve" {
			return serveCmd(ctx, args[1:], os.Stdin, stdout, stderr)
		}
		return run(ctx, args, stdout, stderr)
	})
}

// env is what every attack gets.
type env struct {
	exe         string   // this program, for the server processes
	udpcolorBin string   // examples/udpcolor, built
	spoof       *spoofer // nil without root
	spoofErr    error    // why spoof is nil
	log         io.Writer
}

// attack is one attack of the run.
type attack struct {
	name  string
	spoof bool // needs the raw socket
	run   func(ctx context.Context, e *env, r *Result) error
}

// attacks is every attack, in the order they run.
var attacks = []attack{
	{"udpcolor-fill", false, fillUDPColor},
	{"udpcolor-spoof", true, spoofUDPColor},
	{"ratelimit-fill", true, fillRateLimit},
	{"reflect-echo", true, reflectEcho("")},
	{"reflect-echo-upper", true, reflectEcho("upper")},
	{"reflect-echo-hello", true, reflectEcho("hello")},
	{"reflect-timesync", true, reflectTimesync},
	{"reflect-udpcolor", true, reflectUDPColor},
	{"chat-register", false, holdChat},
	{"echo-drip", false, dripEcho},
	{"httpfetch-range", false, rangeHTTP},
	{"httpfetch-lock", false, lockHTTP},
	{"udpcolor-sighup", false, hangupUDPColor},
}

// errFailed makes the program exit 1 when an attack failed.
var errFailed = errors.New("an attack succeeded against its target (see FAIL above)")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", "", "comma-separated `names` of the attacks to run (default: all)")
	list := fs.Bool("list", false, "list the attacks and exit")
	bin := fs.String("udpcolor-bin", "", "examples/udpcolor, built, for udpcolor-sighup (empty: skip it)")
	timeout := fs.Duration("timeout", 3*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "attack: unexpected argument %q\n", fs.Arg(0))
		return cli.ErrUsage
	}
	if *list {
		for _, a := range attacks {
			fmt.Fprintln(stdout, a.name)
		}
		return nil
	}
	chosen, err := choose(*only)
	if err != nil {
		fmt.Fprintln(stderr, "attack:", err)
		return cli.ErrUsage
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	e := &env{exe: exe, udpcolorBin: *bin, log: stderr}
	e.spoof, e.spoofErr = newSpoofer()
	if e.spoof != nil {
		defer e.spoof.close()
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	fmt.Fprintln(stdout, Header)
	var results []*Result
	for _, a := range chosen {
		r := &Result{Name: a.name, LegitTarget: 1}
		switch {
		case ctx.Err() != nil:
			r.Skip = "not run: " + context.Cause(ctx).Error()
		case a.spoof && e.spoof == nil:
			r.Skip = e.spoofErr.Error()
		default:
			fmt.Fprintf(stderr, "attack: %s...\n", a.name)
			start := time.Now()
			actx, acancel := context.WithTimeout(ctx, 60*time.Second)
			if err := a.run(actx, e, r); err != nil {
				r.Fails = append(r.Fails, "the attack could not be run: "+err.Error())
			}
			acancel()
			fmt.Fprintf(stderr, "attack: %s took %.1f s\n", a.name, time.Since(start).Seconds())
		}
		results = append(results, r)
		fmt.Fprintln(stdout, r.Line())
	}
	footer, failed := Footer(results)
	fmt.Fprintln(stdout, footer)
	if failed > 0 {
		return errFailed
	}
	return nil
}

// choose returns the attacks named in a comma-separated list, all of them
// for an empty one.
func choose(names string) ([]attack, error) {
	if names == "" {
		return attacks, nil
	}
	var out []attack
	for _, n := range strings.Split(names, ",") {
		found := false
		for _, a := range attacks {
			if a.name == strings.TrimSpace(n) {
				out = append(out, a)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no attack %q (see -list)", n)
		}
	}
	return out, nil
}

// withServer starts a server process, runs f against it, and records
// the server's settings and memory in r.
func withServer(ctx context.Context, e *env, r *Result, f func(c *child) error, args ...string) error {
	c, err := startChild(ctx, e.exe, args...)
	if err != nil {
		return err
	}
	r.Settings = append(r.Settings, c.settings...)
	err = f(c)
	r.RSS, r.PeakRSS = c.memory()
	return errors.Join(err, c.stop())
}

// dialFrom returns a Dial hook that binds the local end of every
// connection (TCP or UDP) to ip, as another host on the loopback network
// would be.
func dialFrom(ip string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	a := netip.MustParseAddr(ip)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		if strings.HasPrefix(network, "udp") {
			d.LocalAddr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		} else {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(a, 0))
		}
		return d.DialContext(ctx, network, addr)
	}
}

// pace calls send(i) for i from 0 to n-1 at perSecond calls per second,
// in batches of a millisecond, until n calls, ctx is done, or send fails.
// It returns how many calls were made.
func pace(ctx context.Context, n int, perSecond float64, send func(i int) error) (int, error) {
	start := time.Now()
	i := 0
	for i < n {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		due := min(n, int(time.Since(start).Seconds()*perSecond)+1)
		for ; i < due; i++ {
			if err := send(i); err != nil {
				return i, err
			}
		}
		time.Sleep(time.Millisecond)
	}
	return i, nil
}

// parallel calls f(i) for every i from 0 to n-1, on workers goroutines,
// and returns when all calls have.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// addrPort parses the address of a server process.
func addrPort(c *child, network string) (netip.AddrPort, error) {
	s, ok := c.addr[network]
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("the server has no %s address", network)
	}
	return netip.ParseAddrPort(s)
}

// rcvbufErrors returns the UDP datagrams the kernel has dropped for full
// receive buffers since it started, -1 where it does not tell.
func rcvbufErrors() int64 {
	f, err := os.Open("/proc/net/snmp")
	if err != nil {
		return -1
	}
	defer f.Close()
	n, err := parseRcvbufErrors(f)
	if err != nil {
		return -1
	}
	return n
}
