package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/internal/admit"
)

// pollConns samples the server's open connections every 100 ms until
// stop is closed, and returns the largest count.
func pollConns(c *child, stop <-chan struct{}) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var most int64
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			var st struct{ Conns int64 }
			if c.stats(&st) == nil {
				most = max(most, st.Conns)
			}
			select {
			case <-stop:
				out <- most
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// Figures of the chat attack.
const (
	chatRegister = 3 * time.Second  // the server's RegisterTimeout, shortened
	chatAttack   = 10 * time.Second // how long the attacker keeps reconnecting
	chatWorkers  = 80               // connections the attacker tries to hold
	chatUsers    = 10
)

// holdChat: one host keeps as many connections to a chat server open as
// it can, none of them taking a nickname, each sending a bad line every
// second; meanwhile users from 127.0.0.2 join.
func holdChat(ctx context.Context, e *env, r *Result) error {
	perSource := admit.DefaultPerSource(chat.DefaultMaxConns)
	return withServer(ctx, e, r, func(c *child) error {
		addr := c.addr["tcp"]
		var mu sync.Mutex
		var lifetimes []time.Duration
		endings := map[string]int{}
		var refused, errLines atomic.Int64
		deadline := time.Now().Add(chatAttack)
		stopPoll := make(chan struct{})
		most := pollConns(c, stopPoll)

		// open connects and reads the first line: HELLO for a connection
		// the server holds a slot for.
		open := func() (net.Conn, *bufio.Reader, time.Time, bool) {
			nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return nil, nil, time.Time{}, false
			}
			connected := time.Now()
			lines := bufio.NewReader(nc)
			nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			first, err := lines.ReadString('\n')
			if err == nil && strings.HasPrefix(first, "HELLO ") {
				return nc, lines, connected, true
			}
			if strings.HasPrefix(first, "BYE "+chat.ByeFull) {
				refused.Add(1)
			} else {
				mu.Lock()
				endings[fmt.Sprintf("no HELLO (%q, %v)", strings.TrimSpace(first), err)]++
				mu.Unlock()
			}
			nc.Close()
			return nil, nil, time.Time{}, false
		}
		// hold sends a bad line every second on a held connection until
		// the server ends it.
		hold := func(nc net.Conn, lines *bufio.Reader, connected time.Time) {
			defer nc.Close()
			ended := make(chan string, 1)
			go func() {
				nc.SetReadDeadline(time.Now().Add(chatRegister + 10*time.Second))
				for {
					line, err := lines.ReadString('\n')
					switch {
					case err != nil:
						ended <- fmt.Sprintf("closed without BYE (%v)", err)
						return
					case strings.HasPrefix(line, "ERR "):
						errLines.Add(1)
					case strings.HasPrefix(line, "BYE "):
						f := strings.Fields(line)
						ended <- "BYE " + f[1]
						return
					}
				}
			}()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var end string
		drip:
			for {
				select {
				case end = <-ended:
					break drip
				case <-t.C:
					nc.Write([]byte("/nick -bad\n"))
				}
			}
			mu.Lock()
			lifetimes = append(lifetimes, time.Since(connected))
			endings[end]++
			mu.Unlock()
		}

		// All workers connect at once first: none of the connections can
		// have expired yet when they have all been answered, so the
		// number held then is exact. Then each one reconnects as soon as
		// its connection ends, until the attack's end.
		var first sync.WaitGroup
		var heldFirst atomic.Int64
		var wg sync.WaitGroup
		for range chatWorkers {
			wg.Add(1)
			first.Add(1)
			go func() {
				defer wg.Done()
				nc, lines, connected, ok := open()
				if ok {
					heldFirst.Add(1)
				}
				first.Done()
				for {
					if ok {
						hold(nc, lines, connected)
					}
					sleep(ctx, 100*time.Millisecond)
					if !time.Now().Before(deadline) || ctx.Err() != nil {
						return
					}
					nc, lines, connected, ok = open()
				}
			}()
		}
		first.Wait()

		// The users, from another address, one every 800 ms.
		cl := chat.Client{Dial: dialFrom("127.0.0.2")}
		sleep(ctx, 500*time.Millisecond)
		for i := range chatUsers {
			r.Legit++
			jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			conn, err := cl.Join(jctx, addr, fmt.Sprintf("user%d", i))
			cancel()
			if err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("user%d: %v", i, err))
			} else {
				r.LegitOK++
				qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				conn.Quit(qctx, "done")
				cancel()
				conn.Close()
			}
			sleep(ctx, 800*time.Millisecond)
		}
		wg.Wait()
		close(stopPoll)
		serverMost := <-most

		sort.Slice(lifetimes, func(i, j int) bool { return lifetimes[i] < lifetimes[j] })
		if n := heldFirst.Load(); n > int64(perSource) {
			r.Fails = append(r.Fails, fmt.Sprintf("127.0.0.1 held %d connections at once, more than MaxConnsPerSource (%d)", n, perSource))
		}
		if serverMost > int64(perSource)+1 { // the users have one connection at a time
			r.Fails = append(r.Fails, fmt.Sprintf("the server had %d connections, more than MaxConnsPerSource (%d) and one user's", serverMost, perSource))
		}
		if len(lifetimes) == 0 {
			r.Fails = append(r.Fails, "the attacker held no connection")
		} else if longest := lifetimes[len(lifetimes)-1]; longest > chatRegister+time.Second {
			r.Fails = append(r.Fails, fmt.Sprintf("an unregistered connection lasted %v, RegisterTimeout is %v", longest.Round(time.Millisecond), chatRegister))
		}
		var ends []string
		for k, v := range endings {
			ends = append(ends, fmt.Sprintf("%d %s", v, k))
			if k != "BYE "+chat.ByeTimeout {
				r.Fails = append(r.Fails, fmt.Sprintf("%d held connections ended with %s", v, k))
			}
		}
		sort.Strings(ends)
		var shortest, longest time.Duration
		if len(lifetimes) > 0 {
			shortest, longest = lifetimes[0], lifetimes[len(lifetimes)-1]
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%d connections at once from 127.0.0.1, without a nickname, a bad line every second: %d held (cap %d); reconnecting for %v: %d refused full, %d bad lines answered ERR, held ones ended: %s, after %.2f to %.2f s; server: at most %d connections (users' included)",
			chatWorkers, heldFirst.Load(), perSource, chatAttack, refused.Load(), errLines.Load(), strings.Join(ends, ", "),
			shortest.Seconds(), longest.Seconds(), serverMost))
		return nil
	}, "-register-timeout", chatRegister.String(), "chat")
}

