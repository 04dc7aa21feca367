package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkAllowN measures one AllowN call: a source already in the table
// (hit), and a source not in a table full of other sources (miss), once
// with a table of sources seen once, as a flood of spoofed addresses
// leaves it, and once with a table of sources seen twice.
func BenchmarkAllowN(b *testing.B) {
	const max = 65536
	addr := func(i int) netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
	}
	fill := func(calls int) (*Limiter, time.Time) {
		l := New(Config{Rate: 2, Burst: 16, MaxSources: max})
		now := time.Unix(1000, 0)
		for c := 0; c < calls; c++ {
			for i := 0; i < max; i++ {
				l.AllowN(now, addr(i), 1)
			}
		}
		// The first miss on a full table sweeps it; take that out of the
		// measurement.
		l.AllowN(now, addr(max), 1)
		return l, now
	}
	b.Run("hit", func(b *testing.B) {
		l, now := fill(1)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			now = now.Add(time.Microsecond)
			l.AllowN(now, addr(i%max), 1)
			i++
		}
	})
	for _, tt := range []struct {
		name  string
		calls int
	}{{"miss-full-seen-once", 1}, {"miss-full-seen-twice", 2}} {
		b.Run(tt.name, func(b *testing.B) {
			l, now := fill(tt.calls)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				now = now.Add(time.Microsecond)
				l.AllowN(now, netip.AddrFrom4([4]byte{172, byte(i >> 16), byte(i >> 8), byte(i)}), 1)
				i++
			}
		})
	}
}
