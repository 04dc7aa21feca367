package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/udpcolor"
)

// joinRaw runs the cookie exchange for name on c, a socket of the
// attacker's, and returns the welcome or the code of the error that
// refused it ("" and an error when nothing came back).
func joinRaw(ctx context.Context, c *net.UDPConn, server netip.AddrPort, name string) (code string, err error) {
	buf := make([]byte, udpcolor.MaxDatagram+1)
	step := func(p udpcolor.Packet, want udpcolor.Kind) (udpcolor.Packet, error) {
		out, err := p.Append(nil)
		if err != nil {
			return udpcolor.Packet{}, err
		}
		for range 4 {
			if ctx.Err() != nil {
				return udpcolor.Packet{}, ctx.Err()
			}
			if _, err := c.WriteToUDPAddrPort(out, server); err != nil {
				return udpcolor.Packet{}, err
			}
			c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
			for {
				n, err := c.Read(buf)
				if err != nil {
					break // next attempt
				}
				q, err := udpcolor.Parse(buf[:n])
				if err != nil {
					continue
				}
				if q.Kind == want || q.Kind == udpcolor.KindError {
					return q, nil
				}
			}
		}
		return udpcolor.Packet{}, errors.New("no answer")
	}
	p, err := step(udpcolor.Packet{Kind: udpcolor.KindJoin, Name: name}, udpcolor.KindCookie)
	if err == nil && p.Kind == udpcolor.KindCookie {
		p, err = step(udpcolor.Packet{Kind: udpcolor.KindJoin, Name: name, Cookie: p.Cookie}, udpcolor.KindWelcome)
	}
	switch {
	case err != nil:
		return "", err
	case p.Kind == udpcolor.KindError:
		return p.Code, nil
	}
	return "welcome", nil
}

// fillUDPColor: one host joins from 1,024 ports. The server runs with its
// rate limit off, so that the share of the member table per address is
// all that stands in the way.
func fillUDPColor(ctx context.Context, e *env, r *Result) error {
	return withServer(ctx, e, r, func(c *child) error {
		server, err := addrPort(c, "udp")
		if err != nil {
			return err
		}
		const ports = 1024
		var mu sync.Mutex
		codes := map[string]int{}
		var socks []*net.UDPConn
		defer func() {
			for _, s := range socks {
				s.Close()
			}
		}()
		for range ports {
			s, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			if err != nil {
				return err
			}
			socks = append(socks, s)
		}
		parallel(ports, 64, func(i int) {
			code, err := joinRaw(ctx, socks[i], server, fmt.Sprintf("flood-%d", i))
			if err != nil {
				code = "no answer"
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})

		// The room as full as that host can make it: real users from
		// another address join.
		const users = 3
		var conns []*udpcolor.Conn
		cl := udpcolor.Client{Dial: dialFrom("127.0.0.2"), KeepAlive: -1}
		for i := range users {
			jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := cl.Join(jctx, server.String(), fmt.Sprintf("user-%d", i))
			cancel()
			r.Legit++
			if err != nil {
				r.Notes = append(r.Notes, fmt.Sprintf("user-%d from 127.0.0.2: %v", i, err))
				continue
			}
			r.LegitOK++
			conns = append(conns, m)
		}
		var st udpcolor.Stats
		err = c.stats(&st)
		for _, m := range conns {
			m.Close()
		}
		if err != nil {
			return err
		}
		held := codes["welcome"]
		if held > udpcolor.DefaultMaxMembersPerAddr {
			r.Fails = append(r.Fails, fmt.Sprintf("127.0.0.1 holds %d places, more than MaxMembersPerAddr (%d)", held, udpcolor.DefaultMaxMembersPerAddr))
		}
		if want := int64(held + r.LegitOK); st.Conns != want {
			r.Fails = append(r.Fails, fmt.Sprintf("the server has %d members, want %d", st.Conns, want))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%d ports of 127.0.0.1 joined: %d welcomed (cap %d), %d %s, %d other; server: %d members, %d refused address-full",
			ports, held, udpcolor.DefaultMaxMembersPerAddr, codes[udpcolor.CodeAddrFull], udpcolor.CodeAddrFull,
			ports-held-codes[udpcolor.CodeAddrFull], st.Conns, st.Dropped.SourceFull))
		return nil
	}, "-rate", "-1", "udpcolor")
}

// tapConn records the last datagram a client sent, as an eavesdropper
// would, so that it can be replayed.
type tapConn struct {
	net.Conn
	mu   sync.Mutex
	last []byte
}

func (t *tapConn) Write(b []byte) (int, error) {
	t.mu.Lock()
	t.last = append(t.last[:0], b...)
	t.mu.Unlock()
	return t.Conn.Write(b)
}

