package timesync

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/dgram"
)

func TestNTPReply(t *testing.T) {
	t.Parallel()
	srv := &Server{
		Services: ServeNTP, Stratum: 2, RefID: "\xc0\x00\x02\x01", Precision: -25,
		RootDelay: time.Millisecond, RootDispersion: 2 * time.Millisecond, Leap: LeapAddSecond,
	}
	addr := startServer(t, srv)
	c := dialUDP(t, addr)
	for _, version := range []uint8{1, 2, 3, 4} {
		xmt := Timestamp(rand.Uint64() | 1)
		before := time.Now()
		b := roundTrip(t, c, ntpRequest(version, xmt))
		after := time.Now()
		if len(b) != PacketSize {
			t.Fatalf("reply of %d bytes", len(b))
		}
		var r Packet
		if err := r.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		want := Packet{
			Leap: LeapAddSecond, Version: version, Mode: ModeServer, Stratum: 2, Poll: 6, Precision: -25,
			RootDelay: ShortOf(time.Millisecond), RootDispersion: ShortOf(2 * time.Millisecond),
			RefID: [4]byte{192, 0, 2, 1}, Origin: xmt,
			Reference: r.Reference, Receive: r.Receive, Transmit: r.Transmit,
		}
		if r != want {
			t.Errorf("v%d reply\n got %+v\nwant %+v", version, r, want)
		}
		t2, t3, ref := r.Receive.Time(before), r.Transmit.Time(before), r.Reference.Time(before)
		// The kernel's receive timestamp and time.Now read the same clock;
		// allow for the rounding to 2^-32 s.
		if t2.Before(before.Add(-time.Nanosecond)) || t3.Before(t2) || after.Add(time.Nanosecond).Before(t3) {
			t.Errorf("timestamps out of order: sent %v, received %v, transmitted %v, back %v", before, t2, t3, after)
		}
		if ref.After(t2) || t2.Sub(ref) > time.Second {
			t.Errorf("reference time %v for receive time %v", ref, t2)
		}
	}
	if st := srv.Stats(); st.NTPReplies != 4 {
		t.Errorf("stats %+v", st)
	}
}

// TestNTPDrops sends datagrams the server must drop, each followed by a
// good request: the first reply must be the one to the good request.
func TestNTPDrops(t *testing.T) {
	t.Parallel()
	srv := &Server{Services: ServeNTP, PacketsPerSecond: -1}
	addr := startServer(t, srv)
	c := dialUDP(t, addr)
	valid := ntpRequest(4, 0x1234)
	with := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), valid...)) }
	bad := map[string][]byte{
		"empty":             {},
		"short":             valid[:47],
		"mode 1":            with(func(b []byte) []byte { b[0] = 0x21; return b }),
		"mode 2":            with(func(b []byte) []byte { b[0] = 0x22; return b }),
		"mode 4":            with(func(b []byte) []byte { b[0] = 0x24; return b }),
		"mode 5":            with(func(b []byte) []byte { b[0] = 0x25; return b }),
		"mode 6 control":    {0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
		"mode 7":            with(func(b []byte) []byte { b[0] = 0x27; return b }),
		"version 0":         with(func(b []byte) []byte { b[0] = 0x03; return b }),
		"version 5":         with(func(b []byte) []byte { b[0] = 0x2b; return b }),
		"length 49":         append(with(func(b []byte) []byte { return b }), 0),
		"length 50":         append(with(func(b []byte) []byte { return b }), 0, 0),
		"zero transmit":     ntpRequest(4, 0),
		"too large":         append(with(func(b []byte) []byte { return b }), make([]byte, DefaultMaxDatagram)...),
		"format":            []byte("%Y-%m-%d"),
		"format, long":      []byte(strings.Repeat("%T", 40)),
		"random text":       []byte("GET / HTTP/1.0\r\n\r\n"),
		"all 0xff":          bytes.Repeat([]byte{0xff}, 48),
		"all zero":          make([]byte, 48),
		"kiss from a peer":  with(func(b []byte) []byte { b[0] = 0xe4; copy(b[12:], "RATE"); return b }),
		"server reply":      with(func(b []byte) []byte { b[0] = 0x24; b[1] = 1; return b }),
		"broadcast":         with(func(b []byte) []byte { b[0] = 0x25; b[1] = 2; return b }),
		"ntpv5-like header": with(func(b []byte) []byte { b[0] = 0x2b; return b }),
	}
	n := 0
	for name, b := range bad {
		n++
		xmt := Timestamp(1000 + n)
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
		reply := roundTrip(t, c, ntpRequest(4, xmt))
		var r Packet
		if err := r.UnmarshalBinary(reply); err != nil || r.Origin != xmt {
			t.Errorf("%s: answered (reply %x)", name, reply)
		}
	}
	if st := srv.Stats(); st.NTPReplies != int64(n) || st.Dropped.Malformed+st.Dropped.Oversize != int64(n) {
		t.Errorf("stats %+v, want %d replies and %d dropped", st, n, n)
	}
}

