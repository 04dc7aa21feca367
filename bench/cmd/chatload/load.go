package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// hist is a latency histogram in microseconds with buckets 1/16 of a
// power of two wide (about 6% precision).
type hist [64 * 16]int64

func bucket(us int64) int {
	if us < 16 {
		return int(max(us, 0))
	}
	e := bits.Len64(uint64(us)) - 5 // us has e+5 bits; keep the top 5
	return (e+1)*16 + int(us>>e) - 16
}

// upper returns the largest value of bucket i, in microseconds.
func upper(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	e := i/16 - 1
	return (int64(i%16+16)+1)<<e - 1
}

func (h *hist) add(o *hist) {
	for i := range h {
		h[i] += o[i]
	}
}

func (h *hist) count() int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *hist) quantile(q float64) time.Duration {
	n := h.count()
	if n == 0 {
		return 0
	}
	want := int64(math.Ceil(q * float64(n)))
	var seen int64
	for i, c := range h {
		seen += c
		if seen >= want && c > 0 {
			return time.Duration(upper(i)) * time.Microsecond
		}
	}
	return 0
}

// client is one connection of the load.
type client struct {
	nick    string
	c       net.Conn
	stalled bool
	probe   bool   // reads at once and measures latency; others poll
	buf     []byte // read buffer: buf[r:w] is unread
	r, w    int

	// Written by the client's reader, read after it ends.
	hist     hist
	received int64 // MSG lines received in the window
	kicked   bool  // got BYE slow
	slowSeen int   // QUIT ... too slow lines seen
}

// window is the measuring window, in Unix nanoseconds.
type window struct{ from, to atomic.Int64 }

func (w *window) in(t int64) bool { return t >= w.from.Load() && t < w.to.Load() }

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
func (cl *client) readLoop(win *window, poll time.Duration) {
	for {
		if !cl.probe {
			time.Sleep(poll)
		}
		if err := cl.fill(); err != nil {
			return
		}
		now := time.Now().UnixNano()
		measuring := win.in(now)
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
	if sp < 0 || sp+2 >= len(rest) || rest[sp+1] != 't' {
		return
	}
	var sent int64
	for _, c := range rest[sp+2:] {
		if c < '0' || c > '9' {
			break
		}
		sent = sent*10 + int64(c-'0')
	}
	cl.hist[bucket((now-sent)/1000)]++
}

// sendLoop sends rate messages per second until stop, starting at a
// random phase; it counts the messages sent in the window.
func (cl *client) sendLoop(rate float64, size int, win *window, stop <-chan struct{}, sent *atomic.Int64) {
	every := time.Duration(float64(time.Second) / rate)
	phase := time.Duration(rand.Int64N(int64(every)))
	t := time.NewTimer(phase)
	defer t.Stop()
	next := time.Now().Add(phase)
	msg := make([]byte, 0, size+8)
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		now := time.Now()
		msg = append(msg[:0], 't')
		msg = strconv.AppendInt(msg, now.UnixNano(), 10)
		for len(msg) < size {
			msg = append(msg, '.')
		}
		msg = append(msg, '\n')
		cl.c.SetWriteDeadline(now.Add(5 * time.Second))
		if _, err := cl.c.Write(msg); err != nil {
			return
		}
		if win.in(now.UnixNano()) {
			sent.Add(1)
		}
		// Keep the schedule without bunching up after a delay.
		next = next.Add(every)
		if d := time.Until(next); d > 0 {
			t.Reset(d)
		} else {
			next = time.Now()
			t.Reset(0)
		}
	}
}

