package udpcolor

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The MACs below were computed with Python's hmac module, not with this
// package: base64url(HMAC-SHA256(key, signed form)[:16]).
func TestKeySign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  Key
		p    Packet
		want string
	}{
		{"msg, zero key", Key{}, Packet{Kind: KindMsg, Seq: 1, Text: "hello"}, "msg 1 E2-vNq2SXM_Ybw0DyFgR0Q hello"},
		{"ping", testKey, Packet{Kind: KindPing, Seq: 7}, "ping 7 40kjZEUqDerQv5-XtkMtXg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.key.Sign(tt.p).Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("got %q, want %q", b, tt.want)
			}
		})
	}
}

func TestKeyVerify(t *testing.T) {
	t.Parallel()
	signed := testKey.Sign(Packet{Kind: KindMsg, Seq: 42, Text: "hi there"})
	if !testKey.Verify(signed) {
		t.Fatal("a signed msg does not verify")
	}
	other := testKey
	other[31] ^= 1
	tests := map[string]func(p Packet) (Key, Packet){
		"other key":     func(p Packet) (Key, Packet) { return other, p },
		"other counter": func(p Packet) (Key, Packet) { p.Seq++; return testKey, p },
		"other text":    func(p Packet) (Key, Packet) { p.Text = "hi there!"; return testKey, p },
		"as a ping":     func(p Packet) (Key, Packet) { p.Kind, p.Text = KindPing, ""; return testKey, p },
		"as a leave":    func(p Packet) (Key, Packet) { p.Kind, p.Text = KindLeave, ""; return testKey, p },
		"as a relay":    func(p Packet) (Key, Packet) { p.Kind, p.Name = KindRelay, "bob"; return testKey, p },
		"no MAC":        func(p Packet) (Key, Packet) { p.MAC = [MACSize]byte{}; return testKey, p },
	}
	for i := range MACSize * 8 {
		tests["MAC bit "+string(rune('A'+i/8))+string(rune('0'+i%8))] = func(p Packet) (Key, Packet) {
			p.MAC[i/8] ^= 1 << (i % 8)
			return testKey, p
		}
	}
	for name, change := range tests {
		t.Run(name, func(t *testing.T) {
			k, p := change(signed)
			if k.Verify(p) {
				t.Errorf("%+v verifies", p)
			}
		})
	}
	// A ping's MAC does not carry over to a leave with the same counter.
	ping := testKey.Sign(Packet{Kind: KindPing, Seq: 3})
	if testKey.Verify(Packet{Kind: KindLeave, Seq: 3, MAC: ping.MAC}) {
		t.Error("a ping's MAC verifies as a leave's")
	}
}

func TestReplayWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		seqs []uint64
		want []bool
	}{
		{"in order", []uint64{1, 2, 3}, []bool{true, true, true}},
		{"zero", []uint64{0, 1, 0}, []bool{false, true, false}},
		{"repeat", []uint64{1, 1, 2, 2, 1}, []bool{true, false, true, false, false}},
		{"reordered", []uint64{3, 1, 2, 1, 3}, []bool{true, true, true, false, false}},
		{"gap then late", []uint64{10, 5, 5, 9, 11, 9}, []bool{true, true, false, true, true, false}},
		{"edge of window", []uint64{64, 1, 65, 1, 2, 2}, []bool{true, true, true, false, true, false}},
		{"too old", []uint64{100, 36, 37}, []bool{true, false, true}},
		{"jump past window", []uint64{1, 2, 1000, 999, 2, 1000}, []bool{true, true, true, true, false, false}},
		{"largest", []uint64{1<<64 - 1, 1<<64 - 1, 1<<64 - 2}, []bool{true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w replayWindow
			var got []bool
			for _, s := range tt.seqs {
				got = append(got, w.accept(s))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("accept(%v) (-want +got):\n%s", tt.seqs, d)
			}
		})
	}
}

// FuzzReplayWindow checks the window against a plain set of the counters
// seen: no counter is ever accepted twice, any counter above all the
// others is accepted, and so is any unseen one less than 64 below.
func FuzzReplayWindow(f *testing.F) {
	f.Add([]byte{1, 2, 3, 3, 2, 1})
	f.Add([]byte{200, 1, 136, 137, 135, 255, 0})
	f.Fuzz(func(t *testing.T, steps []byte) {
		var w replayWindow
		seen := map[uint64]bool{}
		var top uint64
		for _, s := range steps {
			// Small steps around the top, and now and then a long jump.
			seq := uint64(s)
			if s >= 0xf0 {
				seq = top + uint64(s-0xf0)*40
			} else if top > 100 {
				seq = top - 100 + uint64(s)
			}
			want := seq != 0 && !seen[seq] && (seq > top || top-seq < replayWindowSize)
			if got := w.accept(seq); got != want {
				t.Fatalf("accept(%d) after top %d = %v, want %v", seq, top, got, want)
			}
			if want {
				seen[seq] = true
				top = max(top, seq)
			}
		}
	})
}

// FuzzVerify checks that no datagram verifies under a key unless it is
// exactly what Sign makes of it: a forger's only way in is the MAC.
func FuzzVerify(f *testing.F) {
	for _, p := range []Packet{
		{Kind: KindMsg, Seq: 1, Text: "hello"},
		{Kind: KindPing, Seq: 7},
		{Kind: KindLeave, Seq: 1<<64 - 1},
	} {
		b, _ := testKey.Sign(p).Append(nil)
		f.Add(b)
	}
	f.Add([]byte("msg 1 " + testMAC64 + " hi"))
	f.Add([]byte("leave 1 AAAAAAAAAAAAAAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if testKey.Verify(p) != (p.Kind.signed() && testKey.Sign(p) == p) {
			t.Fatalf("Verify(%+v) disagrees with Sign", p)
		}
	})
}

func BenchmarkKeyVerify(b *testing.B) {
	p := testKey.Sign(Packet{Kind: KindMsg, Seq: 12345, Text: "a message of about sixty-four bytes, as the load tool sends"})
	b.ReportAllocs()
	for b.Loop() {
		if !testKey.Verify(p) {
			b.Fatal("does not verify")
		}
	}
}

// FuzzValidCookie checks the cookie decoder: no string is a valid cookie
// but the one the server issued, for its address, name and time.
