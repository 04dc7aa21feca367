package ratelimit

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestPerSourceBuckets(t *testing.T) {
	t.Parallel()
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

// The buckets follow golang.org/x/time/rate's rules.
func TestBucket(t *testing.T) {
	t.Parallel()
	type call struct {
		at   time.Duration // since the first call
		n    int
		want bool
	}
	tests := []struct {
		name  string
		cfg   Config
		calls []call
	}{
		{"burst then refill", Config{Rate: 2, Burst: 2}, []call{
			{0, 1, true}, {0, 1, true}, {0, 1, false},
			{400 * time.Millisecond, 1, false}, {500 * time.Millisecond, 1, true},
			{10 * time.Second, 2, true}, {10 * time.Second, 1, false}, // refills no further than Burst
		}},
		{"n above burst never allowed", Config{Rate: 1, Burst: 3}, []call{
			{0, 4, false}, {time.Hour, 4, false}, {time.Hour, 3, true},
		}},
		{"n of zero always allowed", Config{Rate: 1, Burst: 1}, []call{
			{0, 1, true}, {0, 0, true}, {0, 1, false},
		}},
		{"zero rate allows burst only", Config{Rate: 0, Burst: 2}, []call{
			{0, 1, true}, {time.Second, 1, true}, {30 * time.Second, 1, false},
		}},
		{"negative rate is zero", Config{Rate: -5, Burst: 1}, []call{
			{0, 1, true}, {30 * time.Second, 1, false},
		}},
		{"infinite rate allows all", Config{Rate: rate.Inf, Burst: 1}, []call{
			{0, 1, true}, {0, 1000, true}, {0, 1, true},
		}},
		{"time going back refills nothing", Config{Rate: 1, Burst: 1}, []call{
			{10 * time.Second, 1, true}, {5 * time.Second, 1, false}, {10500 * time.Millisecond, 1, false}, {11 * time.Second, 1, true},
		}},
		{"burst below 1 is 1", Config{Rate: 1, Burst: 0}, []call{
			{0, 1, true}, {0, 1, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := New(tt.cfg)
			t0 := time.Unix(1000, 0)
			k := netip.MustParseAddr("192.0.2.1")
			for i, c := range tt.calls {
				if got := l.AllowN(t0.Add(c.at), k, c.n); got != c.want {
					t.Errorf("call %d (n=%d at %v) = %v, want %v", i, c.n, c.at, got, c.want)
				}
			}
		})
	}
}

func TestKey(t *testing.T) {
	t.Parallel()
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

func TestTableBounded(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		overflow int
		want     int // spoofed events allowed
	}{
		// 9 fresh entries fit in the table, then the overflow buckets let
		// one event each through (991 spoofed events hit every one of 3).
		{"default overflow", 0, 9 + 3},
		{"one shared overflow bucket", 1, 9 + 1},
		{"many overflow buckets", 100, 9 + 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := New(Config{Rate: 1, Burst: 1, MaxSources: 10, Idle: time.Minute, OverflowBuckets: tt.overflow})
			now := time.Unix(1000, 0)
			real := netip.MustParseAddr("10.0.0.1")
			l.AllowN(now, real, 0)
			l.AllowN(now, real, 0) // seen twice: established
			allowed := 0
			for i := 0; i < 1000; i++ {
				spoof := netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
				if l.AllowN(now, spoof, 1) {
					allowed++
				}
			}
			if n := l.Len(); n != 10 {
				t.Fatalf("table holds %d entries, cap is 10", n)
			}
			// With 100 buckets, some of the 991 may stay unhit.
			if allowed > tt.want || tt.overflow != 100 && allowed != tt.want {
				t.Fatalf("%d spoofed sources allowed, want %d", allowed, tt.want)
			}
			if _, ok := l.m[real]; !ok {
				t.Fatal("a real source's bucket was evicted by the flood")
			}
			if !l.AllowN(now, real, 1) {
				t.Fatal("the real source lost its allowance to the flood")
			}
		})
	}
}

// Sources seen once are replaced, oldest first, by new sources that their
// overflow bucket allows; sources seen twice stay.
func TestProbation(t *testing.T) {
	t.Parallel()
	l := New(Config{Rate: 1, Burst: 4, MaxSources: 4, OverflowBuckets: 1})
	now := time.Unix(1000, 0)
	addr := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	a, b, c, d := addr("192.0.2.1"), addr("192.0.2.2"), addr("192.0.2.3"), addr("192.0.2.4")
	for _, k := range []netip.Addr{a, b, c, d, b} {
		l.AllowN(now, k, 1)
	}
	// a, c, d on probation, in that order; b established.
	in := func() map[netip.Addr]bool {
		m := make(map[netip.Addr]bool)
		for k := range l.m {
			m[k] = true
		}
		return m
	}
	steps := []struct {
		key  netip.Addr
		want []netip.Addr // in the table afterwards
	}{
		{addr("198.51.100.1"), []netip.Addr{b, c, d, addr("198.51.100.1")}},
		{addr("198.51.100.2"), []netip.Addr{b, d, addr("198.51.100.1"), addr("198.51.100.2")}},
		{d, []netip.Addr{b, d, addr("198.51.100.1"), addr("198.51.100.2")}}, // d established
		{addr("198.51.100.3"), []netip.Addr{b, d, addr("198.51.100.2"), addr("198.51.100.3")}},
		{addr("198.51.100.4"), []netip.Addr{b, d, addr("198.51.100.3"), addr("198.51.100.4")}},
		// The shared overflow bucket (burst 4) is empty now: no admission.
		{addr("198.51.100.5"), []netip.Addr{b, d, addr("198.51.100.3"), addr("198.51.100.4")}},
	}
	for i, st := range steps {
		l.AllowN(now, st.key, 1)
		got := in()
		if len(got) != len(st.want) {
			t.Fatalf("step %d (%v): table %v, want %v", i, st.key, got, st.want)
		}
		for _, k := range st.want {
			if !got[k] {
				t.Fatalf("step %d (%v): table %v, want %v", i, st.key, got, st.want)
			}
		}
	}
	// Established entries are out of the probation list, which holds the
	// rest oldest first.
	var order []netip.Addr
	for e := l.probation.next; e != &l.probation; e = e.next {
		order = append(order, e.key)
	}
	if len(order) != 2 || order[0] != addr("198.51.100.3") || order[1] != addr("198.51.100.4") {
		t.Fatalf("probation list %v", order)
	}
}

// However a flood churns the table, one source gets no more than its own
// bucket and its overflow bucket allow. Here the flood stays within what
// the overflow buckets allow, so that its new sources keep taking the
// places of the entries on probation, the victim's among them.
func TestPerSourceBoundUnderChurn(t *testing.T) {
	t.Parallel()
	cfg := Config{Rate: 10, Burst: 2, MaxSources: 4, OverflowBuckets: 64}
	l := New(cfg)
	t0 := time.Unix(1000, 0)
	victim := netip.MustParseAddr("192.0.2.1")
	const secs = 10
	allowed, spoof := 0, 0
	for ms := 0; ms < secs*1000; ms += 10 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		for i := 0; i < 4; i++ {
			l.AllowN(now, netip.AddrFrom4([4]byte{10, byte(spoof >> 16), byte(spoof >> 8), byte(spoof)}), 1)
			spoof++
		}
		if l.AllowN(now, victim, 1) { // 100 a second, ten times its rate
			allowed++
		}
	}
	one := cfg.Burst + int(float64(cfg.Rate)*secs)
	if allowed > 2*one+1 {
		t.Fatalf("victim allowed %d events in %d s, bound %d", allowed, secs, 2*one+1)
	}
	if allowed == 0 {
		t.Fatal("victim never allowed")
	}
}