// measure runs one point and prints its figures.
func measure(ctx context.Context, cfg config, p point, out io.Writer) error {
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.close()
	name := fmt.Sprintf("chat/n%d/r%g", p.n, p.rate)
	if cfg.stall > 0 {
		name += fmt.Sprintf("/stall%g", cfg.stall)
	}
	if cfg.hold > 0 {
		held, err := holdOn(ctx, cfg, srv, out)
		if err != nil {
			return err
		}
		defer dropAll(held)
		name += fmt.Sprintf("/hold%d", cfg.hold)
	}

	t0 := time.Now()
	g0, r0, _, err := srv.mem()
	if err != nil {
		return err
	}
	// Connect, 50 at a time; the stalled clients are spread evenly.
	clients := make([]*client, p.n)
	nStalled := int(float64(p.n) * cfg.stall)
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	win := new(window)
	win.from.Store(math.MaxInt64)
	for i := range clients {
		stalled := nStalled > 0 && i%(p.n/max(nStalled, 1)) == 0 && i/(p.n/max(nStalled, 1)) < nStalled
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cl, err := join(ctx, srv.addr, fmt.Sprintf("c%d", i), stalled)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp(firstErr, err)
				return
			}
			clients[i] = cl
		}()
	}
	wg.Wait()
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.c.Close()
			}
		}
	}()
	if firstErr != nil {
		return firstErr
	}
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
	g1, r1, _, err := srv.mem()
	if err != nil {
		return err
	}

	// Send: warm up, then measure.
	stop := make(chan struct{})
	var sent atomic.Int64
	var senders sync.WaitGroup
	start := time.Now()
	win.from.Store(start.Add(cfg.warm).UnixNano())
	win.to.Store(start.Add(cfg.warm + cfg.dur).UnixNano())
	for _, cl := range clients {
		if cl.stalled {
			continue // stalled clients neither read nor write
		}
		senders.Add(1)
		go func() {
			defer senders.Done()
			cl.sendLoop(p.rate, cfg.size, win, stop, &sent)
		}()
	}
	sleep(ctx, cfg.warm)
	cpu0 := srv.cpu()
	sleep(ctx, cfg.dur)
	cpu1 := srv.cpu()
	close(stop)
	senders.Wait()
	// Let the last messages of the window arrive, then hang up.
	sleep(ctx, 500*time.Millisecond)
	for _, cl := range clients {
		cl.c.Close()
	}
	readers.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var h hist
	var received int64
	kicked := 0
	for _, cl := range clients {
		if cl.stalled {
			continue
		}
		h.add(&cl.hist)
		received += cl.received
		kicked = max(kicked, cl.slowSeen)
		if cl.kicked {
			kicked++ // a reading client dropped: it should not happen
		}
	}
	secs := cfg.dur.Seconds()
	readersN := p.n - nStalled
	fmt.Fprintf(out, "%s/sent %.0f msg/s\n", name, float64(sent.Load())/secs)
	fmt.Fprintf(out, "%s/delivered %.0f lines/s\n", name, float64(received)/secs)
	fmt.Fprintf(out, "%s/expected %.0f lines/s\n", name, float64(sent.Load())*float64(readersN)/secs)
	fmt.Fprintf(out, "%s/p50 %.2f ms\n", name, ms(h.quantile(0.50)))
	fmt.Fprintf(out, "%s/p99 %.2f ms\n", name, ms(h.quantile(0.99)))
	fmt.Fprintf(out, "%s/max %.2f ms\n", name, ms(h.quantile(1)))
	fmt.Fprintf(out, "%s/kicked %d clients\n", name, kicked)
	if !cfg.inproc {
		fmt.Fprintf(out, "%s/server_cpu %.2f cores\n", name, (cpu1-cpu0).Seconds()/secs)
	}
	fmt.Fprintf(out, "%s/join_time %.2f s\n", name, tJoined.Seconds())
	fmt.Fprintf(out, "%s/mem_rss %.1f KiB/client\n", name, float64(r1-r0)/1024/float64(p.n))
	fmt.Fprintf(out, "%s/mem_go %.1f KiB/client\n", name, float64(g1-g0)/1024/float64(p.n))
	return nil
}

func cmp(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