func (t *tapConn) lastSent() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.last...)
}

// randomMAC returns a well-formed MAC that is almost surely wrong.
func randomMAC() string {
	var b [udpcolor.MACSize]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// spoofUDPColor: alice and bob are members; datagrams spoofed from
// alice's address and port try to speak, leave and ping in her name, and
// replay what she sent. Meanwhile alice talks to bob.
func spoofUDPColor(ctx context.Context, e *env, r *Result) error {
	return withServer(ctx, e, r, func(c *child) error {
		server, err := addrPort(c, "udp")
		if err != nil {
			return err
		}
		var tap *tapConn
		cl := udpcolor.Client{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			tap = &tapConn{Conn: nc}
			return tap, nil
		}}
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		alice, err := cl.Join(jctx, server.String(), "alice")
		if err != nil {
			return err
		}
		defer alice.Close()
		from := tap.Conn.LocalAddr().(*net.UDPAddr).AddrPort()
		bob, err := (&udpcolor.Client{}).Join(jctx, server.String(), "bob")
		if err != nil {
			return err
		}
		defer bob.Close()

		// bob keeps every relay he gets.
		var got []udpcolor.Message
		gotDone := make(chan struct{})
		stopBob := make(chan struct{})
		go func() {
			defer close(gotDone)
			for {
				select {
				case m, ok := <-bob.Messages():
					if !ok {
						return
					}
					got = append(got, m)
				case <-stopBob:
					return
				}
			}
		}()

		// alice's own messages, one every 25 ms while the spoofing goes on.
		const real = 40
		talkDone := make(chan error, 1)
		go func() {
			for i := range real {
				if err := alice.Send(ctx, fmt.Sprintf("real %d", i)); err != nil {
					talkDone <- err
					return
				}
				sleep(ctx, 25*time.Millisecond)
			}
			talkDone <- nil
		}()

		sleep(ctx, 100*time.Millisecond) // a datagram of alice's to replay
		guessed, _ := udpcolor.Key{}.Sign(udpcolor.Packet{Kind: udpcolor.KindMsg, Seq: 1 << 32, Text: "alice (a guessed key)"}).Append(nil)
		var badMACs, replays, unsigned int
		var spoofed [][]byte
		for i := range 300 {
			spoofed = append(spoofed, fmt.Appendf(nil, "msg %d %s spoofed %d", 1000+i, randomMAC(), i))
		}
		for i := range 100 {
			spoofed = append(spoofed, fmt.Appendf(nil, "leave %d %s", 2000+i, randomMAC()))
			spoofed = append(spoofed, fmt.Appendf(nil, "ping %d %s", 3000+i, randomMAC()))
		}
		spoofed = append(spoofed, guessed)
		badMACs = len(spoofed)
		for range 10 { // version 1's unsigned datagrams
			spoofed = append(spoofed, []byte("msg spoofed, version 1"), []byte("leave"))
			unsigned += 2
		}
		// Joins in alice's name: under another name, which would take her
		// place, with a made-up cookie.
		var joins int
		for i := range 20 {
			b, _ := udpcolor.Packet{Kind: udpcolor.KindJoin, Name: fmt.Sprintf("mallory%d", i), Cookie: base64.RawURLEncoding.EncodeToString(make([]byte, 20))}.Append(nil)
			spoofed = append(spoofed, b)
			joins++
		}
		captured := tap.lastSent()
		for range 50 {
			spoofed = append(spoofed, captured)
			replays++
		}
		var before udpcolor.Stats
		if err := c.stats(&before); err != nil {
			return err
		}
		if _, err := pace(ctx, len(spoofed), 4000, func(i int) error { return e.spoof.send(from, server, spoofed[i]) }); err != nil {
			return err
		}
		if err := <-talkDone; err != nil {
			return fmt.Errorf("alice: %w", err)
		}
		// Wait until the server has seen them all, or 3 s.
		var st udpcolor.Stats
		for giveUp := time.Now().Add(3 * time.Second); ; {
			if err := c.stats(&st); err != nil {
				return err
			}
			if st.BadMACs-before.BadMACs >= int64(badMACs) && st.Replays-before.Replays >= int64(replays) || time.Now().After(giveUp) {
				break
			}
			sleep(ctx, 20*time.Millisecond)
		}
		// alice says a last word: bob must get it, after everything else.
		alice.Send(ctx, "last")
		for giveUp := time.Now().Add(2 * time.Second); time.Now().Before(giveUp); {
			if st.Requests >= real+1 {
				break
			}
			sleep(ctx, 20*time.Millisecond)
			if err := c.stats(&st); err != nil {
				return err
			}
		}
		sleep(ctx, 100*time.Millisecond)
		close(stopBob)
		<-gotDone

		received, foreign := 0, 0
		for _, m := range got {
			switch {
			case m.Name == "alice" && (strings.HasPrefix(m.Text, "real ") || m.Text == "last"):
				received++
			default:
				foreign++
				if foreign <= 3 {
					r.Fails = append(r.Fails, fmt.Sprintf("bob got a spoofed message: %s : %s", m.Name, m.Text))
				}
			}
		}
		r.Legit, r.LegitOK = real+1, received
		if foreign > 0 {
			r.Fails = append(r.Fails, fmt.Sprintf("%d spoofed messages relayed", foreign))
		}
		if st.Conns != 2 || st.Left != 0 || alice.Err() != nil {
			r.Fails = append(r.Fails, fmt.Sprintf("alice is no longer a member: members %d, left %d, her session: %v", st.Conns, st.Left, alice.Err()))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%d datagrams spoofed from alice's address and port (%d with a wrong MAC, %d replays of hers, %d unsigned, %d joins with a made-up cookie) while she sent %d messages: %d spoofed ones relayed to bob (want 0); server: %d bad MACs, %d replays, %d bad cookies, %d messages relayed in all",
			len(spoofed), badMACs, replays, unsigned, joins, real+1, foreign, st.BadMACs-before.BadMACs, st.Replays-before.Replays, st.BadCookies-before.BadCookies, st.Requests))
		return nil
	}, "udpcolor")
}

