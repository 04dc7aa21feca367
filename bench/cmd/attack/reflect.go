package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/timesync"
	"github.com/sockkit/sockkit/udpcolor"
)

// A reflection attack sends requests to a UDP server with the source
// address of a victim, so that the server's answers flood the victim.
// The attacker first probes the server from addresses of its own (which
// the server has no more reason to trust than the victim's) with every
// candidate request, keeps the one whose answer is largest for its size,
// then floods the server with it in the victim's name. The victim is a
// socket on 127.0.0.3 that counts what it receives.

// Figures of a reflection flood.
const (
	reflectMax   = 2000    // spoofed requests at most
	reflectBytes = 4 << 20 // spoofed bytes at most, on the wire
	reflectRate  = 4000    // spoofed requests per second
	victimIP     = "127.0.0.3"
)

// candidate is a request an attacker may send.
type candidate struct {
	label   string
	payload []byte
}

// repeat returns candidates of s repeated each of ns times.
func repeat(label, s string, ns ...int) []candidate {
	var cs []candidate
	for _, n := range ns {
		cs = append(cs, candidate{fmt.Sprintf("%s x%d", label, n), []byte(strings.Repeat(s, n))})
	}
	return cs
}

// probeAddr is the source address of the i-th probe: 127.0.1.1 onwards.
func probeAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 0, byte(1 + i/250), byte(1 + i%250)})
}

// probe sends each candidate once from an address of its own and returns
// the size of each answer, -1 for none.
func probe(ctx context.Context, server netip.AddrPort, cs []candidate) ([]int, error) {
	sizes := make([]int, len(cs))
	errs := make([]error, len(cs))
	parallel(len(cs), 16, func(i int) {
		sizes[i] = -1
		if ctx.Err() != nil {
			return
		}
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(probeAddr(i), 0)))
		if err != nil {
			errs[i] = err
			return
		}
		defer c.Close()
		if _, err := c.WriteToUDPAddrPort(cs[i].payload, server); err != nil {
			errs[i] = fmt.Errorf("%s: %w", cs[i].label, err)
			return
		}
		buf := make([]byte, 1<<16)
		c.SetReadDeadline(time.Now().Add(250 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			sizes[i] = n
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sizes, ctx.Err()
}

// victim is a socket that counts the datagrams it receives.
type victim struct {
	c      *net.UDPConn
	count  atomic.Int64
	bytes  atomic.Int64
	maxLen atomic.Int64
	last   atomic.Int64 // UnixNano of the last datagram
	done   chan struct{}
}

func newVictim() (*victim, error) {
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(victimIP), 0)))
	if err != nil {
		return nil, err
	}
	if rc, err := c.SyscallConn(); err == nil {
		raiseReadBuffer(rc, 64<<20)
	}
	v := &victim{c: c, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		buf := make([]byte, 1<<16)
		for {
			n, err := c.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue // an ICMP error, say
			}
			v.count.Add(1)
			v.bytes.Add(int64(n))
			if int64(n) > v.maxLen.Load() {
				v.maxLen.Store(int64(n))
			}
			v.last.Store(time.Now().UnixNano())
		}
	}()
	return v, nil
}

func (v *victim) addr() netip.AddrPort { return v.c.LocalAddr().(*net.UDPAddr).AddrPort() }

// settle waits until nothing has arrived for 200 ms (at most 3 s), then
// stops counting.
func (v *victim) settle(since time.Time) {
	giveUp := time.Now().Add(3 * time.Second)
	for time.Now().Before(giveUp) {
		last := max(v.last.Load(), since.UnixNano())
		if time.Since(time.Unix(0, last)) > 200*time.Millisecond {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	v.c.Close()
	<-v.done
}

// counters is the part of every server's Stats that a reflection reads.
type counters struct {
	Requests int64
	BytesOut int64
}

// reflectOff runs a reflection attack against the UDP server of c with
// the candidate requests cs.
func reflectOff(ctx context.Context, e *env, r *Result, c *child, cs []candidate) error {
	r.LegitTarget = 0 // no legitimate client: the victim is the one to protect
	server, err := addrPort(c, "udp")
	if err != nil {
		return err
	}
	sizes, err := probe(ctx, server, cs)
	if err != nil {
		return err
	}
	best, answered := -1, 0
	var bestWire Wire
	for i, n := range sizes {
		if n < 0 {
			continue
		}
		answered++
		var w Wire
		addWire(&w.In, 1, len(cs[i].payload))
		addWire(&w.Out, 1, n)
		if !w.OK() {
			r.Fails = append(r.Fails, fmt.Sprintf("request %s (%d B) got %d B back: %.2fx on the wire", cs[i].label, len(cs[i].payload), n, w.Ratio()))
		}
		if best < 0 || w.Out*bestWire.In > bestWire.Out*w.In {
			best, bestWire = i, w
		}
	}
	if best < 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("none of %d candidate requests was answered", len(cs)))
		best = 0
	} else {
		r.Notes = append(r.Notes, fmt.Sprintf("probed %d requests, %d answered; largest answer for its size: %s, %d B -> %d B (%.2fx on the wire)",
			len(cs), answered, cs[best].label, len(cs[best].payload), sizes[best], bestWire.Ratio()))
	}

	v, err := newVictim()
	if err != nil {
		return err
	}
	var before, after counters
	if err := c.stats(&before); err != nil {
		v.c.Close()
		return err
	}
	req := cs[best].payload
	n := min(reflectMax, reflectBytes/(len(req)+admit.Overhead))
	dropsBefore := rcvbufErrors()
	start := time.Now()
	sent, err := pace(ctx, n, reflectRate, func(int) error { return e.spoof.send(v.addr(), server, req) })
	v.settle(time.Now())
	if err != nil {
		return err
	}
	if err := c.stats(&after); err != nil {
		return err
	}
	elapsed := time.Since(start)
	w := &Wire{}
	addWire(&w.In, sent, len(req))
	got, gotBytes := v.count.Load(), v.bytes.Load()
	w.Out = gotBytes + got*admit.Overhead
	// The server's own count of the bytes it sent, in case the victim
	// missed some: the larger of the two counts.
	if serverBytes := after.BytesOut - before.BytesOut; serverBytes > gotBytes {
		answers := after.Requests - before.Requests
		if sizes[best] > 0 {
			answers = max(answers, (serverBytes+int64(sizes[best])-1)/int64(sizes[best]))
		}
		w.Out = serverBytes + answers*admit.Overhead
		r.Notes = append(r.Notes, fmt.Sprintf("the victim counted %d B of the %d B the server sent (%d datagrams dropped for full receive buffers, machine-wide): the server's count is used",
			gotBytes, serverBytes, rcvbufErrors()-dropsBefore))
	}
	r.Reflect = w
	r.Notes = append(r.Notes, fmt.Sprintf("flood in %s's name: %d requests (%d B on the wire) in %.1f s, the victim got %d datagrams (%d B on the wire, largest %d B)",
		v.addr(), sent, w.In, elapsed.Seconds(), got, gotBytes+got*admit.Overhead, v.maxLen.Load()))
	return nil
}

