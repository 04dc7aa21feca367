package natshub

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/chat/natshub/natsembed"
)

// noLeaks checks, after the test's other cleanups (which stop its
// servers and hubs), that the test left no goroutine running.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// bound bounds every wait in these tests; reaching it means a bug.
const bound = 20 * time.Second

// natsPeer is a NATS server that a test can stop and start again on the
// same port: the embedded one, or Debian's nats-server.
type natsPeer interface {
	URL() string
	Stop()
	Restart()
}

// embedded is natsembed's server.
type embedded struct {
	t    *testing.T
	s    *natsembed.Server
	port int
}

func startEmbedded(t *testing.T) *embedded {
	t.Helper()
	s, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &embedded{t: t, s: s, port: s.Port()}
	t.Cleanup(e.Stop)
	return e
}

func (e *embedded) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", e.port) }

func (e *embedded) Stop() {
	if e.s != nil {
		e.s.Shutdown()
		e.s = nil
	}
}

func (e *embedded) Restart() {
	e.t.Helper()
	e.Stop()
	s, err := natsembed.Start(natsembed.Options{Port: e.port})
	if err != nil {
		e.t.Fatal(err)
	}
	e.s = s
}

// debianNATS is the nats-server program, run as its own process.
type debianNATS struct {
	t    *testing.T
	bin  string
	dir  string
	port string
	cmd  *exec.Cmd
}

// natsServerBin finds Debian's nats-server, or skips the test.
func natsServerBin(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nats-server", "/usr/sbin/nats-server"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin
		}
	}
	t.Skip("nats-server is not installed (Debian package nats-server)")
	return ""
}

func startDebianNATS(t *testing.T) *debianNATS {
	t.Helper()
	d := &debianNATS{t: t, bin: natsServerBin(t), dir: t.TempDir(), port: "-1"}
	d.start()
	t.Cleanup(d.Stop)
	return d
}

var listening = regexp.MustCompile(`Listening for client connections on 127\.0\.0\.1:(\d+)`)