// hangupUDPColor: examples/udpcolor join runs as a child, on pipes; it
// gets SIGHUP (its terminal closed), and its name must be free at once.
func hangupUDPColor(ctx context.Context, e *env, r *Result) error {
	if e.udpcolorBin == "" {
		r.Skip = "no -udpcolor-bin (bench/attack.sh builds examples/udpcolor)"
		return nil
	}
	return withServer(ctx, e, r, func(c *child) error {
		server, err := addrPort(c, "udp")
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, e.udpcolorBin, "join", "-addr", server.String(), "-name", "carol", "-color", "never")
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		defer stdin.Close()
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		out := &tailBuffer{max: 4096}
		cmd.Stdout = out
		if err := cmd.Start(); err != nil {
			return err
		}
		exited := make(chan error, 1)
		joined := make(chan bool, 1)
		go func() {
			sc := bufio.NewScanner(stderr)
			ok := false
			for sc.Scan() {
				out.Write([]byte(sc.Text() + "\n"))
				if !ok && strings.Contains(sc.Text(), "joined") {
					ok = true
					joined <- true
				}
			}
			if !ok {
				joined <- false
			}
			exited <- cmd.Wait()
		}()
		select {
		case ok := <-joined:
			if !ok {
				return fmt.Errorf("udpcolor join did not join: %s", out)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			return fmt.Errorf("udpcolor join did not join within 15 s: %s", out)
		}
		var st udpcolor.Stats
		if err := c.stats(&st); err != nil {
			return err
		}
		if st.Conns != 1 {
			return fmt.Errorf("the server has %d members after carol joined", st.Conns)
		}
		start := time.Now()
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			return err
		}
		freed := time.Duration(-1)
		for time.Since(start) < 3*time.Second {
			if err := c.stats(&st); err != nil {
				return err
			}
			if st.Conns == 0 {
				freed = time.Since(start)
				break
			}
			sleep(ctx, 5*time.Millisecond)
		}
		var exitErr error
		select {
		case exitErr = <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			exitErr = errors.New("still running 10 s after SIGHUP; killed")
		}
		after := time.Since(start)
		// The same name at once, from another socket.
		r.Legit++
		jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		m, err := (&udpcolor.Client{}).Join(jctx, server.String(), "carol")
		cancel()
		if err == nil {
			r.LegitOK++
			m.Close()
		} else {
			r.Notes = append(r.Notes, "joining as carol again: "+err.Error())
		}
		switch {
		case freed < 0:
			r.Fails = append(r.Fails, "carol was still a member 3 s after SIGHUP")
		case freed > time.Second:
			r.Fails = append(r.Fails, fmt.Sprintf("carol's name was freed only %v after SIGHUP", freed.Round(time.Millisecond)))
		}
		if exitErr != nil {
			r.Fails = append(r.Fails, fmt.Sprintf("udpcolor join after SIGHUP: %v", exitErr))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("SIGHUP to udpcolor join: name freed after %v (left %d), process exited after %v; carol joined again from a new socket",
			freed.Round(time.Millisecond), st.Left, after.Round(time.Millisecond)))
		return nil
	}, "udpcolor")
}