func TestKissOfDeath(t *testing.T) {
	t.Parallel()
	srv := &Server{PacketsPerSecond: 0.001, PacketBurst: 2}
	addr := startServer(t, srv)
	c := dialUDP(t, addr)
	for i := range 2 {
		var r Packet
		if err := r.UnmarshalBinary(roundTrip(t, c, ntpRequest(4, Timestamp(10+i)))); err != nil || r.Stratum != DefaultStratum {
			t.Fatalf("request %d: %+v, %v", i, r, err)
		}
	}
	// Past the burst: Kiss-o'-Death, with no time in it.
	xmt := Timestamp(0xabcdef)
	var r Packet
	if err := r.UnmarshalBinary(roundTrip(t, c, ntpRequest(3, xmt))); err != nil {
		t.Fatal(err)
	}
	want := Packet{Leap: LeapNotSynchronized, Version: 3, Mode: ModeServer, Stratum: 0, Poll: 6,
		RefID: [4]byte{'R', 'A', 'T', 'E'}, Origin: xmt, Receive: xmt, Transmit: xmt}
	if r != want {
		t.Errorf("KoD\n got %+v\nwant %+v", r, want)
	}
	// The client reports it as an error type.
	cl := Client{Samples: 3}
	_, err := cl.Query(context.Background(), addr)
	var kod *KissOfDeathError
	if !errors.As(err, &kod) || kod.Code != "RATE" || !errors.Is(err, ErrKissOfDeath) {
		t.Fatalf("Query: %v, want a KissOfDeathError RATE", err)
	}
	// Kiss-o'-Death replies are limited too: the next ones are dropped,
	// and so are format requests past the rate.
	for range 3 {
		c.Write(ntpRequest(4, 77))
		c.Write([]byte("%T\x00\x00\x00\x00\x00\x00"))
	}
	// Wait until the server has seen all of them (loopback loses none).
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Dropped.Rate < 6; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the server saw %d of 6 datagrams", srv.Stats().Dropped.Rate)
		}
	}
	if st := srv.Stats(); st.KissOfDeath != 2 || st.NTPReplies != 2 || st.FormatReplies != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestEraBoundary runs a server and a client whose clocks cross the NTP
// era boundary of 2036-02-07 during the test, the server's 1.5 s ahead.
func TestEraBoundary(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		start      time.Duration // client clock at the start, from the boundary
		serverSkew time.Duration
	}{
		{"client before, server after", -time.Second, 1500 * time.Millisecond},
		{"both before, server behind", -3 * time.Second, -1500 * time.Millisecond},
		{"both after", time.Second, 1500 * time.Millisecond},
		{"server far behind", 10 * time.Second, -30 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			real0 := time.Now()
			clientNow := func() time.Time { return eraBoundary.Add(tc.start + time.Since(real0)) }
			serverNow := func() time.Time { return clientNow().Add(tc.serverSkew) }
			addr := startServer(t, &Server{Now: serverNow})
			cl := Client{Now: clientNow}
			r, err := cl.Query(context.Background(), addr)
			if err != nil {
				t.Fatal(err)
			}
			// The offset is the skew, within the loopback delay: a wrong era
			// would be 136 years off.
			if d := r.Offset - tc.serverSkew; d < -time.Second || d > time.Second {
				t.Errorf("offset %v, want about %v", r.Offset, tc.serverSkew)
			}
			if d := r.T2.Sub(r.T1) - tc.serverSkew; d < -time.Second || d > time.Second {
				t.Errorf("T1 %v, T2 %v", r.T1, r.T2)
			}
			if r.Delay < 0 || r.Delay > time.Minute {
				t.Errorf("delay %v", r.Delay)
			}
		})
	}
}