// start runs nats-server and waits for the line that gives its port.
func (d *debianNATS) start() {
	d.t.Helper()
	cmd := exec.Command(d.bin, "-a", "127.0.0.1", "-p", d.port, "-js", "-sd", filepath.Join(d.dir, "js"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.cmd = cmd
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p := <-found:
		d.port = p
	case <-time.After(bound):
		d.t.Fatal("nats-server did not say which port it listens on")
	}
	ready := time.Now().Add(bound)
	for { // it prints the line before it accepts
		c, err := net.Dial("tcp", "127.0.0.1:"+d.port)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(ready) {
			d.t.Fatalf("nats-server does not accept: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *debianNATS) URL() string { return "nats://127.0.0.1:" + d.port }

// Stop kills the process, as a crash would.
func (d *debianNATS) Stop() {
	if d.cmd != nil {
		d.cmd.Process.Kill()
		d.cmd.Wait()
		d.cmd = nil
	}
}

func (d *debianNATS) Restart() {
	d.t.Helper()
	d.Stop()
	d.start()
}

// testOptions are Options for tests: quick reconnection, and timeouts
// long enough that a busy machine does not set them off (the tests of
// leases and of a stalled link shorten them). None of them is a
// threshold that a test checks.
func testOptions() Options {
	return Options{NickTTL: 5 * time.Second, EchoTimeout: 20 * time.Second, ReconnectWait: 20 * time.Millisecond, MaxReconnectWait: 200 * time.Millisecond}
}

// node is one chat server with its Hub.
type node struct {
	hub  *Hub
	srv  *chat.Server
	addr string
	errc chan error
}

// startNode connects a Hub to url and serves chat with it; the cleanup
// shuts the server down, then closes the Hub.
func startNode(t *testing.T, url string, o Options, mods ...func(*chat.Server)) *node {
	t.Helper()
	hub, err := Connect(url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hub.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := hub.WaitShared(ctx); err != nil {
		t.Fatalf("the hub did not share its rooms: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{hub: hub, srv: &chat.Server{Hub: hub, LineRate: -1, RegisterTimeout: -1}, addr: l.Addr().String(), errc: make(chan error, 1)}
	for _, mod := range mods {
		mod(n.srv)
	}
	go func() { n.errc <- n.srv.Serve(context.Background(), l) }()
	t.Cleanup(func() { n.stop(t) })
	return n
}

// stop shuts the server down (once).
func (n *node) stop(t *testing.T) {
	t.Helper()
	if n.errc == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	n.srv.Shutdown(ctx)
	if err := <-n.errc; !errors.Is(err, chat.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	n.errc = nil
}

// user is a person on nc: raw lines over TCP.
type user struct {
	t    *testing.T
	nick string
	c    net.Conn
	r    *bufio.Reader
}

// dial connects to addr and takes nick; the server's JOIN line for the
// user has been read.
func dial(t *testing.T, addr, nick string) *user {
	t.Helper()
	u := connect(t, addr)
	u.nick = nick
	u.send(nick)
	u.until("JOIN lobby " + nick)
	return u
}

// connect connects to addr and reads the greeting.
func connect(t *testing.T, addr string) *user {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u := &user{t: t, c: c, r: bufio.NewReader(c)}
	if l := u.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("greeting %q", l)
	}
	return u
}

func (u *user) send(line string) {
	u.t.Helper()
	if _, err := u.c.Write([]byte(line + "\n")); err != nil {
		u.t.Fatalf("%s sending %q: %v", u.nick, line, err)
	}
}

// line returns the next line without its "\n".
func (u *user) line() string {
	u.t.Helper()
	u.c.SetReadDeadline(time.Now().Add(bound))
	s, err := u.r.ReadString('\n')
	if err != nil {
		u.t.Fatalf("%s reading: %v (after %q)", u.nick, err, s)
	}
	return strings.TrimSuffix(s, "\n")
}

// until reads lines up to one equal to want and returns those before it.
func (u *user) until(want string) []string {
	u.t.Helper()
	var before []string
	for {
		l := u.line()
		if l == want {
			return before
		}
		before = append(before, l)
	}
}

// untilPrefix reads lines up to one that starts with prefix, and
// returns it.
func (u *user) untilPrefix(prefix string) string {
	u.t.Helper()
	for {
		if l := u.line(); strings.HasPrefix(l, prefix) {
			return l
		}
	}
}

// eventually sends cmd until the answer (the next line starting with
// prefix) is want: the directory reaches other servers after a moment.
func (u *user) eventually(cmd, prefix, want string) {
	u.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		u.send(cmd)
		got := u.untilPrefix(prefix)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s: %q answers %q, want %q", u.nick, cmd, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// retry sends cmd until its answer is want rather than an ERR line: a
// nickname given up on one server is free on the others a moment later.
func (u *user) retry(cmd, want string) {
	u.t.Helper()
	deadline := time.Now().Add(bound)
	for {
		u.send(cmd)
		for {
			l := u.line()
			if l == want {
				return
			}
			if strings.HasPrefix(l, "ERR ") {
				break
			}
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("%s: %q never answered %q", u.nick, cmd, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// collector gathers the lines of a user that keep accepts, until the
// connection ends; wait returns them.
type collector struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

func collect(u *user, keep func(string) bool) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		u.c.SetReadDeadline(time.Now().Add(bound))
		for {
			s, err := u.r.ReadString('\n')
			if err != nil {
				return
			}
			if s = strings.TrimSuffix(s, "\n"); keep(s) {
				c.mu.Lock()
				c.lines = append(c.lines, s)
				c.mu.Unlock()
			}
		}
	}()
	return c
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

func (c *collector) wait() []string {
	<-c.done
	return c.lines
}

// proxy forwards TCP connections to target and can hold everything
// back, as a link that has stopped moving.
type proxy struct {
	t      *testing.T
	l      net.Listener
	target string
	wg     sync.WaitGroup

	mu     sync.Mutex
	held   chan struct{} // closed while the proxy forwards
	conns  []net.Conn
	closed bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, l: l, target: target, held: make(chan struct{})}
	close(p.held)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) URL() string { return "nats://" + p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// pipe copies src to dst, waiting while the proxy holds.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			held := p.held
			p.mu.Unlock()
			<-held
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pause holds everything back until resume.
func (p *proxy) pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = make(chan struct{})
}

func (p *proxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.held:
	default:
		close(p.held)
	}
}

func (p *proxy) close() {
	p.resume()
	p.l.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
