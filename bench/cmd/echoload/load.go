package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// period is the length of the repeating byte pattern that stream mode
// sends; a prime, so that message boundaries fall at different places in
// the pattern and a byte echoed out of order shows.
const period = 251

// pattern holds the stream pattern, long enough that any read of up to
// maxRead bytes at any stream offset is one slice of it.
var pattern = func() []byte {
	p := make([]byte, period+maxRead+(1<<20))
	for i := range p {
		p[i] = byte(i%period) ^ 0x5a
	}
	return p
}()

const maxRead = 128 << 10

// windowOverride, if positive, replaces stream mode's per-connection
// window of bytes in flight (-window).
var windowOverride int

var dialer = net.Dialer{Timeout: 5 * time.Second}

// dialAll opens n TCP connections, at most 64 at a time.
func dialAll(ctx context.Context, addr string, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	for i := range conns {
		g.Go(func() error {
			c, err := dialer.DialContext(gctx, "tcp", addr)
			if err != nil {
				return err
			}
			conns[i] = c
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		closeAll(conns)
		return nil, err
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

// stream measures echoed MB/s with n connections each writing size-byte
// messages for cfg.dur while reading and checking the echo.
func stream(ctx context.Context, cfg config, size, n int) (mbps float64, total int64, err error) {
	conns, err := dialAll(ctx, cfg.addr, n)
	if err != nil {
		return 0, 0, err
	}
	defer closeAll(conns)
	var counted, all atomic.Int64
	start := time.Now()
	end := start.Add(cfg.dur)
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range conns {
		g.Go(func() error { return streamConn(gctx, c, size, n, end, end.Add(cfg.drain), &counted, &all) })
	}
	if err := g.Wait(); err != nil {
		return 0, 0, err
	}
	return float64(counted.Load()) / cfg.dur.Seconds() / 1e6, all.Load(), nil
}

// streamConn writes size-byte messages on c until end while it reads the
// echo, checks every byte, and adds the bytes read before end to counted
// and all bytes read to all.
// After end it waits until drainEnd for every byte written to come back.
func streamConn(ctx context.Context, c net.Conn, size, conns int, end, drainEnd time.Time, counted, all *atomic.Int64) error {
	var written, read atomic.Int64
	defer func() { all.Add(read.Load()) }()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.SetDeadline(drainEnd)
	// The writer stays at most window bytes ahead of the reader. Without
	// that bound, a load tool on one core spends its time in writers that
	// never block (loopback socket buffers hold megabytes) while the
	// readers starve, and it measures its own scheduler, not the server.
	// In bytes it is small for small messages: every segment in a
	// loopback socket buffer costs about a kilobyte of kernel memory, so
	// a large window of 64-byte writes fills the receive buffers, and the
	// connections then stall on zero windows and retransmit timers; and
	// all connections together keep at most about 8 MiB in flight.
	window := int64(max(min(256<<10, 32*size, (8<<20)/conns), 2*size))
	if windowOverride > 0 {
		window = int64(max(windowOverride, size))
	}
	progress := make(chan struct{}, 1)
	readerDone := make(chan struct{})
	defer close(readerDone)
	writerDone := make(chan error, 1)
	go func() {
		var off int64
		var err error
	loop:
		for time.Now().Before(end) {
			for off-read.Load() > window {
				select {
				case <-progress:
				case <-readerDone:
					break loop
				}
			}
			o := int(off % period)
			if _, err = c.Write(pattern[o : o+size]); err != nil {
				err = fmt.Errorf("write: %w", err)
				break
			}
			off += int64(size)
			written.Store(off)
		}
		writerDone <- err
		// Wake the reader, which then learns that the writer is done and
		// how many bytes it still has to wait for.
		c.SetReadDeadline(time.Now())
	}()

	buf := make([]byte, maxRead)
	var off, final int64
	wdone := false
	for {
		if wdone && off == final {
			return nil
		}
		r, err := c.Read(buf)
		if r > 0 {
			o := int(off % period)
			if !bytes.Equal(buf[:r], pattern[o:o+r]) {
				return fmt.Errorf("wrong bytes echoed at stream offset %d", off+int64(firstDiff(buf[:r], pattern[o:o+r])))
			}
			off += int64(r)
			read.Store(off)
			select {
			case progress <- struct{}{}:
			default:
			}
			if time.Now().Before(end) {
				counted.Add(int64(r))
			}
			if wdone && off > final {
				return fmt.Errorf("server echoed %d bytes more than were sent", off-final)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Now().Before(drainEnd) {
				if !wdone {
					select {
					case werr := <-writerDone:
						if werr != nil {
							return werr
						}
						wdone, final = true, written.Load()
					default:
					}
				}
				c.SetReadDeadline(drainEnd)
				continue
			}
			return fmt.Errorf("read after %d of %d bytes: %w", off, written.Load(), err)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

type rttResult struct {
	perSecond float64
	p50, p99  time.Duration
	total     int64 // round trips done
}

// maxSamples bounds the latencies kept per connection.
const maxSamples = 1 << 20

// roundTrips measures n connections each doing size-byte round trips
// one after the other for cfg.dur.
func roundTrips(ctx context.Context, cfg config, size, n int) (rttResult, error) {
	conns, err := dialAll(ctx, cfg.addr, n)
	if err != nil {
		return rttResult{}, err
	}
	defer closeAll(conns)
	samples := make([][]time.Duration, n)
	var total atomic.Int64
	start := time.Now()
	end := start.Add(cfg.dur)
	g, gctx := errgroup.WithContext(ctx)
	for i, c := range conns {
		g.Go(func() error {
			stop := context.AfterFunc(gctx, func() { c.SetDeadline(time.Unix(1, 0)) })
			defer stop()
			c.SetDeadline(end.Add(cfg.drain))
			out := make([]byte, size)
			in := make([]byte, size)
			copy(out, pattern)
			binary.BigEndian.PutUint32(out[4:], uint32(i))
			var seq uint32
			var local []time.Duration
			// Every connection makes at least one round trip, even if it
			// starts late on a busy machine, so that each one is checked.
			for {
				t0 := time.Now()
				if !t0.Before(end) && seq > 0 {
					break
				}
				seq++
				binary.BigEndian.PutUint32(out, seq)
				if _, err := c.Write(out); err != nil {
					return fmt.Errorf("write: %w", err)
				}
				if _, err := io.ReadFull(c, in); err != nil {
					return fmt.Errorf("read: %w", err)
				}
				d := time.Since(t0)
				if !bytes.Equal(in, out) {
					return fmt.Errorf("round trip %d came back wrong", seq)
				}
				if len(local) < maxSamples {
					local = append(local, d)
				}
			}
			samples[i] = local
			total.Add(int64(seq))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rttResult{}, err
	}
	elapsed := time.Since(start)
	all := slices.Concat(samples...)
	if len(all) == 0 {
		return rttResult{}, errors.New("no round trip completed")
	}
	slices.Sort(all)
	return rttResult{
		perSecond: float64(total.Load()) / elapsed.Seconds(),
		p50:       all[len(all)*50/100],
		p99:       all[len(all)*99/100],
		total:     total.Load(),
	}, nil
}

type holdResult struct {
	before, after int64 // server VmRSS in bytes
}

// hold opens n idle connections, waits until the server process holds
// them and its memory settles, and reads its VmRSS before and after.
func hold(ctx context.Context, cfg config, n int) (holdResult, error) {
	var h holdResult
	var fdsBefore int
	if cfg.pid > 0 {
		var err error
		if h.before, err = vmRSS(cfg.pid); err != nil {
			return h, err
		}
		if fdsBefore, err = countFDs(cfg.pid); err != nil {
			return h, err
		}
	}
	conns, err := dialAll(ctx, cfg.addr, n)
	if err != nil {
		return h, err
	}
	defer closeAll(conns)
	if cfg.touch {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(64)
		for _, c := range conns {
			g.Go(func() error {
				stop := context.AfterFunc(gctx, func() { c.SetDeadline(time.Unix(1, 0)) })
				defer stop()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				b := []byte{'x'}
				if _, err := c.Write(b); err != nil {
					return err
				}
				if _, err := io.ReadFull(c, b); err != nil {
					return err
				}
				if b[0] != 'x' {
					return errors.New("touch byte came back wrong")
				}
				return c.SetDeadline(time.Time{})
			})
		}
		if err := g.Wait(); err != nil {
			return h, fmt.Errorf("touch: %w", err)
		}
	}
	if cfg.pid <= 0 {
		return h, nil
	}
	// Wait until the server has accepted every connection (its fd count
	// has grown by n), at most 20 s.
	deadline := time.Now().Add(20 * time.Second)
	for {
		fds, err := countFDs(cfg.pid)
		if err != nil {
			return h, err
		}
		if fds-fdsBefore >= n {
			break
		}
		if time.Now().After(deadline) {
			return h, fmt.Errorf("server holds %d of %d connections after 20 s", fds-fdsBefore, n)
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
		return h, ctx.Err()
	case <-time.After(cfg.settle):
	}
	// Check that the connections are still open: a server that closed
	// them (a connection limit) would make the figure meaningless.
	for _, c := range conns[:min(len(conns), 100)] {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		var b [1]byte
		_, err := c.Read(b[:])
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return h, fmt.Errorf("server closed an idle connection: %v", err)
		}
	}
	h.after, err = vmRSS(cfg.pid)
	return h, err
}

// vmRSS reads the resident set size of process pid from /proc, in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) != 2 || f[1] != "kB" {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

func countFDs(pid int) (int, error) {
	d, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(d), err
}

type udpResult struct {
	perSecond float64
	lost      int64
	total     int64 // round trips done
}

// udpTimeout is how long a socket waits for the echo of one datagram
// before it counts it as lost.
const udpTimeout = 200 * time.Millisecond

// udpRoundTrips measures n UDP sockets each doing size-byte round trips
// one after the other for cfg.dur.
func udpRoundTrips(ctx context.Context, cfg config, size, n int) (udpResult, error) {
	raddr, err := net.ResolveUDPAddr("udp", cfg.addr)
	if err != nil {
		return udpResult{}, err
	}
	socks := make([]*net.UDPConn, n)
	for i := range socks {
		c, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			for _, s := range socks[:i] {
				s.Close()
			}
			return udpResult{}, err
		}
		socks[i] = c
	}
	defer func() {
		for _, s := range socks {
			s.Close()
		}
	}()
	var total, lost atomic.Int64
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	end := start.Add(cfg.dur)
	var wg sync.WaitGroup
	for i, c := range socks {
		wg.Go(func() {
			stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
			defer stop()
			fail := func(err error) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			out := make([]byte, size)
			in := make([]byte, size+1)
			copy(out, pattern)
			binary.BigEndian.PutUint32(out[4:], uint32(i))
			var seq uint32
			var ok, lostHere int64
			for seq == 0 || time.Now().Before(end) {
				seq++
				binary.BigEndian.PutUint32(out, seq)
				if _, err := c.Write(out); err != nil {
					if ctx.Err() != nil {
						break
					}
					fail(fmt.Errorf("write: %w", err))
					break
				}
				c.SetReadDeadline(time.Now().Add(udpTimeout))
				for {
					m, err := c.Read(in)
					if err != nil {
						var ne net.Error
						if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
							lostHere++
							break
						}
						if ctx.Err() == nil {
							fail(fmt.Errorf("read: %w", err))
						}
						goto done
					}
					if m == size && binary.BigEndian.Uint32(in) != seq {
						continue // the late echo of a datagram counted as lost
					}
					if m != size || !bytes.Equal(in[:m], out) {
						fail(fmt.Errorf("datagram %d came back wrong (%d bytes)", seq, m))
						goto done
					}
					ok++
					break
				}
			}
		done:
			total.Add(ok)
			lost.Add(lostHere)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return udpResult{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return udpResult{}, err
	}
	if total.Load() == 0 {
		return udpResult{}, errors.New("no datagram came back")
	}
	return udpResult{
		perSecond: float64(total.Load()) / time.Since(start).Seconds(),
		lost:      lost.Load(),
		total:     total.Load(),
	}, nil
}

// cpuTime returns the user and system CPU time that process pid has used,
// from /proc/PID/stat, in clock ticks of 10 ms.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis, where field 3 (state) comes first.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", pid)
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(utime+stime) * tick, nil
}
