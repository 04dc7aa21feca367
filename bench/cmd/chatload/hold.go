package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// prepareHold sets the server's MaxConns and the limit of open files for
// the hold and the largest point.
func prepareHold(cfg *config) error {
	most := 0
	for _, p := range cfg.points {
		most = max(most, p.n)
	}
	cfg.maxConns = cfg.hold + most + 100
	// Each of the two processes holds a descriptor per client, and a few
	// of its own.
	return raiseOpenFiles(cfg.hold + most + 64)
}

// measureHold measures the hold alone, on a server of its own.
func measureHold(ctx context.Context, cfg config, out io.Writer) error {
	srv, err := startServer(ctx, cfg)
	if err != nil {
		return err
	}
	defer srv.close()
	held, err := holdOn(ctx, cfg, srv, out)
	dropAll(held)
	return err
}

// holdOn connects the hold to srv, prints its figures, and returns its
// connections.
func holdOn(ctx context.Context, cfg config, srv *server, out io.Writer) ([]net.Conn, error) {
	name := fmt.Sprintf("chat/hold%d", cfg.hold)
	g0, r0, _, err := srv.mem()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	conns, err := hold(ctx, srv.addr, cfg.hold, cfg.holdRoom)
	if err != nil {
		return nil, err
	}
	tJoined := time.Since(t0)
	// Let the last lines of the joins go out and their writers end.
	sleep(ctx, 500*time.Millisecond)
	g1, r1, goroutines, err := srv.mem()
	if err != nil {
		dropAll(conns)
		return nil, err
	}
	fmt.Fprintf(out, "%s/join_time %.2f s\n", name, tJoined.Seconds())
	fmt.Fprintf(out, "%s/mem_rss %.2f KiB/client\n", name, float64(r1-r0)/1024/float64(cfg.hold))
	fmt.Fprintf(out, "%s/mem_go %.2f KiB/client\n", name, float64(g1-g0)/1024/float64(cfg.hold))
	fmt.Fprintf(out, "%s/goroutines %d goroutines\n", name, goroutines)
	return conns, nil
}

// The hold: -hold N idle clients, connected to a point's server before
// the point's own clients and kept connected through it, each with a
// nickname and in one of several rooms of -hold-room members, sending and
// reading nothing. Their figures, one line each, are
//
//	chat/holdN/join_time    seconds to connect them all
//	chat/holdN/mem_rss      server RSS growth per idle client, KiB
//	chat/holdN/mem_go       server Go heap + stacks growth per idle client, KiB
//	chat/holdN/goroutines   the server's goroutines with them connected
//
// and the points measured while they are connected are named
// chat/nN/rR/holdH/... The clients come from several loopback source
// addresses, 127.0.0.2 and up (one per holdPerSource), so that they are
// not bounded by the ephemeral port range of one address.

// holdPerSource is how many hold clients share one source address: well
// under the 28,232 ephemeral ports of Linux's default range.
const holdPerSource = 20000

// holdJoiners is how many hold clients connect at once. They pass through
// the lobby on their way to their rooms, so every joiner sees the others
// come and go; more at once fill the lobby for nothing.
const holdJoiners = 64

// holdSource returns the source address of hold client i.
func holdSource(i int) net.IP {
	k := 2 + i/holdPerSource
	return net.IPv4(127, 0, byte(k>>8), byte(k))
}

// hold connects n idle clients to addr, in rooms of roomSize, and returns
// their connections.
func hold(ctx context.Context, addr string, n, roomSize int) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range min(holdJoiners, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 4<<10)
			for i := range next {
				c, err := holdOne(ctx, addr, holdSource(i), fmt.Sprintf("h%d", i), fmt.Sprintf("hold%d", i/roomSize), buf)
				mu.Lock()
				if err != nil {
					firstErr = cmp(firstErr, err)
				}
				conns[i] = c
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		dropAll(conns)
		return nil, firstErr
	}
	return conns, nil
}

// holdOne connects one hold client from src, takes nick, moves to room,
// and returns once the server has said so. buf is the joiner's to reuse:
// the client reads nothing once it is in.
func holdOne(ctx context.Context, addr string, src net.IP, nick, room string, buf []byte) (net.Conn, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Control: bindAddressNoPort}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hold client %s: %w", nick, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "/nick "+nick+"\n/join "+room+"\n"); err != nil {
		c.Close()
		return nil, fmt.Errorf("hold client %s: %w", nick, err)
	}
	cl := &client{nick: nick, c: c, buf: buf}
	want := "JOIN " + room + " " + nick
	for {
		l, err := cl.readLine()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("hold client %s joining: %w", nick, err)
		}
		if l == want {
			break
		}
		if len(l) > 4 && (l[:4] == "ERR " || l[:4] == "BYE ") {
			c.Close()
			return nil, fmt.Errorf("hold client %s joining: %s", nick, l)
		}
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// dropAll closes conns with a reset, so that the load tool's side leaves
// no TIME_WAIT behind: the next run needs the same source ports.
func dropAll(conns []net.Conn) {
	for _, c := range conns {
		if c == nil {
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.Close()
	}
}
