package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/bench/internal/latency"
	"github.com/sockkit/sockkit/bench/internal/load"
)

// client is one connection of the load.
type client struct {
	nick    string
	c       net.Conn
	stalled bool
	probe   bool   // reads at once and measures latency; others poll
	buf     []byte // read buffer: buf[r:w] is unread
	r, w    int

	// Written by the client's reader, read after it ends.
	hist     latency.Hist
	received int64 // MSG lines received in the window
	kicked   bool  // got BYE slow
	slowSeen int   // QUIT ... too slow lines seen
}

// readLine returns the next line, without "\n", reading as needed; for
// the handshake only.
func (cl *client) readLine() (string, error) {
	for {
		if i := bytes.IndexByte(cl.buf[cl.r:cl.w], '\n'); i >= 0 {
			l := string(cl.buf[cl.r : cl.r+i])
			cl.r += i + 1
			return l, nil
		}
		if err := cl.fill(); err != nil {
			return "", err
		}
	}
}

// fill reads more into the buffer, moving unread bytes to its start.
func (cl *client) fill() error {
	if cl.r > 0 {
		cl.w = copy(cl.buf, cl.buf[cl.r:cl.w])
		cl.r = 0
	}
	if cl.w == len(cl.buf) {
		return errors.New("line too long")
	}
	n, err := cl.c.Read(cl.buf[cl.w:])
	cl.w += n
	if n > 0 {
		return nil
	}
	return err
}

// join connects and takes the nickname.
func join(ctx context.Context, addr, nick string, stalled bool) (*client, error) {
	var d net.Dialer
	if stalled {
		d.Control = smallReceiveBuffer
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cl := &client{nick: nick, c: c, stalled: stalled, buf: make([]byte, 64<<10)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "/nick "+nick+"\n"); err != nil {
		c.Close()
		return nil, err
	}
	want := "JOIN lobby " + nick
	for {
		l, err := cl.readLine()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s joining: %w", nick, err)
		}
		if l == want {
			return cl, nil
		}
		if len(l) > 4 && l[:4] == "ERR " || len(l) > 4 && l[:4] == "BYE " {
			c.Close()
			return nil, fmt.Errorf("%s joining: %s", nick, l)
		}
	}
}

// readLoop reads until the connection ends, noting the latency of every
// message received in the window. Lines that arrive in one read share
// its time.
func (cl *client) readLoop(win *load.Window, poll time.Duration) {
	for {
		if !cl.probe {
			time.Sleep(poll)
		}
		if err := cl.fill(); err != nil {
			return
		}
		now := time.Now().UnixNano()
		measuring := win.In(now)
		data := cl.buf[cl.r:cl.w]
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			cl.line(data[:i], now, measuring)
			data = data[i+1:]
		}
		cl.r = cl.w - len(data)
	}
}

var (
	msgPrefix  = []byte("MSG lobby ")
	byeSlow    = []byte("BYE slow")
	quitPrefix = []byte("QUIT ")
	tooSlow    = []byte(" too slow")
)

func (cl *client) line(l []byte, now int64, measuring bool) {
	if !bytes.HasPrefix(l, msgPrefix) {
		switch {
		case bytes.HasPrefix(l, byeSlow):
			cl.kicked = true
		case bytes.HasPrefix(l, quitPrefix) && bytes.HasSuffix(l, tooSlow):
			cl.slowSeen++
		}
		return
	}
	if !measuring {
		return
	}
	cl.received++
	if !cl.probe {
		return
	}
	// MSG lobby NICK tNANOS pad
	rest := l[len(msgPrefix):]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return
	}
	if sent, ok := load.SentAt(rest[sp+1:]); ok {
		cl.hist.Record(time.Duration(now - sent))
	}
}

// sendLoop sends rate messages per second until stop (see load.Pace).
func (cl *client) sendLoop(rate float64, size int, win *load.Window, stop <-chan struct{}, sent *atomic.Int64) {
	var line []byte
	load.Pace(rate, size, win, stop, sent, func(now time.Time, msg []byte) bool {
		line = append(append(line[:0], msg...), '\n')
		cl.c.SetWriteDeadline(now.Add(5 * time.Second))
		_, err := cl.c.Write(line)
		return err == nil
	})
}