// Figures of the echo attack.
const (
	dripConns  = 600 // more than MaxConnsPerSource (500 by default)
	dripEvery  = 3 * time.Second
	dripRounds = 4 // bytes sent on each connection, 3 s apart
	dripUsers  = 5 // connections of the legitimate client
	dripTrips  = 20
)

// dripEcho: one host opens connections to an echo server and sends one
// byte every 3 s on each; a client from 127.0.0.2 makes round trips.
func dripEcho(ctx context.Context, e *env, r *Result) error {
	perSource := admit.DefaultPerSource(echo.DefaultMaxConns)
	return withServer(ctx, e, r, func(c *child) error {
		addr := c.addr["tcp"]
		stopPoll := make(chan struct{})
		most := pollConns(c, stopPoll)
		conns := make([]net.Conn, dripConns)
		var dialErrs atomic.Int64
		parallel(dripConns, 32, func(i int) {
			nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				dialErrs.Add(1)
				return
			}
			conns[i] = nc
		})
		defer func() {
			for _, nc := range conns {
				if nc != nil {
					nc.Close()
				}
			}
		}()

		// The legitimate client, while the drip goes on.
		type tally struct{ ok, all int }
		legit := make(chan tally, 1)
		go func() {
			var t tally
			cl := echo.Client{Dial: dialFrom("127.0.0.2")}
			for u := range dripUsers {
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				conn, err := cl.Connect(cctx, "tcp", addr)
				cancel()
				for i := range dripTrips {
					t.all++
					if err != nil {
						continue
					}
					ectx, cancel := context.WithTimeout(ctx, 5*time.Second)
					_, eerr := conn.Echo(ectx, fmt.Appendf(nil, "user %d, round trip %d", u, i))
					cancel()
					if eerr == nil {
						t.ok++
					}
					sleep(ctx, dripEvery*dripRounds/(dripUsers*dripTrips))
				}
				if conn != nil {
					conn.Close()
				}
			}
			legit <- t
		}()

		// The drip: a byte on every connection still open, every 3 s;
		// one that does not echo it is closed (the server refused it).
		open := make([]bool, dripConns)
		for i, nc := range conns {
			open[i] = nc != nil
		}
		var openAfter []int
		buf := make([]byte, 1)
		for round := range dripRounds {
			if round > 0 {
				sleep(ctx, dripEvery)
			}
			for i, nc := range conns {
				if open[i] {
					nc.SetWriteDeadline(time.Now().Add(time.Second))
					if _, err := nc.Write([]byte{'d'}); err != nil {
						open[i] = false
					}
				}
			}
			n := 0
			for i, nc := range conns {
				if !open[i] {
					continue
				}
				nc.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := nc.Read(buf); err != nil {
					open[i] = false
					continue
				}
				n++
			}
			openAfter = append(openAfter, n)
		}
		t := <-legit
		close(stopPoll)
		serverMost := <-most
		r.Legit, r.LegitOK = t.all, t.ok
		held := openAfter[len(openAfter)-1]
		if held > perSource || serverMost > int64(perSource+dripUsers) {
			r.Fails = append(r.Fails, fmt.Sprintf("127.0.0.1 held %d connections (the server had %d), more than MaxConnsPerSource (%d)", held, serverMost, perSource))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%d connections from 127.0.0.1 (%d failed to connect), a byte every %v on each: %s still echoing after each round (cap %d); server: at most %d connections",
			dripConns, dialErrs.Load(), dripEvery, strings.Trim(fmt.Sprint(openAfter), "[]"), perSource, serverMost))
		return nil
	}, "echo")
}
