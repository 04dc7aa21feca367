package timesync

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/opt"
)

// fakeNTP runs a scripted NTP server: for the i-th request it sends the
// datagrams reply returns. It stops when the test ends.
func fakeNTP(t *testing.T, reply func(i int, req Packet, rx time.Time) [][]byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			rx := time.Now()
			var req Packet
			if req.UnmarshalBinary(buf[:n]) != nil {
				continue
			}
			for _, b := range reply(i, req, rx) {
				pc.WriteTo(b, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

// goodReply is what a correct server would answer.
func goodReply(req Packet, rx time.Time, hold time.Duration) Packet {
	return Packet{
		Version: req.Version, Mode: ModeServer, Stratum: 1, RefID: [4]byte{'G', 'P', 'S'},
		Reference: TimestampOf(rx.Add(-time.Second)), Origin: req.Transmit,
		Receive: TimestampOf(rx), Transmit: TimestampOf(rx.Add(hold)),
	}
}

func encode(p Packet) []byte { b, _ := p.MarshalBinary(); return b }

func TestResponseValidation(t *testing.T) {
	t.Parallel()
	t1 := time.Now()
	good := goodReply(Packet{Version: 4, Transmit: 1}, t1, time.Microsecond)
	for _, tc := range []struct {
		name  string
		edit  func(p *Packet)
		check func(error) bool
	}{
		{"good", func(*Packet) {}, func(err error) bool { return err == nil }},
		{"mode 5", func(p *Packet) { p.Mode = ModeBroadcast }, isReplyError},
		{"mode 3", func(p *Packet) { p.Mode = ModeClient }, isReplyError},
		{"version 0", func(p *Packet) { p.Version = 0 }, isReplyError},
		{"KoD DENY", func(p *Packet) { p.Stratum = 0; p.RefID = [4]byte{'D', 'E', 'N', 'Y'} }, func(err error) bool {
			var k *KissOfDeathError
			return errors.As(err, &k) && k.Code == "DENY"
		}},
		{"unsynchronised leap", func(p *Packet) { p.Leap = LeapNotSynchronized }, func(err error) bool { return errors.Is(err, ErrUnsynchronized) }},
		{"stratum 16", func(p *Packet) { p.Stratum = 16 }, func(err error) bool { return errors.Is(err, ErrUnsynchronized) }},
		{"no receive", func(p *Packet) { p.Receive = 0 }, isReplyError},
		{"no transmit", func(p *Packet) { p.Transmit = 0 }, isReplyError},
		{"no reference", func(p *Packet) { p.Reference = 0 }, isReplyError},
		{"transmit before receive", func(p *Packet) { p.Transmit = TimestampOf(t1.Add(-time.Millisecond)) }, isReplyError},
		{"reference in the future", func(p *Packet) { p.Reference = TimestampOf(t1.Add(time.Hour)) }, isReplyError},
		{"root distance", func(p *Packet) { p.RootDispersion = ShortOf(2 * time.Second) }, isReplyError},
	} {
		p := good
		tc.edit(&p)
		_, err := responseOf(&p, t1, t1.Add(time.Millisecond))
		if !tc.check(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func isReplyError(err error) bool {
	var r *ReplyError
	return errors.As(err, &r)
}

// TestQueryKeepsLeastDelay scripts a server that, for the third request,
// claims to have held it for ten seconds: that sample has the least
// delay and must be the one kept. Bogus replies come first each time.
func TestQueryKeepsLeastDelay(t *testing.T) {
	t.Parallel()
	addr := fakeNTP(t, func(i int, req Packet, rx time.Time) [][]byte {
		hold := time.Duration(0)
		if i == 2 {
			hold = 10 * time.Second
		}
		r := goodReply(req, rx, hold)
		wrong := r
		wrong.Origin++ // not ours: ignored
		return [][]byte{encode(wrong), encode(r)[:40], encode(r)}
	})
	cl := Client{Samples: 4}
	r, err := cl.Query(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Samples != 4 || r.Offset < 4*time.Second || r.Stratum != 1 || RefIDString(r.Stratum, r.RefID) != "GPS" {
		t.Errorf("response %+v", r)
	}
}

func TestQueryTimeoutAndCancel(t *testing.T) {
	t.Parallel()
	silent := fakeNTP(t, func(int, Packet, time.Time) [][]byte { return nil })
	cl := Client{Samples: 2, Timeout: 50 * time.Millisecond}
	_, err := cl.Query(context.Background(), silent)
	var te *TimeoutError
	if !errors.As(err, &te) || te.Attempts != 2 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Query of a silent server: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	slow := Client{Samples: 3, Timeout: time.Hour}
	if _, err := slow.Query(ctx, silent); !errors.Is(err, context.Canceled) {
		t.Errorf("Query with a cancelled context: %v", err)
	}
	if _, err := slow.Format(ctx, silent, "%T"); !errors.Is(err, context.Canceled) {
		t.Errorf("Format with a cancelled context: %v", err)
	}
}

func TestQueryUnsynchronized(t *testing.T) {
	t.Parallel()
	addr := fakeNTP(t, func(i int, req Packet, rx time.Time) [][]byte {
		r := goodReply(req, rx, 0)
		r.Leap = LeapNotSynchronized
		return [][]byte{encode(r)}
	})
	var cl Client
	if _, err := cl.Query(context.Background(), addr); !errors.Is(err, ErrUnsynchronized) {
		t.Errorf("Query: %v", err)
	}
}

func TestQueryDialHook(t *testing.T) {
	t.Parallel()
	addr := startServer(t, &Server{})
	var dialed string
	cl := Client{Samples: 1, Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed = network + " " + a
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}}
	if _, err := cl.Query(context.Background(), addr); err != nil {
		t.Fatal(err)
	}
	if dialed != "udp "+addr {
		t.Errorf("dialed %q", dialed)
	}
}

// TestFormatRequestSize checks that the request leaves room for the
// longest reply within the server's budget of three times the request,
// and keeps to 47 bytes what the server would take for NTP at 48.
func TestFormatRequestSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		format string
		want   int
	}{
		{"%T", 3}, {"", 1}, {"%c", 8}, {"%Y-%m-%d %H:%M:%S", 18}, {"%Z", 6}, {"%A %B", 7},
		{strings.Repeat("%c", 10), 80}, {"#%T", 4}, {"c", 2}, {"#" + strings.Repeat("%c", 10), 47},
		{"#" + string(make([]byte, 46)), 0},
		{string(make([]byte, 200)), 201}, {strings.Repeat("%Z", 1000), DefaultMaxDatagram},
	} {
		got := FormatRequestSize(tc.format)
		if got != tc.want {
			t.Errorf("FormatRequestSize(%d bytes starting %q) = %d, want %d", len(tc.format), tc.format[:min(4, len(tc.format))], got, tc.want)
		}
		if cs, err := parseFormat(tc.format); err == nil && got != 0 && got < DefaultMaxDatagram && got != PacketSize-1 && admit.Budget(got) < maxLen(cs) {
			t.Errorf("FormatRequestSize(%q) = %d: no room for %d bytes", tc.format, got, maxLen(cs))
		}
	}
}

// TestFormatKeepsNewlines: a reply's newlines (%n) and tabs (%t) reach
// the caller; every other control character and escape sequence, which
// only a zone name could bring, does not.
func TestFormatKeepsNewlines(t *testing.T) {
	t.Parallel()
	loc := time.FixedZone("X\x1b[2J\aY", 3600)
	srv := &Server{Location: loc, Now: func() time.Time { return time.Date(2026, 3, 7, 14, 5, 9, 0, loc) }}
	addr := startServer(t, srv)
	var cl Client
	got, err := cl.Format(context.Background(), addr, "%H%n%M%t%S %Z")
	if want := "14\n05\t09 XY"; err != nil || got != want {
		t.Errorf("Format = %q, %v; want %q", got, err, want)
	}
}

// TestQueryDefaultPort checks that an address without a port means NTP's
// port 123.
func TestQueryDefaultPort(t *testing.T) {
	t.Parallel()
	var dialed []string
	cl := Client{Samples: 1, Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed = append(dialed, a)
		return nil, errors.New("no dialing in this test")
	}}
	for _, addr := range []string{"127.0.0.1", "[::1]", "localhost"} {
		cl.Query(context.Background(), addr)
	}
	want := []string{"127.0.0.1:123", "[::1]:123", "localhost:123"}
	if strings.Join(dialed, " ") != strings.Join(want, " ") {
		t.Errorf("dialed %q, want %q", dialed, want)
	}
}

// TestDefaultsNeverKiss runs a default Client ten times in a row, then
// one of 64 samples, each against a fresh default Server: the client's
// pace is the server's rate, so none meets a Kiss-o'-Death. Without the
// pacing the fifth query (past the burst of 16) got one.
func TestDefaultsNeverKiss(t *testing.T) {
	for _, tc := range []struct {
		name          string
		runs, samples int
	}{
		{"ten runs", 10, 0},
		{"64 samples", 1, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := &Server{}
			addr := startServer(t, srv)
			want := opt.Or(tc.samples, DefaultSamples)
			for i := range tc.runs {
				cl := Client{Samples: tc.samples}
				r, err := cl.Query(context.Background(), addr)
				if err != nil {
					t.Fatalf("run %d: %v", i+1, err)
				}
				if r.Samples != want {
					t.Fatalf("run %d: %d samples, want %d", i+1, r.Samples, want)
				}
			}
			if st := srv.Stats(); st.KissOfDeath != 0 || st.Dropped.Rate != 0 || st.NTPReplies != int64(tc.runs*want) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestQueryStopsAtRate: a Kiss-o'-Death "RATE" ends the query at once;
// the samples already taken come back with the error. The server allows
// three requests; the client, unpaced, asks for eight.
func TestQueryStopsAtRate(t *testing.T) {
	t.Parallel()
	srv := &Server{PacketsPerSecond: 0.001, PacketBurst: 3}
	addr := startServer(t, srv)
	cl := Client{Samples: 8, Interval: -1}
	r, err := cl.Query(context.Background(), addr)
	var kod *KissOfDeathError
	if !errors.As(err, &kod) || kod.Code != "RATE" {
		t.Fatalf("Query: %v, want a Kiss-o'-Death RATE", err)
	}
	if r == nil || r.Samples != 3 || r.Stratum != DefaultStratum {
		t.Fatalf("Query returned %+v, want the 3 samples taken before the Kiss-o'-Death", r)
	}
	// A format request from another socket, past the rate: once the
	// server has dropped it, it has seen every request the client sent
	// before it (a socket reads in order), and there was no fifth.
	c := dialUDP(t, addr)
	c.Write([]byte("%T\x00\x00"))
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().Dropped.Rate < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not see the format request")
		}
	}
	if st := srv.Stats(); st.NTPReplies != 3 || st.KissOfDeath != 1 || st.Dropped.Rate != 1 {
		t.Errorf("stats %+v, want 3 replies, 1 Kiss-o'-Death, 1 dropped", st)
	}

	// With no pause, 64 samples run into a default server's limit.
	addr = startServer(t, &Server{})
	cl = Client{Samples: 64, Interval: -1}
	r, err = cl.Query(context.Background(), addr)
	if !errors.As(err, &kod) || kod.Code != "RATE" || r == nil || r.Samples < DefaultPacketBurst || r.Samples >= 64 {
		t.Errorf("64 unpaced samples: %+v, %v; want a Kiss-o'-Death RATE after at least %d samples", r, err, DefaultPacketBurst)
	}
}

// TestQueryOtherKissDiscards: a Kiss-o'-Death other than RATE (DENY,
// RSTR) means the server must not be used: no samples come back.
func TestQueryOtherKissDiscards(t *testing.T) {
	t.Parallel()
	addr := fakeNTP(t, func(i int, req Packet, rx time.Time) [][]byte {
		r := goodReply(req, rx, 0)
		if i == 2 {
			r.Stratum, r.RefID = 0, [4]byte{'D', 'E', 'N', 'Y'}
		}
		return [][]byte{encode(r)}
	})
	cl := Client{Samples: 4, Interval: -1}
	r, err := cl.Query(context.Background(), addr)
	var kod *KissOfDeathError
	if !errors.As(err, &kod) || kod.Code != "DENY" || r != nil {
		t.Errorf("Query: %+v, %v; want no response and a Kiss-o'-Death DENY", r, err)
	}
}

// TestQueryPaceCancel: a query waiting for its next turn ends with its
// context, and returns the sample it has with the context's error. The clock hook cancels it as the first reply arrives (the
// conn, hidden behind a plain net.Conn, has no kernel timestamps, so the
// client reads its clock for them); the next request is an hour away.
func TestQueryPaceCancel(t *testing.T) {
	t.Parallel()
	srv := &Server{PacketsPerSecond: -1}
	addr := startServer(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reads := 0
	cl := Client{Samples: 2, Interval: time.Hour,
		Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, a)
			return struct{ net.Conn }{c}, err
		},
		Now: func() time.Time {
			if reads++; reads == 2 { // T1, then T4 of the first request
				cancel()
			}
			return time.Now()
		}}
	r, err := cl.Query(ctx, addr)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Query: %v, want context.Canceled", err)
	}
	// The sample it had before the end comes back with the error.
	if r == nil || r.Samples != 1 || r.Stratum != 1 {
		t.Errorf("Query returned %+v, want the one sample taken", r)
	}
	if st := srv.Stats(); st.NTPReplies != 1 {
		t.Errorf("%d replies, want 1", st.NTPReplies)
	}
}
