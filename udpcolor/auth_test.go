package udpcolor

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Datagrams that claim a member's address but do not carry its MAC, or
// carry a counter already used, change nothing and get no answer.
func TestServerRefusesUnsignedMemberDatagrams(t *testing.T) {
	t.Parallel()
	type spoof struct {
		b    string // the datagram, sent from alice's address
		stat string // the counter it must increase
	}
	forged := func(p Packet, k Key) string {
		b, _ := k.Sign(p).Append(nil)
		return string(b)
	}
	mac := strings.Repeat("A", macChars)
	tests := []struct {
		name   string
		spoofs func(h *harness) []spoof
	}{
		{"msg with a made-up MAC", func(h *harness) []spoof {
			return []spoof{{"msg 1 " + mac + " I am alice", "BadMACs"}}
		}},
		{"msg signed with another member's key", func(h *harness) []spoof {
			return []spoof{{forged(Packet{Kind: KindMsg, Seq: 100, Text: "I am alice"}, h.keys[bob].key), "BadMACs"}}
		}},
		{"msg signed with a guessed key", func(h *harness) []spoof {
			return []spoof{{forged(Packet{Kind: KindMsg, Seq: 100, Text: "I am alice"}, Key{}), "BadMACs"}}
		}},
		{"alice's msg with its text changed", func(h *harness) []spoof {
			p := h.keys[alice].key.Sign(Packet{Kind: KindMsg, Seq: 100, Text: "I am alice"})
			p.Text = "I am alicE"
			b, _ := p.Append(nil)
			return []spoof{{string(b), "BadMACs"}}
		}},
		{"bob's msg replayed from alice's address", func(h *harness) []spoof {
			return []spoof{{string(h.signed(bob, Packet{Kind: KindMsg, Text: "I am alice"})), "BadMACs"}}
		}},
		{"alice's msg replayed", func(h *harness) []spoof {
			b := string(h.signed(alice, Packet{Kind: KindMsg, Text: "I am alice"}))
			h.send(alice, b)
			h.expect(h.drain(), dg(bob, "relay alice : I am alice"))
			return []spoof{{b, "Replays"}, {b + "\n", "Replays"}}
		}},
		{"alice's old msg, delivered late", func(h *harness) []spoof {
			old := string(h.signed(alice, Packet{Kind: KindMsg, Text: "I am alice"}))
			for range replayWindowSize {
				h.ping(alice)
			}
			return []spoof{{old, "Replays"}}
		}},
		{"leave with a made-up MAC", func(h *harness) []spoof {
			return []spoof{{"leave 1 " + mac, "BadMACs"}, {"leave 99999 " + mac, "BadMACs"}}
		}},
		{"alice's ping as a leave", func(h *harness) []spoof {
			p := h.keys[alice].key.Sign(Packet{Kind: KindPing, Seq: 100})
			p.Kind = KindLeave
			b, _ := p.Append(nil)
			return []spoof{{string(b), "BadMACs"}}
		}},
		{"version 1 datagrams", func(h *harness) []spoof {
			return []spoof{{"msg I am alice", "DroppedMalformed"}, {"leave", "DroppedMalformed"}}
		}},
		{"truncated MAC", func(h *harness) []spoof {
			b := string(h.signed(alice, Packet{Kind: KindMsg, Text: "x"}))
			return []spoof{{b[:len(b)-3] + " x", "DroppedMalformed"}, {b[:len("msg 9 ")+10], "DroppedMalformed"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, &Server{})
			h.join(alice, "alice")
			h.join(bob, "bob")
			spoofs := tt.spoofs(h)
			before := h.s.Stats()
			for _, sp := range spoofs {
				h.send(alice, sp.b)
			}
			for _, d := range h.drain() {
				// A malformed datagram may get "bad-request", no larger than
				// itself; nothing else may come of it.
				if d.addr != alice || string(d.b) != "error bad-request" {
					t.Errorf("spoofed datagrams made the server send %q to %v", d.b, d.addr)
				}
			}
			after := h.s.Stats()
			want := before
			want.Cookies++ // the drain's sentinel
			for _, sp := range spoofs {
				switch sp.stat {
				case "BadMACs":
					want.BadMACs++
				case "Replays":
					want.Replays++
				case "DroppedMalformed":
					want.Dropped.Malformed++
				}
			}
			want.BytesIn, want.BytesOut = after.BytesIn, after.BytesOut // bytes differ with each spoof's size
			if after != want {
				t.Errorf("Stats after the spoofs = %+v\nwant %+v", after, want)
			}
			// alice is still a member, and still speaks.
			h.say(alice, "really me")
			h.expect(h.drain(), dg(bob, "relay alice : really me"))
		})
	}
}

// Datagrams spoofed from a silent member's address do not keep it alive.
func TestServerSpoofedPingsDoNotKeepAlive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	h.join(alice, "alice")
	h.join(bob, "bob")
	for i := range 8 {
		h.clock.Add(DefaultMemberTimeout / 4)
		h.send(alice, fmt.Sprintf("ping %d %s", i+1, strings.Repeat("A", macChars)))
		h.ping(bob)
		h.drain()
	}
	if h.s.memberAt(alice) != nil || h.s.memberAt(bob) == nil {
		t.Errorf("after %v: alice a member: %v, bob a member: %v; want alice expired", 2*DefaultMemberTimeout, h.s.memberAt(alice) != nil, h.s.memberAt(bob) != nil)
	}
}

// A flood of datagrams with wrong MACs from a member's own address and
// port costs the server a MAC check each, and disturbs no member.
func TestServerBadMACFlood(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.join(carol, "carol")
	const n = 20000
	mac := strings.Repeat("A", macChars)
	for i := range n {
		h.send(alice, fmt.Sprintf("msg %d %s flood", i+1, mac))
		h.send(bob, fmt.Sprintf("leave %d %s", i+1, mac))
		if i%1000 == 0 {
			h.say(alice, fmt.Sprint("hello ", i))
		}
	}
	got := h.drain()
	var want []datagram
	for i := 0; i < n; i += 1000 {
		text := fmt.Sprint("relay alice : hello ", i)
		want = append(want, dg(bob, text), dg(carol, text))
	}
	h.expect(got, want...)
	st := h.s.Stats()
	if st.BadMACs != 2*n || st.Conns != 3 || st.Dropped.Rate != 0 {
		t.Errorf("BadMACs = %d, Members = %d, DroppedRate = %d; want %d, 3, 0", st.BadMACs, st.Conns, st.Dropped.Rate, 2*n)
	}
	h.clock.Add(time.Second) // the members' own allowances are untouched too
	h.say(bob, "fine")
	h.expect(h.drain(), dg(alice, "relay bob : fine"), dg(carol, "relay bob : fine"))
}
