package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/bench/internal/load"
)

// holdRoomSize is how many held clients share a room: rooms of a
// hundred, so that the JOIN lines of a room's members fit in each
// member's socket buffer until they are read.
const holdRoomSize = 100

// fileMargin is the files a process needs besides its connections:
// standard files, listeners, pollers, pipes to the server, the binary.
const fileMargin = 64

// checkFiles makes sure that this process, and the server it starts
// (which inherits its limit), may open a file for every connection of
// the largest point: with -hold, the limit of open files is raised to
// its hard limit, and a point that needs more fails here, with the
// figures, rather than hanging or failing in the middle.
func checkFiles(cfg config) error {
	if cfg.hold == 0 {
		return nil
	}
	limit, hard := raiseNoFile()
	if hard <= 0 {
		return nil // no limit to read here
	}
	most := 0
	for _, p := range cfg.points {
		most = max(most, p.N)
	}
	ends := 1
	if cfg.inproc {
		ends = 2 // both ends of every connection in one process
	}
	total := cfg.hold + most
	if need := ends*total + fileMargin; need > limit {
		return fmt.Errorf("hold: %d clients need %d files, hard limit is %d; use -hold %d or less", total, need, hard, max(0, (limit-fileMargin)/ends-most))
	}
	return nil
}

// sourceAddr returns the source address of held client i: 127.0.0.2 for
// the first perSource clients, 127.0.0.3 for the next, and so on (all of
// 127/8 is loopback on Linux), each with its own range of ephemeral ports.
func sourceAddr(i, perSource int) (*net.TCPAddr, error) {
	k := 2 + i/perSource
	if k > 254*254 {
		return nil, errors.New("hold: out of 127.0.x.y source addresses")
	}
	ip := netip.AddrFrom4([4]byte{127, 0, byte(k / 254), byte(k%254 + 1)})
	if k < 254 {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, byte(k)})
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)), nil
}

// holdIdle connects cfg.hold plain clients from several source
// addresses (see sourceAddr), each of which takes a nickname and joins
// its room, hold0, hold1, ... of holdRoomSize members; reads what the
// server sent them; and then leaves them idle, with no goroutine here.
// It prints the server's memory and goroutines per idle client, and
// returns the clients, for the caller to hang up (see hangUp).
func holdIdle(ctx context.Context, cfg config, srv *server, out io.Writer) ([]*client, error) {
	n := cfg.hold
	name := fmt.Sprintf("chat/hold/n%d", n)
	m0, err := srv.mem(false)
	if err != nil {
		return nil, err
	}
	s0, err := srv.mem(true)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	clients, err := load.Dial(n, func(i int) (*client, error) {
		src, err := sourceAddr(i, cfg.perSource)
		if err != nil {
			return nil, err
		}
		return joinIdle(ctx, srv.addrs[i%len(srv.addrs)], src, fmt.Sprintf("h%d", i), fmt.Sprintf("hold%d", i/holdRoomSize))
	}, hangUp)
	if err != nil {
		if strings.Contains(err.Error(), "too many open files") {
			return nil, fmt.Errorf("hold: %d clients: out of files (see ulimit -n): %w", n, errors.Unwrap(err))
		}
		return nil, fmt.Errorf("hold: %w", err)
	}
	tJoined := time.Since(t0)
	// The JOIN lines of those who came after each client are still
	// unread: read them, so that nothing waits anywhere.
	if lost := drain(clients); lost > 0 {
		return clients, fmt.Errorf("hold: %d of %d idle clients were disconnected while joining", lost, n)
	}
	for _, cl := range clients {
		cl.buf = nil
	}
	time.Sleep(500 * time.Millisecond) // the last writers end and their sessions park
	m1, err := srv.mem(false)
	if err != nil {
		return clients, err
	}
	s1, err := srv.mem(true)
	if err != nil {
		return clients, err
	}
	per := func(a, b int64) float64 { return float64(b-a) / 1024 / float64(n) }
	limit, _ := raiseNoFile()
	fmt.Fprintf(out, "%s/join_time %.2f s\n", name, tJoined.Seconds())
	fmt.Fprintf(out, "%s/sources %d addresses\n", name, (n+cfg.perSource-1)/cfg.perSource)
	fmt.Fprintf(out, "%s/rooms %d rooms\n", name, (n+holdRoomSize-1)/holdRoomSize)
	fmt.Fprintf(out, "%s/files_limit %d files\n", name, limit)
	fmt.Fprintf(out, "%s/mem_rss %.2f KiB/client\n", name, per(m0.rss, m1.rss))
	fmt.Fprintf(out, "%s/mem_rss_scavenged %.2f KiB/client\n", name, per(s0.rss, s1.rss))
	fmt.Fprintf(out, "%s/mem_go %.2f KiB/client\n", name, per(m0.goMem, m1.goMem))
	fmt.Fprintf(out, "%s/server_rss %.1f MiB\n", name, float64(m1.rss)/(1<<20))
	fmt.Fprintf(out, "%s/server_goroutines %d goroutines\n", name, m1.goroutines)
	fmt.Fprintf(out, "%s/goroutines %.3f /client\n", name, float64(m1.goroutines-m0.goroutines)/float64(n))
	fmt.Fprintf(out, "%s/conns %d conns\n", name, m1.conns)
	fmt.Fprintf(out, "%s/parked %d sessions\n", name, m1.parked)
	return clients, nil
}

// joinIdle connects from src, takes nick and moves to room; its read
// buffer is small, and freed once the client is idle.
func joinIdle(ctx context.Context, addr string, src *net.TCPAddr, nick, room string) (*client, error) {
	c, err := dialer(false, src).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cl := &client{nick: nick, c: c, buf: make([]byte, 4<<10)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "/nick %s\n/join %s\n", nick, room); err != nil {
		hangUp(cl)
		return nil, err
	}
	want := "JOIN " + room + " " + nick
	for {
		l, err := cl.readLine()
		if err != nil {
			hangUp(cl)
			return nil, fmt.Errorf("%s joining %s: %w", nick, room, err)
		}
		if l == want {
			return cl, nil
		}
		if strings.HasPrefix(l, "ERR ") || strings.HasPrefix(l, "BYE ") {
			hangUp(cl)
			return nil, fmt.Errorf("%s joining %s: %s", nick, room, l)
		}
	}
}

// drain reads what has arrived for each client, without waiting for
// more, 50 at a time, and returns how many have been disconnected.
func drain(clients []*client) int {
	var lost atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	for _, cl := range clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if !readWhatCame(cl) {
				lost.Add(1)
			}
		})
	}
	wg.Wait()
	return int(lost.Load())
}

// readWhatCame reads cl until nothing more comes for a few milliseconds
// and reports whether it is still connected (no end, no BYE).
func readWhatCame(cl *client) bool {
	buf := cl.buf
	if buf == nil {
		buf = make([]byte, 4<<10)
	}
	defer cl.c.SetReadDeadline(time.Time{})
	for {
		cl.c.SetReadDeadline(time.Now().Add(3 * time.Millisecond))
		n, err := cl.c.Read(buf)
		if strings.Contains(string(buf[:n]), "BYE ") {
			return false
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return true
		}
		if err != nil {
			return false
		}
	}
}

// stillHeld returns how many held clients are still connected.
func stillHeld(clients []*client) int {
	return len(clients) - drain(clients)
}

// hangUp closes a held client at once, with a reset rather than a
// FIN: its port is free again at once, with no TIME_WAIT, so that the
// next point can hold as many from the same addresses.
func hangUp(cl *client) {
	if tc, ok := cl.c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	cl.c.Close()
}