func TestFormatService(t *testing.T) {
	t.Parallel()
	fixed := docTime(t)
	srv := &Server{Now: func() time.Time { return fixed }, Location: fixed.Location(), MaxFormat: 64}
	addr := startServer(t, srv)
	var cl Client
	ctx := context.Background()
	for _, f := range []string{"%Y-%m-%d %H:%M:%S", "%s.%N", "%A %B %e %Z", "%%", "#%T", "日付 %F"} {
		got, err := cl.Format(ctx, addr, f)
		want, _ := Strftime(f, fixed)
		if err != nil || got != want {
			t.Errorf("Format(%q) = %q, %v; want %q", f, got, err, want)
		}
	}
	// The client refuses what the server would take for NTP.
	if _, err := cl.Format(ctx, addr, "#"+strings.Repeat("%T", 30)); err == nil {
		t.Error("a 61-byte format starting with # was sent")
	}
	// Errors the client sees before sending.
	var fe *FormatError
	if _, err := cl.Format(ctx, addr, "%Q"); !errors.As(err, &fe) {
		t.Errorf("Format(%%Q): %v", err)
	}
	if _, err := cl.Format(ctx, addr, "x"); !errors.As(err, &fe) {
		t.Errorf("Format(x), a format the server does not answer: %v", err)
	}

	c := dialUDP(t, addr)
	for _, tc := range []struct{ name, req, reply string }{
		{"ok, exact size", "%Y-%m-%d\x00\x00", "2026-03-07"},
		{"padding after NUL ignored", "%H\x00%Q\xff\x1b", "14"},
		{"the tutorial's unpadded request", "%Y-%m-%d", "2026-03-07"},
		{"reply too large", "%c%c%c%c%c%c%c%c", "\x15reply too large: 192 bytes, at most 104 for a 16-byte request"},
		{"unknown conversion", "%Q" + strings.Repeat("\x00", 30), "\x15unknown conversion %Q"},
		{"unknown conversion, unpadded", "%Q", "\x15unknown conversion %Q"},
		{"incomplete", "abc%\x00" + strings.Repeat("\x00", 30), "\x15incomplete conversion %"},
		{"too long", strings.Repeat("a", 63) + "%%\x00" + strings.Repeat("\x00", 30), "\x15format too long: 65 bytes, at most 64"},
	} {
		got := roundTrip(t, c, []byte(tc.req))
		if string(got) != tc.reply {
			t.Errorf("%s: reply %q, want %q", tc.name, got, tc.reply)
		}
		if len(got) > admit.Budget(len(tc.req)) {
			t.Errorf("%s: reply more than 3x the request", tc.name)
		}
	}
	// Not text, or text with no conversion (which would come back as
	// itself, as a formatted time sent on by a spoofed source would):
	// dropped. Then a good request is answered.
	for _, b := range []string{"\x00abc", "\x1b[2J%T", "\xff\xfe%T", "%T\u202e", "\x15%T",
		"2026-03-07 14:05:09", "#\x00\x00\x00"} {
		c.Write([]byte(b))
	}
	if got := roundTrip(t, c, []byte("%H%M")); string(got) != "1405" {
		t.Errorf("after bad datagrams: %q", got)
	}
	if st := srv.Stats(); st.Dropped.Malformed != 7 {
		t.Errorf("stats %+v", st)
	}
	// A server error reaches the client as a ServerError.
	srv2 := &Server{MaxFormat: 4}
	addr2 := startServer(t, srv2)
	var se *ServerError
	if _, err := cl.Format(ctx, addr2, "%H:%M:%S"); !errors.As(err, &se) || !strings.Contains(se.Reason, "too long") {
		t.Errorf("Format on a server with MaxFormat 4: %v", err)
	}
}

func TestServicesOff(t *testing.T) {
	t.Parallel()
	srv := &Server{Services: ServeFormat}
	addr := startServer(t, srv)
	c := dialUDP(t, addr)
	c.Write(ntpRequest(4, 99))
	if got := roundTrip(t, c, []byte("x%%")); string(got) != "x%" {
		t.Errorf("reply %q", got)
	}
	if st := srv.Stats(); st.NTPReplies != 0 || st.Dropped.Malformed != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestLowPorts checks that format requests from service ports are dropped
// (they could start a loop with an echo server), and NTP requests from
// port 123 are answered, as NTP peers use it.
func TestLowPorts(t *testing.T) {
	t.Parallel()
	pc := newFakePC()
	srv := &Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.Background(), pc) }()
	echoPort := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7}
	ntpPort := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 123}
	high := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
	pc.in <- fakeDgram{[]byte("%T\x00\x00\x00\x00\x00\x00"), echoPort}
	pc.in <- fakeDgram{ntpRequest(4, 5), ntpPort}
	pc.in <- fakeDgram{[]byte("%M\x00"), high}
	got := <-pc.out
	if got.addr.String() != ntpPort.String() || len(got.b) != PacketSize {
		t.Errorf("first reply %q to %v", got.b, got.addr)
	}
	got = <-pc.out
	if got.addr.String() != high.String() || len(got.b) != 2 {
		t.Errorf("second reply %q to %v", got.b, got.addr)
	}
	if st := srv.Stats(); st.Dropped.Port != 1 {
		t.Errorf("stats %+v", st)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServePacket: %v", err)
	}
}

