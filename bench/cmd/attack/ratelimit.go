package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/sockkit/sockkit/timesync"
)

// Figures of the rate-limiter flood.
const (
	floodTable   = 65536            // the limiter's table (timesync.DefaultMaxSources)
	floodSources = 70000            // distinct spoofed addresses
	floodRate    = floodTable / 4.0 // spoofed requests per second: the table is full in 4 s
	floodMax     = 12 * time.Second // the flood's length at most: it stops when the clients are done
	floodClients = 20               // new legitimate clients, once the table is full
)

// spoofedSources returns n distinct addresses of 127.0.0.0/8 outside
// 127.0.0.0/16 (where the legitimate clients are) and never
// 127.255.255.255 (the broadcast address of lo), each with a port of
// 1024 or more, in random order.
func spoofedSources(n int, rnd *rand.Rand) []netip.AddrPort {
	seen := make(map[netip.Addr]bool, n)
	out := make([]netip.AddrPort, 0, n)
	for len(out) < n {
		a := netip.AddrFrom4([4]byte{127, byte(1 + rnd.IntN(254)), byte(rnd.IntN(256)), byte(1 + rnd.IntN(254))})
		if seen[a] {
			continue
		}
		seen[a] = true
		out = append(out, netip.AddrPortFrom(a, uint16(1024+rnd.IntN(65536-1024))))
	}
	return out
}

// fillRateLimit: 70,000 spoofed sources send one NTP request after the
// other, cycled, at the rate that fills timesync's rate limiter table in
// about 4 s; once it is full, 20 new clients from 127.0.0.100 to
// 127.0.0.119 query the server (4 samples each, as a default
// timesync.Client does) while the flood goes on, until they are done.
func fillRateLimit(ctx context.Context, e *env, r *Result) error {
	r.LegitTarget = 0.8
	return withServer(ctx, e, r, func(c *child) error {
		server, err := addrPort(c, "udp")
		if err != nil {
			return err
		}
		rnd := rand.New(rand.NewPCG(13, 65536))
		sources := spoofedSources(floodSources, rnd)
		req, err := (&timesync.Packet{Version: 4, Mode: timesync.ModeClient, Transmit: timesync.Timestamp(0x1234567890abcdef)}).AppendBinary(nil)
		if err != nil {
			return err
		}
		total := int(floodRate * floodMax.Seconds())
		fctx, stopFlood := context.WithCancel(ctx)
		defer stopFlood()
		type floodResult struct {
			sent int
			end  time.Duration // since start
			err  error
		}
		flooded := make(chan floodResult, 1)
		dropsBefore := rcvbufErrors()
		start := time.Now()
		go func() {
			n, err := pace(fctx, total, floodRate, func(i int) error {
				return e.spoof.send(sources[i%len(sources)], server, req)
			})
			flooded <- floodResult{n, time.Since(start), err}
		}()

		// The clients start once the table is full, one every 150 ms.
		sleep(ctx, time.Duration(float64(floodTable)/floodRate*float64(time.Second))+300*time.Millisecond)
		type outcome struct {
			err     error
			samples int
		}
		outcomes := make([]outcome, floodClients)
		var wg sync.WaitGroup
		for i := range floodClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := timesync.Client{Dial: dialFrom(fmt.Sprintf("127.0.0.%d", 100+i))}
				qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				resp, err := cl.Query(qctx, server.String())
				outcomes[i].err = err
				if resp != nil {
					outcomes[i].samples = resp.Samples
				}
			}()
			sleep(ctx, 150*time.Millisecond)
		}
		wg.Wait()
		clientsDone := time.Since(start)
		stopFlood()
		fr := <-flooded
		floodTime := fr.end
		if fr.err != nil && !errors.Is(fr.err, context.Canceled) {
			return fmt.Errorf("flood: %w", fr.err)
		}
		var kods, timeouts, others, samples int
		for _, o := range outcomes {
			r.Legit++
			var kod *timesync.KissOfDeathError
			var te *timesync.TimeoutError
			switch {
			case o.err == nil:
				r.LegitOK++
				samples += o.samples
			case errors.As(o.err, &kod):
				kods++
			case errors.As(o.err, &te):
				timeouts++
			default:
				others++
				r.Notes = append(r.Notes, "a client: "+o.err.Error())
			}
		}
		var st timesync.Stats
		if err := c.stats(&st); err != nil {
			return err
		}
		if clientsDone > floodTime {
			r.Fails = append(r.Fails, fmt.Sprintf("the flood reached its bound (%v) before the clients were done: the run does not show their service under the flood", floodMax))
		}
		r.Notes = append(r.Notes, fmt.Sprintf("%d spoofed NTP requests from %d addresses in %.1f s (%.0f/s); clients from %.1f s to %.1f s: %d normal (%d samples of %d), %d Kiss-o'-Death, %d timeouts, %d other errors; server: %d NTP replies, %d KoD, %d dropped over rate",
			fr.sent, min(fr.sent, floodSources), floodTime.Seconds(), float64(fr.sent)/floodTime.Seconds(),
			float64(floodTable)/floodRate+0.3, clientsDone.Seconds(), r.LegitOK, samples, 4*r.LegitOK, kods, timeouts, others,
			st.NTPReplies, st.KissOfDeath, st.Dropped.Rate))
		if dropsBefore >= 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("UDP datagrams dropped by the kernel for full receive buffers during the flood (machine-wide; a server that did not keep up): %d", rcvbufErrors()-dropsBefore))
		}
		return nil
	}, "timesync")
}
