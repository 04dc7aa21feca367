package ratelimit

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestPerSourceBuckets(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 3})
	now := time.Unix(1000, 0)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	for i := 0; i < 3; i++ {
		if !l.AllowN(now, a, 1) {
			t.Fatalf("event %d of burst refused", i)
		}
	}
	if l.AllowN(now, a, 1) {
		t.Fatal("event past the burst allowed")
	}
	if !l.AllowN(now, b, 1) {
		t.Fatal("another source was limited by the first one's flood")
	}
	if !l.AllowN(now.Add(1100*time.Millisecond), a, 1) {
		t.Fatal("bucket did not refill at the configured rate")
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.UDPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}, "192.0.2.7"},
		{&net.UDPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 2}, "192.0.2.7"},
		{&net.UDPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 3}, "2001:db8:1:2::"},
		{&net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 4}, "127.0.0.1"},
	}
	for _, tt := range tests {
		if got := Key(tt.addr).String(); got != tt.want {
			t.Errorf("Key(%v) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if Key(&net.UDPAddr{IP: net.ParseIP("192.0.2.7"), Port: 1}) != Key(&net.UDPAddr{IP: net.ParseIP("192.0.2.7"), Port: 9}) {
		t.Error("ports of one host got different buckets")
	}
}

func TestTableBoundedAndOverflowShared(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 1, MaxSources: 10, Idle: time.Minute})
	now := time.Unix(1000, 0)
	real := netip.MustParseAddr("10.0.0.1")
	l.AllowN(now, real, 1)
	allowed := 0
	for i := 0; i < 1000; i++ {
		spoof := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		if l.AllowN(now, spoof, 1) {
			allowed++
		}
	}
	if n := l.Len(); n > 10 {
		t.Fatalf("table grew to %d entries, cap is 10", n)
	}
	// 9 fresh entries fit in the table, then the overflow bucket lets one through.
	if allowed != 10 {
		t.Fatalf("%d spoofed sources allowed, want 10", allowed)
	}
	if _, ok := l.m[real]; !ok {
		t.Fatal("a real source's bucket was evicted by the flood")
	}
}

func TestIdleEntriesExpire(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 1, MaxSources: 2, Idle: time.Second})
	now := time.Unix(1000, 0)
	l.AllowN(now, netip.MustParseAddr("10.0.0.1"), 1)
	l.AllowN(now, netip.MustParseAddr("10.0.0.2"), 1)
	later := now.Add(2 * time.Second)
	if !l.AllowN(later, netip.MustParseAddr("10.0.0.3"), 1) {
		t.Fatal("new source refused although the table held only idle entries")
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d after expiry, want 1", n)
	}
}

// A flood of new sources against a full table must not sweep the table on
// every packet: that made each packet cost a pass over 65,536 entries.
func TestFullTableSweepsRarely(t *testing.T) {
	l := New(Config{Rate: 1, Burst: 1, MaxSources: 1000, Idle: time.Minute})
	now := time.Unix(1000, 0)
	for i := 0; i < 1000; i++ {
		l.AllowN(now, netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 1)
	}
	sweeps := 0
	last := l.lastSweep
	for i := 0; i < 10000; i++ {
		now = now.Add(time.Millisecond) // 10 s in all
		l.AllowN(now, netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)}), 1)
		if l.lastSweep != last {
			sweeps++
			last = l.lastSweep
		}
	}
	// Idle/8 is 7.5 s: one sweep in 10 s, not 10,000.
	if sweeps > 2 {
		t.Fatalf("%d sweeps of a full table for 10,000 packets", sweeps)
	}
	if l.Len() > 1000 {
		t.Fatalf("table grew to %d", l.Len())
	}
}
