package timesync

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// eraBoundary is the first instant of NTP era 1.
var eraBoundary = time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)

func TestPacketRoundTrip(t *testing.T) {
	t.Parallel()
	p := Packet{
		Leap: LeapAddSecond, Version: 4, Mode: ModeServer, Stratum: 2, Poll: 6, Precision: -23,
		RootDelay: ShortOf(1500 * time.Microsecond), RootDispersion: 0x00010000,
		RefID:     [4]byte{192, 0, 2, 1},
		Reference: 0x0102030405060708, Origin: 0x1112131415161718,
		Receive: 0x2122232425262728, Transmit: 0xf1f2f3f4f5f6f7f8,
	}
	b, err := p.MarshalBinary()
	if err != nil || len(b) != PacketSize {
		t.Fatalf("MarshalBinary: %d bytes, %v", len(b), err)
	}
	if b[0] != 0x64 { // LI 1, VN 4, mode 4
		t.Errorf("first byte %#02x, want 0x64", b[0])
	}
	var q Packet
	if err := q.UnmarshalBinary(append(b, make([]byte, 20)...)); err != nil { // with a 20-byte MAC
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, q); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestPacketDecodeErrors(t *testing.T) {
	t.Parallel()
	var p Packet
	for _, tc := range []struct {
		n    int
		want error
	}{{0, ErrShortPacket}, {47, ErrShortPacket}, {49, ErrBadLength}, {50, ErrBadLength}, {48, nil}, {68, nil}} {
		if err := p.UnmarshalBinary(make([]byte, tc.n)); !errors.Is(err, tc.want) {
			t.Errorf("UnmarshalBinary(%d bytes) = %v, want %v", tc.n, err, tc.want)
		}
	}
}

func TestTimestampEras(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		tm   time.Time
		want Timestamp
	}{
		{"unix epoch", time.Unix(0, 0), 2208988800 << 32},
		{"last second of era 0", eraBoundary.Add(-time.Second), 0xffffffff << 32},
		{"half a second before", eraBoundary.Add(-time.Second / 2), 0xffffffff<<32 | 0x80000000},
		{"era 1 starts", eraBoundary, 0},
		{"era 1, 1.25 s", eraBoundary.Add(1250 * time.Millisecond), 1<<32 | 0x40000000},
		{"2026", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Timestamp(uint64(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).Unix()+ntpEpochOffset) << 32)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TimestampOf(tc.tm); got != tc.want {
				t.Errorf("TimestampOf(%v) = %v, want %v", tc.tm, got, tc.want)
			}
			// Read back with pivots on either side of the boundary.
			for _, pivot := range []time.Duration{-time.Hour, 0, time.Hour, -40 * 365 * 24 * time.Hour, 40 * 365 * 24 * time.Hour} {
				got := tc.want.Time(tc.tm.Add(pivot))
				if !got.Equal(tc.tm) {
					t.Errorf("Time(pivot %v away) = %v, want %v", pivot, got, tc.tm)
				}
			}
		})
	}
}

func TestTimestampSubAcrossEras(t *testing.T) {
	t.Parallel()
	before := TimestampOf(eraBoundary.Add(-300 * time.Millisecond))
	after := TimestampOf(eraBoundary.Add(200 * time.Millisecond))
	if before < after {
		t.Fatalf("timestamps do not wrap: %v < %v", before, after)
	}
	if d := after.Sub(before); d != 500*time.Millisecond {
		t.Errorf("after-before = %v, want 500ms", d)
	}
	if d := before.Sub(after); d != -500*time.Millisecond {
		t.Errorf("before-after = %v, want -500ms", d)
	}
}

func TestTimestampRounding(t *testing.T) {
	t.Parallel()
	for ns := int64(0); ns < 1e9; ns += 999_983 {
		tm := time.Unix(1_700_000_000, ns)
		got := TimestampOf(tm).Time(tm)
		if d := got.Sub(tm); d < -1 || d > 1 {
			t.Fatalf("%v read back as %v", tm, got)
		}
	}
}

func TestShort(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want Short
	}{{0, 0}, {-time.Second, 0}, {time.Second, 0x10000}, {time.Nanosecond, 1}, {time.Second / 2, 0x8000}, {1e6 * time.Second, 0xffffffff}} {
		if got := ShortOf(tc.d); got != tc.want {
			t.Errorf("ShortOf(%v) = %#x, want %#x", tc.d, got, tc.want)
		}
	}
	if d := Short(0x18000).Duration(); d != 1500*time.Millisecond {
		t.Errorf("Duration = %v", d)
	}
}

func TestClassification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    []byte
		ntp  bool
	}{
		{"v4 client", append([]byte{0x23}, make([]byte, 47)...), true},
		{"v3 client", append([]byte{0x1b}, make([]byte, 47)...), true},
		{"unsynchronised v4 client", append([]byte{0xe3}, make([]byte, 47)...), true},
		{"v1 client", append([]byte{0x0b}, make([]byte, 47)...), true},
		{"client with MAC", append([]byte{0x23}, make([]byte, 67)...), true},
		{"short", append([]byte{0x23}, make([]byte, 46)...), false},
		{"server mode", append([]byte{0x24}, make([]byte, 47)...), false},
		{"version 5", append([]byte{0x2b}, make([]byte, 47)...), false},
		{"version 0", append([]byte{0x03}, make([]byte, 47)...), false},
		{"format", []byte("%Y-%m-%d %H:%M:%S"), false},
		{"long format", bytes.Repeat([]byte("%T"), 30), false},
		{"long format starting with #", append([]byte("#"), bytes.Repeat([]byte("%T"), 30)...), true},
	} {
		if got := isNTPRequestHeader(tc.b); got != tc.ntp {
			t.Errorf("%s: NTP %v, want %v", tc.name, got, tc.ntp)
		}
	}
}

// FuzzPacket checks that the decoder never panics and that what it
// accepts encodes back to the same 48 bytes.
func FuzzPacket(f *testing.F) {
	p := Packet{Version: 4, Mode: ModeClient, Transmit: TimestampOf(eraBoundary)}
	b, _ := p.MarshalBinary()
	f.Add(b)
	f.Add(append([]byte{0xe3}, make([]byte, 47)...))
	f.Add(append(b, make([]byte, 20)...))
	f.Add([]byte("%Y-%m-%d"))
	f.Add(make([]byte, 49))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Packet
		if err := p.UnmarshalBinary(b); err != nil {
			return
		}
		out, err := p.MarshalBinary()
		if err != nil || !bytes.Equal(out, b[:PacketSize]) {
			t.Fatalf("re-encoded %x as %x (%v)", b[:PacketSize], out, err)
		}
		_ = p.KissCode()
		_ = RefIDString(p.Stratum, p.RefID)
		_ = p.Transmit.Time(time.Now())
		_ = p.Transmit.Sub(p.Receive)
	})
}