// measure runs one point and prints its figures.
func measure(ctx context.Context, cfg config, p load.Point, out io.Writer) error {
	srv, err := startServers(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.close()
	name := fmt.Sprintf("chat/n%d/r%g", p.N, p.Rate)
	if cfg.servers > 1 {
		name += fmt.Sprintf("/servers%d", cfg.servers)
	}
	if cfg.stall > 0 {
		name += fmt.Sprintf("/stall%g", cfg.stall)
	}

	t0 := time.Now()
	g0, r0, err := srv.mem()
	if err != nil {
		return err
	}
	// Connect; the stalled clients are spread evenly.
	nStalled := int(float64(p.N) * cfg.stall)
	win := load.NewWindow()
	clients, err := load.Dial(p.N, func(i int) (*client, error) {
		stalled := nStalled > 0 && i%(p.N/max(nStalled, 1)) == 0 && i/(p.N/max(nStalled, 1)) < nStalled
		return join(ctx, srv.addrs[i%len(srv.addrs)], fmt.Sprintf("c%d", i), stalled)
	}, func(cl *client) { cl.c.Close() })
	if err != nil {
		return err
	}
	defer func() {
		for _, cl := range clients {
			cl.c.Close()
		}
	}()
	var readers sync.WaitGroup
	probes := 0
	for _, cl := range clients {
		if !cl.stalled {
			cl.probe = probes < cfg.probes
			if cl.probe {
				probes++
			}
			readers.Add(1)
			go func() {
				defer readers.Done()
				cl.readLoop(win, cfg.poll)
			}()
		}
	}
	tJoined := time.Since(t0)
	time.Sleep(200 * time.Millisecond)
	g1, r1, err := srv.mem()
	if err != nil {
		return err
	}

	// Send: warm up, then measure.
	stop := make(chan struct{})
	var sent atomic.Int64
	var senders sync.WaitGroup
	start := time.Now()
	win.Set(start.Add(cfg.warm), start.Add(cfg.warm+cfg.dur))
	for _, cl := range clients {
		if cl.stalled {
			continue // stalled clients neither read nor write
		}
		senders.Add(1)
		go func() {
			defer senders.Done()
			cl.sendLoop(p.Rate, cfg.size, win, stop, &sent)
		}()
	}
	load.Sleep(ctx, cfg.warm)
	cpu0 := srv.cpu()
	load.Sleep(ctx, cfg.dur)
	cpu1 := srv.cpu()
	close(stop)
	senders.Wait()
	// Let the last messages of the window arrive, then hang up.
	load.Sleep(ctx, 500*time.Millisecond)
	for _, cl := range clients {
		cl.c.Close()
	}
	readers.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var h latency.Hist
	var received int64
	kicked := 0
	for _, cl := range clients {
		if cl.stalled {
			continue
		}
		h.Add(&cl.hist)
		received += cl.received
		kicked = max(kicked, cl.slowSeen)
		if cl.kicked {
			kicked++ // a reading client dropped: it should not happen
		}
	}
	secs := cfg.dur.Seconds()
	readersN := p.N - nStalled
	fmt.Fprintf(out, "%s/sent %.0f msg/s\n", name, float64(sent.Load())/secs)
	fmt.Fprintf(out, "%s/delivered %.0f lines/s\n", name, float64(received)/secs)
	fmt.Fprintf(out, "%s/expected %.0f lines/s\n", name, float64(sent.Load())*float64(readersN)/secs)
	h.Print(out, name)
	fmt.Fprintf(out, "%s/kicked %d clients\n", name, kicked)
	if !cfg.inproc {
		fmt.Fprintf(out, "%s/server_cpu %.2f cores\n", name, (cpu1-cpu0).Seconds()/secs)
	}
	fmt.Fprintf(out, "%s/join_time %.2f s\n", name, tJoined.Seconds())
	fmt.Fprintf(out, "%s/mem_rss %.1f KiB/client\n", name, float64(r1-r0)/1024/float64(p.N))
	fmt.Fprintf(out, "%s/mem_go %.1f KiB/client\n", name, float64(g1-g0)/1024/float64(p.N))
	return nil
}
