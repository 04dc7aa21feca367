package admit

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/opt"
)

func tcp(s string) net.Addr { return net.TCPAddrFromAddrPort(netip.MustParseAddrPort(s)) }

func TestConnCaps(t *testing.T) {
	g := New(Config{MaxConns: 5, MaxPerSource: 2})
	var releases []*Ticket
	for _, tt := range []struct {
		addr string
		want Reason
	}{
		{"127.0.0.1:1000", OK},
		{"127.0.0.1:1001", OK},
		{"127.0.0.1:1002", SourceFull}, // a third from one address
		{"[2001:db8::1]:1000", OK},
		{"[2001:db8::2]:1000", OK},         // same /64
		{"[2001:db8::3]:1000", SourceFull}, // a third from one /64
		{"[2001:db8:0:1::1]:1000", OK},     // another /64
		{"[2001:db8:0:2::1]:1000", Full},   // and another, but the server is full
	} {
		ticket, why := g.Conn(tcp(tt.addr))
		if why != tt.want {
			t.Fatalf("Conn(%s) = %v, want %v", tt.addr, why, tt.want)
		}
		if why == OK {
			releases = append(releases, &ticket)
		}
	}
	releases[0].Release()
	releases[0].Release() // Release is idempotent
	new(Ticket).Release() // and the zero Ticket holds nothing
	if _, why := g.Conn(tcp("127.0.0.1:1003")); why != OK {
		t.Fatalf("after a release: %v", why)
	}
	got := g.Counters.Load()
	want := sockkit.Counters{Conns: 5, ConnsTotal: 6, Dropped: sockkit.Drops{SourceFull: 2, Full: 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counters (-want +got):\n%s", diff)
	}
}

func TestNoLimits(t *testing.T) {
	g := New(Config{MaxConns: -1, MaxPerSource: -1})
	for i := range 100 {
		if _, why := g.Conn(tcp("127.0.0.1:1")); why != OK {
			t.Fatalf("conn %d: %v", i, why)
		}
	}
	if g.Sources() != 1 {
		t.Errorf("Sources = %d", g.Sources())
	}
}

func TestPortAndRate(t *testing.T) {
	g := New(Config{Rate: 1, Burst: 2})
	for _, tt := range []struct {
		port int
		want bool
	}{{0, false}, {53, false}, {1023, false}, {1024, true}, {-1, true}} {
		if got := g.Port(tt.port); got != tt.want {
			t.Errorf("Port(%d) = %v", tt.port, got)
		}
	}
	if !New(Config{AllowLowPorts: true}).Port(123) {
		t.Error("AllowLowPorts refused port 123")
	}
	k := netip.MustParseAddr("127.0.0.1")
	now := time.Unix(1000, 0)
	allowed := 0
	for range 5 {
		if g.Allow(k, now) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Errorf("allowed %d of 5 at once with burst 2", allowed)
	}
	if !g.Allow(k, now.Add(time.Second)) {
		t.Error("refused after a second at 1/s")
	}
	if d := g.Counters.Load().Dropped; d.Rate != 3 || d.Port != 3 {
		t.Errorf("drops = %+v", d)
	}
}

func TestBudget(t *testing.T) {
	if Budget(17) != 107 { // 3 × 45 bytes on the wire, less 28 of headers
		t.Errorf("Budget(17) = %d", Budget(17))
	}
	if DefaultPerSource(10000) != 500 || DefaultPerSource(64) != 8 || DefaultPerSource(-1) != 1024 {
		t.Error("DefaultPerSource")
	}
}

func TestConnsResolves(t *testing.T) {
	r := opt.New("pkg")
	if c := Conns(r, 0, 0, 1000); c.MaxConns != 1000 || c.MaxPerSource != 50 {
		t.Errorf("defaults: %+v", c)
	}
	if c := Conns(r, -1, 0, 1000); c.MaxConns != -1 || c.MaxPerSource != 1024 {
		t.Errorf("no total limit: %+v", c)
	}
	if c := Conns(r, 64, -1, 1000); c.MaxConns != 64 || c.MaxPerSource != -1 {
		t.Errorf("no per-source limit: %+v", c)
	}
	if err := r.Err(); err != nil {
		t.Errorf("unexpected error %v", err)
	}
}
