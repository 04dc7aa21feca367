package ratelimit

import (
	"fmt"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// This file uses only the package's API (New, Config, AllowN, Len), so
// that it runs unchanged against older implementations of the package.

// floodScenario is a flood of spoofed source addresses against a table of
// maxSources entries, at the rate that fills the table in about 4 s,
// interleaved with legit new sources that each send a few events at a
// legal rate once the table is full.
type floodScenario struct {
	name       string
	cfg        Config
	rate       float64 // spoofed events per second
	spoofed    int     // distinct spoofed addresses, cycled; 0: a new one for every event
	repeat     int     // events sent from each spoofed address in a row (0 means 1)
	legit      int     // legit sources
	sends      int     // events from each legit source
	gap        time.Duration
	start      time.Duration // when the first legit source starts
	stagger    time.Duration // between the starts of legit sources
	duration   time.Duration // of the flood
	maxSources int
}

type floodResult struct {
	served        int // legit sources all of whose events were allowed
	spoofAllowed  int // spoofed events allowed once the table was full
	spoofSent     int // spoofed events sent once the table was full
	maxLen        int // largest Len seen
	fullAt        time.Duration
	tableWasFull  bool
	legitRefusals []string
}

// spoofAddr returns spoofed address i, distinct for i below 2^24.
func spoofAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

func legitAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
}

// run plays the scenario on a fake clock.
func (sc floodScenario) run() floodResult {
	l := New(sc.cfg)
	t0 := time.Unix(1_000_000, 0)
	type legitEvent struct {
		at     time.Duration
		source int
	}
	var legit []legitEvent
	for s := 0; s < sc.legit; s++ {
		for i := 0; i < sc.sends; i++ {
			legit = append(legit, legitEvent{sc.start + time.Duration(s)*sc.stagger + time.Duration(i)*sc.gap, s})
		}
	}
	sort.SliceStable(legit, func(i, j int) bool { return legit[i].at < legit[j].at })
	refused := make([]int, sc.legit)
	var res floodResult
	repeat := max(sc.repeat, 1)
	interval := time.Duration(float64(time.Second) / sc.rate)
	for i, at := 0, time.Duration(0); at < sc.duration; i, at = i+1, at+interval {
		for len(legit) > 0 && legit[0].at <= at {
			ev := legit[0]
			legit = legit[1:]
			if !l.AllowN(t0.Add(ev.at), legitAddr(ev.source), 1) {
				refused[ev.source]++
			}
		}
		n := i / repeat
		if sc.spoofed > 0 {
			n %= sc.spoofed
		}
		full := l.Len() >= sc.maxSources
		if full && !res.tableWasFull {
			res.tableWasFull, res.fullAt = true, at
		}
		ok := l.AllowN(t0.Add(at), spoofAddr(n), 1)
		if full {
			res.spoofSent++
			if ok {
				res.spoofAllowed++
			}
		}
		res.maxLen = max(res.maxLen, l.Len())
	}
	for s, n := range refused {
		if n == 0 {
			res.served++
		} else {
			res.legitRefusals = append(res.legitRefusals, fmt.Sprintf("%v: %d of %d refused", legitAddr(s), n, sc.sends))
		}
	}
	return res
}

// timesyncLike is the configuration of timesync's packet limiter.
var timesyncLike = Config{Rate: 2, Burst: 16, MaxSources: 1024}

// The attack seen in the field, at test scale: spoofed addresses fill the
// table at the rate that fills it in about 4 s and keep flooding; 20 new
// legit sources then arrive, one a second, and each sends a few events at
// a legal rate. At least 80 % of them must have every event allowed.
func TestNewSourcesServedDuringSpoofedFlood(t *testing.T) {
	t.Parallel()
	base := floodScenario{
		cfg:        timesyncLike,
		rate:       1100.0 / 4,
		legit:      20,
		sends:      4,
		gap:        time.Second,
		start:      6 * time.Second,
		stagger:    time.Second,
		duration:   30 * time.Second,
		maxSources: 1024,
	}
	tests := []func(*floodScenario){
		func(sc *floodScenario) { sc.name = "a new address per event" },
		func(sc *floodScenario) { sc.name = "1100 addresses cycled"; sc.spoofed = 1100 },
		func(sc *floodScenario) {
			sc.name = "1100 addresses cycled, two events each"
			sc.spoofed, sc.repeat = 1100, 2
			sc.rate *= 2 // new addresses still fill the table in 4 s
		},
		func(sc *floodScenario) {
			sc.name = "echo limits, a new address per event"
			sc.cfg = Config{Rate: 100, Burst: 200, MaxSources: 1024}
			sc.gap = 100 * time.Millisecond
		},
	}
	for _, set := range tests {
		sc := base
		set(&sc)
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			res := sc.run()
			if !res.tableWasFull || res.fullAt > sc.start {
				t.Fatalf("the flood did not fill the table before the legit sources started (full: %v at %v)", res.tableWasFull, res.fullAt)
			}
			if res.maxLen > sc.maxSources {
				t.Errorf("table grew to %d entries, cap is %d", res.maxLen, sc.maxSources)
			}
			if want := sc.legit * 8 / 10; res.served < want {
				t.Errorf("%d of %d new legit sources got normal service, want at least %d:\n%v", res.served, sc.legit, want, res.legitRefusals)
			}
		})
	}
}

// A flood of new addresses much faster than the table can absorb must not
// get more through than the overflow allows: ceil(M/4) sources' worth.
func TestSpoofedFloodShareBounded(t *testing.T) {
	t.Parallel()
	cfg := Config{Rate: 2, Burst: 16, MaxSources: 1024}
	sc := floodScenario{cfg: cfg, rate: 20000, duration: 10 * time.Second, maxSources: 1024}
	res := sc.run()
	if !res.tableWasFull {
		t.Fatal("the flood did not fill the table")
	}
	buckets := (cfg.MaxSources + 3) / 4
	secs := (sc.duration - res.fullAt).Seconds()
	bound := int(float64(buckets) * (float64(cfg.Burst) + float64(cfg.Rate)*secs))
	if res.spoofAllowed > bound {
		t.Errorf("%d of %d spoofed events allowed against the full table, bound %d", res.spoofAllowed, res.spoofSent, bound)
	}
	if res.maxLen > cfg.MaxSources {
		t.Errorf("table grew to %d entries, cap is %d", res.maxLen, cfg.MaxSources)
	}
}
