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

	"github.com/coder/websocket"

	"github.com/sockkit/sockkit/bench/internal/latency"
	"github.com/sockkit/sockkit/bench/internal/load"
)

// client is one connection of the load.
type client struct {
	nick    string
	dialect dialect
	c       net.Conn        // plain and IRC clients
	ws      *websocket.Conn // WebSocket clients
	raw     *pollConn       // the connection under ws
	stalled bool
	probe   bool   // reads at once and measures latency; others poll
	buf     []byte // read buffer: buf[r:w] is unread
	r, w    int

	// Written by the client's reader, read after it ends.
	hist     latency.Hist
	received int64 // messages to the lobby received in the window
	kicked   bool  // got BYE slow (IRC: ERROR)
	slowSeen int   // QUIT ... too slow lines seen
}

// close hangs up.
func (cl *client) close() {
	if cl.ws != nil {
		cl.ws.CloseNow()
		return
	}
	cl.c.Close()
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

// join connects in dialect d to the server's listener for it and takes
// the nickname.
func join(ctx context.Context, srv *server, i int, nick string, d dialect, stalled bool) (*client, error) {
	switch d {
	case irc:
		return joinIRC(ctx, srv.ircAddrs[i%len(srv.ircAddrs)], nick, stalled)
	case webSocket:
		return joinWS(ctx, srv.httpAddrs[i%len(srv.httpAddrs)], nick, stalled)
	}
	return joinPlain(ctx, srv.addrs[i%len(srv.addrs)], nick, stalled)
}

// joinPlain connects over TCP and takes the nickname.
func joinPlain(ctx context.Context, addr, nick string, stalled bool) (*client, error) {
	c, err := dialer(stalled, nil).DialContext(ctx, "tcp", addr)
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

// line counts and times line l, which arrived at now (Unix nanoseconds).
func (cl *client) line(l []byte, now int64, measuring bool) {
	if cl.dialect == irc && len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	text, ok := cl.message(l)
	if !ok {
		cl.other(l)
		return
	}
	if !measuring {
		return
	}
	cl.received++
	if !cl.probe {
		return
	}
	// TEXT is tNANOS and padding, whatever the dialect around it.
	if sent, ok := load.SentAt(text); ok {
		cl.hist.Record(time.Duration(now - sent))
	}
}

// sendLoop sends rate messages per second until stop (see load.Pace).
func (cl *client) sendLoop(rate float64, size int, win *load.Window, stop <-chan struct{}, sent *atomic.Int64) {
	var line []byte
	load.Pace(rate, size, win, stop, sent, func(now time.Time, msg []byte) bool {
		line = cl.appendSay(line[:0], msg)
		if cl.ws != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return cl.ws.Write(ctx, websocket.MessageText, line) == nil
		}
		cl.c.SetWriteDeadline(now.Add(5 * time.Second))
		_, err := cl.c.Write(line)
		return err == nil
	})
}

// pointName is the prefix of the figures of point p.
func pointName(cfg config, p load.Point) string {
	name := fmt.Sprintf("chat/n%d/r%g", p.N, p.Rate)
	if cfg.servers > 1 {
		name += fmt.Sprintf("/servers%d", cfg.servers)
	}
	if !cfg.mix.plainOnly() {
		name += "/mix" + cfg.mix.String()
	}
	if cfg.hold > 0 {
		name += fmt.Sprintf("/hold%d", cfg.hold)
	}
	if cfg.stall > 0 {
		name += fmt.Sprintf("/stall%g", cfg.stall)
	}
	return name
}

// measure runs one point and prints its figures: with -hold, the idle
// clients first (see holdIdle), then, unless p is nil, the load beside
// them.
func measure(ctx context.Context, cfg config, p *load.Point, out io.Writer) error {
	srv, err := startServers(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.close()
	if cfg.hold > 0 {
		held, err := holdIdle(ctx, cfg, srv, out)
		defer func() {
			for _, cl := range held {
				hangUp(cl)
			}
		}()
		if err != nil {
			return err
		}
		if p != nil {
			defer func() {
				fmt.Fprintf(out, "%s/hold_lost %d clients\n", pointName(cfg, *p), len(held)-stillHeld(held))
			}()
		}
	}
	if p == nil {
		return nil
	}
	name := pointName(cfg, *p)

	t0 := time.Now()
	m0, err := srv.mem(false)
	if err != nil {
		return err
	}
	// Connect; the stalled clients are spread evenly.
	nStalled := int(float64(p.N) * cfg.stall)
	win := load.NewWindow()
	clients, err := load.Dial(p.N, func(i int) (*client, error) {
		stalled := nStalled > 0 && i%(p.N/max(nStalled, 1)) == 0 && i/(p.N/max(nStalled, 1)) < nStalled
		return join(ctx, srv, i, fmt.Sprintf("c%d", i), cfg.mix.of(i), stalled)
	}, (*client).close)
	if err != nil {
		return err
	}
	defer func() {
		for _, cl := range clients {
			cl.close()
		}
	}()
	var readers sync.WaitGroup
	probes := 0
	for _, cl := range clients {
		if !cl.stalled {
			cl.probe = probes < cfg.probes
			if cl.probe {
				probes++
			} else if cl.raw != nil {
				cl.raw.poll = cfg.poll
			}
			readers.Go(func() {
				if cl.ws != nil {
					cl.wsReadLoop(win)
					return
				}
				cl.readLoop(win, cfg.poll)
			})
		}
	}
	tJoined := time.Since(t0)
	time.Sleep(200 * time.Millisecond)
	m1, err := srv.mem(false)
	if err != nil {
		return err
	}

	// Send: warm up, then measure.
	stop := make(chan struct{})
	var sent [nDialects]atomic.Int64
	var senders sync.WaitGroup
	start := time.Now()
	win.Set(start.Add(cfg.warm), start.Add(cfg.warm+cfg.dur))
	for _, cl := range clients {
		if cl.stalled {
			continue // stalled clients neither read nor write
		}
		senders.Go(func() { cl.sendLoop(p.Rate, cfg.size, win, stop, &sent[cl.dialect]) })
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
		cl.close()
	}
	readers.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var h latency.Hist
	var byDialect [nDialects]latency.Hist
	var received int64
	var receivedBy [nDialects]int64
	kicked := 0
	for _, cl := range clients {
		if cl.stalled {
			continue
		}
		h.Add(&cl.hist)
		byDialect[cl.dialect].Add(&cl.hist)
		received += cl.received
		receivedBy[cl.dialect] += cl.received
		kicked = max(kicked, cl.slowSeen)
		if cl.kicked {
			kicked++ // a reading client dropped: it should not happen
		}
	}
	secs := cfg.dur.Seconds()
	readersN := int64(p.N - nStalled)
	var sentAll, expected int64
	for d := range nDialects {
		n := sent[d].Load()
		sentAll += n
		expected += n * readersN
		if d == irc {
			expected -= n // IRC clients do not get their own messages back
		}
	}
	fmt.Fprintf(out, "%s/sent %.0f msg/s\n", name, float64(sentAll)/secs)
	fmt.Fprintf(out, "%s/delivered %.0f lines/s\n", name, float64(received)/secs)
	fmt.Fprintf(out, "%s/expected %.0f lines/s\n", name, float64(expected)/secs)
	h.Print(out, name)
	if !cfg.mix.plainOnly() {
		for d := range nDialects {
			if cfg.mix[d] > 0 {
				fmt.Fprintf(out, "%s/%s/delivered %.0f lines/s\n", name, d, float64(receivedBy[d])/secs)
				byDialect[d].Print(out, name+"/"+d.String())
			}
		}
	}
	fmt.Fprintf(out, "%s/kicked %d clients\n", name, kicked)
	if !cfg.inproc {
		fmt.Fprintf(out, "%s/server_cpu %.2f cores\n", name, (cpu1-cpu0).Seconds()/secs)
	}
	fmt.Fprintf(out, "%s/join_time %.2f s\n", name, tJoined.Seconds())
	fmt.Fprintf(out, "%s/mem_rss %.1f KiB/client\n", name, float64(m1.rss-m0.rss)/1024/float64(p.N))
	fmt.Fprintf(out, "%s/mem_go %.1f KiB/client\n", name, float64(m1.goMem-m0.goMem)/1024/float64(p.N))
	return nil
}
