package udpcolor

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// joinAll runs the cookie exchange for every name at its address at once
// and returns, by address, what the server answered the exchange with:
// "welcome" or the error datagram.
func (h *harness) joinAll(names map[netip.AddrPort]string) map[netip.AddrPort]string {
	h.t.Helper()
	for from, name := range names {
		h.sendPacket(from, Packet{Kind: KindJoin, Name: name})
	}
	result := make(map[netip.AddrPort]string)
	cookies := 0
	for _, d := range h.drain() {
		p, err := Parse(d.b)
		switch {
		case err != nil:
			h.t.Fatalf("unparsable answer %q to %v", d.b, d.addr)
		case p.Kind == KindCookie:
			h.sendPacket(d.addr, Packet{Kind: KindJoin, Name: p.Name, Cookie: p.Cookie})
			cookies++
		default:
			result[d.addr] = string(d.b)
		}
	}
	if cookies > 0 {
		for _, d := range h.drain() {
			p, err := Parse(d.b)
			if err == nil && p.Kind == KindWelcome {
				result[d.addr] = "welcome"
			} else {
				result[d.addr] = string(d.b)
			}
		}
	}
	return result
}

// count returns how many values of m are v.
func count(m map[netip.AddrPort]string, v string) int {
	n := 0
	for _, x := range m {
		if x == v {
			n++
		}
	}
	return n
}

// One host with a thousand source ports takes DefaultMaxMembersPerAddr
// places, not the whole table, and is told why it gets no more.
func TestServerMembersPerAddr(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{PacketsPerSecond: -1})
	flood := make(map[netip.AddrPort]string)
	for i := range 1024 {
		flood[netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 7, 0, 1}), uint16(20000+i))] = fmt.Sprintf("port%d", i)
	}
	got := h.joinAll(flood)
	refusal := "error address-full at most 4 members per address"
	if w, r := count(got, "welcome"), count(got, refusal); w != DefaultMaxMembersPerAddr || r != 1024-DefaultMaxMembersPerAddr {
		t.Errorf("one IP, 1024 ports: %d welcomed and %d refused, want %d and %d", w, r, DefaultMaxMembersPerAddr, 1024-DefaultMaxMembersPerAddr)
	}
	// A second host still joins, and the refusals are counted.
	h.join(addr("10.7.0.2:20000"), "other")
	st := h.s.Stats()
	if st.Conns != DefaultMaxMembersPerAddr+1 || st.Dropped.SourceFull != 1024-DefaultMaxMembersPerAddr {
		t.Errorf("Members = %d, RefusedAddrFull = %d", st.Conns, st.Dropped.SourceFull)
	}
}

func TestServerMembersPerAddrSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		perAddr int
		joins   []string // in order, each under a fresh name
		want    []string // "welcome" or the error
	}{
		{
			name:    "one per address",
			perAddr: 1,
			joins:   []string{"10.8.0.1:30000", "10.8.0.1:30001", "10.8.0.2:30000"},
			want:    []string{"welcome", "error address-full at most 1 members per address", "welcome"},
		},
		{
			name:    "IPv6 by /64",
			perAddr: 2,
			joins:   []string{"[2001:db8:1::1]:30000", "[2001:db8:1::ffff]:30000", "[2001:db8:1:0:8000::1]:40000", "[2001:db8:1:1::1]:30000"},
			want:    []string{"welcome", "welcome", "error address-full at most 2 members per address", "welcome"},
		},
		{
			name:    "IPv4-mapped is IPv4",
			perAddr: 1,
			joins:   []string{"10.8.0.3:30000", "[::ffff:10.8.0.3]:30001"},
			want:    []string{"welcome", "error address-full at most 1 members per address"},
		},
		{
			name:    "negative turns it off",
			perAddr: -1,
			joins:   []string{"10.8.0.4:30000", "10.8.0.4:30001", "10.8.0.4:30002", "10.8.0.4:30003", "10.8.0.4:30004", "10.8.0.4:30005"},
			want:    []string{"welcome", "welcome", "welcome", "welcome", "welcome", "welcome"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &Server{MaxMembersPerAddr: tt.perAddr})
			var got []string
			for i, a := range tt.joins {
				r := h.joinAll(map[netip.AddrPort]string{addr(a): fmt.Sprintf("m%d", i)})
				// The server reads IPv4-mapped sources as the IPv4 address
				// they are, and answers that.
				ap := addr(a)
				got = append(got, r[netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())])
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("answers (-want +got):\n%s", d)
			}
		})
	}
}

// A place is given back when its member leaves or expires, and a member
// that rejoins under another name keeps its one place.
func TestServerMembersPerAddrFreed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{MaxMembersPerAddr: 2})
	a1, a2, a3 := addr("10.9.0.1:30001"), addr("10.9.0.1:30002"), addr("10.9.0.1:30003")
	h.join(a1, "one")
	h.join(a2, "two")
	h.join(a2, "deux") // a rejoin under a new name takes no second place
	if r := h.joinAll(map[netip.AddrPort]string{a3: "three"}); r[a3] != "error address-full at most 2 members per address" {
		t.Fatalf("third port: %q, want address-full", r[a3])
	}
	h.leave(a1)
	h.expect(h.drain(), dg(a1, "bye one left"))
	h.join(a3, "three")
	h.clock.Add(DefaultMemberTimeout + DefaultMemberTimeout/4)
	h.s.sweep(h.clock.Now())
	h.drain()
	h.join(a1, "one")
	h.join(a2, "two")
	if n := h.s.Members(); n != 2 {
		t.Errorf("Members() = %d, want 2", n)
	}
}