// Two Limiters hash sources into their overflow buckets differently, so
// that which sources share a bucket cannot be learnt from another server.
func TestOverflowSeedPerLimiter(t *testing.T) {
	t.Parallel()
	cfg := Config{Rate: 1, Burst: 1, MaxSources: 1, OverflowBuckets: 1 << 20}
	a, b := New(cfg), New(cfg)
	same := 0
	for i := 0; i < 64; i++ {
		k := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		ia, ib := a.overflowIndex(k), b.overflowIndex(k)
		if ia < 0 || ia >= cfg.OverflowBuckets || ib < 0 || ib >= cfg.OverflowBuckets {
			t.Fatalf("index out of range: %d, %d", ia, ib)
		}
		if ia != a.overflowIndex(k) {
			t.Fatal("one Limiter hashed one key into two buckets")
		}
		if ia == ib {
			same++
		}
	}
	// With 2^20 buckets, two independent seeds agree on a key rarely.
	if same > 4 {
		t.Fatalf("%d of 64 keys in the same bucket of two Limiters", same)
	}
}

func TestIdleEntriesExpire(t *testing.T) {
	t.Parallel()
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
	if e := l.probation.next; e.key != netip.MustParseAddr("10.0.0.3") || e.next != &l.probation {
		t.Fatal("expired entries left in the probation list")
	}
}

// A flood of new sources against a full table must not sweep the table on
// every packet: that made each packet cost a pass over 65,536 entries.
func TestFullTableSweepsRarely(t *testing.T) {
	t.Parallel()
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