func TestShutdownAndCancel(t *testing.T) {
	t.Parallel()
	t.Run("Shutdown", func(t *testing.T) {
		srv := &Server{}
		pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
		done := make(chan error, 1)
		go func() { done <- srv.ServePacket(context.Background(), pc) }()
		c := dialUDP(t, pc.LocalAddr().String())
		roundTrip(t, c, ntpRequest(4, 1)) // the server is running
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("ServePacket: %v", err)
		}
		// Not reused.
		pc2, _ := net.ListenPacket("udp", "127.0.0.1:0")
		if err := srv.ServePacket(context.Background(), pc2); !errors.Is(err, ErrServerClosed) {
			t.Fatalf("ServePacket after Shutdown: %v", err)
		}
		srv.Close()
		srv.Close()
	})
	t.Run("cancel", func(t *testing.T) {
		srv := &Server{}
		pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
		ctx, cancel := context.WithCancelCause(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.ServePacket(ctx, pc) }()
		cause := errors.New("test over")
		cancel(cause)
		if err := <-done; err != ErrServerClosed {
			t.Fatalf("ServePacket: %v", err)
		}
	})
	t.Run("bad stratum", func(t *testing.T) {
		srv := &Server{Stratum: 16}
		pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
		if err := srv.ServePacket(context.Background(), pc); err == nil || errors.Is(err, ErrServerClosed) {
			t.Fatalf("ServePacket: %v", err)
		}
	})
}

// TestNeverLarger sends random datagrams through the server's dispatch:
// no reply may be more than three times its request (the
// anti-amplification rule), and an NTP reply is as long as its request.
func TestNeverLarger(t *testing.T) {
	t.Parallel()
	srv := &Server{PacketsPerSecond: -1, Now: func() time.Time { return eraBoundary }}
	srv.init()
	from := dgram.AddrOf(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("%YmdHMSybBaAjpIZzsFTDeuwNf123#Kc[S \x00\x15\x23\xe3CgGhklnPrRtUVWxX")
	for range 20000 {
		req := make([]byte, r.IntN(80)+1)
		for i := range req {
			req[i] = alphabet[r.IntN(len(alphabet))]
		}
		if reply, stamp := srv.answer(nil, req, from, eraBoundary); !stamp && len(reply) > admit.Budget(len(req)) || stamp && len(reply) > len(req) {
			t.Fatalf("request %q: reply %q more than 3x larger", req, reply)
		}
	}
}

// FuzzServerAnswer feeds arbitrary datagrams to the server's dispatch:
// it must not panic, and no reply may be more than three times its request.
func FuzzServerAnswer(f *testing.F) {
	f.Add(ntpRequest(4, 1))
	f.Add([]byte("%Y-%m-%d %H:%M:%S\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("%Q"))
	f.Add([]byte("%c%n%t%G%V"))
	f.Add([]byte("#\x00"))
	f.Add(append([]byte{0xe3}, make([]byte, 51)...))
	srv := &Server{PacketsPerSecond: -1, Now: func() time.Time { return eraBoundary }}
	srv.init()
	from := dgram.AddrOf(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000})
	f.Fuzz(func(t *testing.T, req []byte) {
		if reply, stamp := srv.answer(nil, req, from, eraBoundary); !stamp && len(reply) > admit.Budget(len(req)) || stamp && len(reply) > len(req) {
			t.Fatalf("request %q: reply %q more than 3x larger", req, reply)
		}
	})
}

// TestIPv6 runs the server on the IPv6 loopback, where it reads and
// writes batches through golang.org/x/net/ipv6.
func TestIPv6(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	srv := &Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.Background(), pc) }()
	defer func() { srv.Close(); <-done }()
	var cl Client
	r, err := cl.Query(context.Background(), pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if r.Stratum != DefaultStratum || r.Samples != DefaultSamples {
		t.Errorf("response %+v", r)
	}
	if s, err := cl.Format(context.Background(), pc.LocalAddr().String(), "%%"); err != nil || s != "%" {
		t.Errorf("Format: %q, %v", s, err)
	}
}

// Linux refuses to send to port 0, and a batch send that failed on it
// once made the server retry the same reply forever; such requests are
// now dropped before an answer is made.
func TestNTPFromPortZeroDropped(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	srv.init()
	req := ntpRequest(4, 99)
	for _, port := range []int{0, 123, 40000} {
		from := dgram.AddrPort(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port)))
		reply, _ := srv.answer(nil, req, from, eraBoundary)
		if (len(reply) == 0) != (port == 0) {
			t.Errorf("NTP request from port %d: reply of %d bytes", port, len(reply))
		}
	}
}