// reflectEcho reflects off echo's UDP side, with the transform of the
// server process's -echo flag.
func reflectEcho(transform string) func(ctx context.Context, e *env, r *Result) error {
	var cs []candidate
	switch transform {
	case "upper":
		// U+0390 (2 bytes) is three letters in upper case (6 bytes).
		cs = append(cs, repeat("U+0390", "\u0390", 1, 16, 256, 4096)...)
		cs = append(cs, repeat("U+00DF", "ß", 1, 4096)...)
		cs = append(cs, repeat("U+0149", "\u0149", 1, 4096)...)
		cs = append(cs, repeat("x", "x", 1, 64, 8192)...)
	case "hello":
		cs = append(cs, repeat("a", "a", 1, 2, 8, 64, 65, 1000)...)
		cs = append(cs, candidate{"spaces around a", []byte("  a\n")})
	default:
		cs = append(cs, repeat("x", "x", 1, 16, 64, 512, 1472, 8192, 8193)...)
	}
	return func(ctx context.Context, e *env, r *Result) error {
		args := []string{"echo"}
		if transform != "" {
			args = []string{"-echo", transform, "echo"}
		}
		return withServer(ctx, e, r, func(c *child) error { return reflectOff(ctx, e, r, c, cs) }, args...)
	}
}

// reflectTimesync reflects off timesync: NTP requests and the format
// service, with formats of every expanding conversion, repeated.
func reflectTimesync(ctx context.Context, e *env, r *Result) error {
	ntp, err := (&timesync.Packet{Version: 4, Mode: timesync.ModeClient, Transmit: timesync.Timestamp(0x1234567890abcdef)}).AppendBinary(nil)
	if err != nil {
		return err
	}
	cs := []candidate{{"NTP request", ntp}}
	for _, verb := range "cAaBbZzsFTDrNjpY%n" {
		cs = append(cs, repeat("%"+string(verb), "%"+string(verb), 1, 2, 3, 4, 8, 32, 200)...)
	}
	return withServer(ctx, e, r, func(c *child) error { return reflectOff(ctx, e, r, c, cs) }, "timesync")
}

// reflectUDPColor reflects off udpcolor with joins and the other client
// verbs, as a stranger sends them.
func reflectUDPColor(ctx context.Context, e *env, r *Result) error {
	join := func(name, cookie string) []byte {
		b, _ := udpcolor.Packet{Kind: udpcolor.KindJoin, Name: name, Cookie: cookie}.Append(nil)
		return b
	}
	pad := func(s string, n int) []byte { return []byte(s + strings.Repeat(" ", max(0, n-len(s)))) }
	mac := randomMAC()
	cs := []candidate{
		{"join", join("a", "")},
		{"join, longest name", join(strings.Repeat("n", udpcolor.MaxName), "")},
		{"join, forged cookie", join("a", strings.Repeat("A", 27))},
		{"join, largest datagram", pad("join/2 "+strings.Repeat("n", udpcolor.MaxName), udpcolor.MaxDatagram)},
		{"join, unpadded", []byte("join/2 a")},
		{"join, bad name", pad("join/2 -", udpcolor.MinJoin)},
		{"join of version 1", pad("join a", udpcolor.MinJoin)},
		{"join of version 1, unpadded", []byte("join a")},
		{"join of version 3", pad("join/3 a", udpcolor.MinJoin)},
		{"msg from a stranger", []byte("msg 1 " + mac + " hi")},
		{"msg, long", []byte("msg 1 " + mac + " " + strings.Repeat("t", udpcolor.MaxText))},
		{"msg, malformed", []byte("msg")},
		{"ping", []byte("ping 1 " + mac)},
		{"leave", []byte("leave 1 " + mac)},
		{"error", []byte("error bad-request")},
		{"garbage", []byte("hello?")},
	}
	return withServer(ctx, e, r, func(c *child) error { return reflectOff(ctx, e, r, c, cs) }, "udpcolor")
}
