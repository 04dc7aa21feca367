package udpcolor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sockkit/sockkit"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
)

// datagram is one datagram of a memConn, with the address of its peer.
type datagram struct {
	b    []byte
	addr netip.AddrPort
}

// memConn is a net.PacketConn in memory: tests inject datagrams from any
// address, spoofed or not, and see every datagram the server writes, in
// order, with nothing lost.
type memConn struct {
	in      chan datagram
	out     chan datagram
	closed  chan struct{}
	once    sync.Once
	mu      sync.Mutex
	expired chan struct{} // closed while the read deadline is in the past
}

func newMemConn() *memConn {
	return &memConn{
		in:      make(chan datagram, 1<<16),
		out:     make(chan datagram, 1<<16),
		closed:  make(chan struct{}),
		expired: make(chan struct{}),
	}
}

func (c *memConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	expired := c.expired
	c.mu.Unlock()
	select {
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, os.ErrDeadlineExceeded
	default:
	}
	select {
	case d := <-c.in:
		return copy(b, d.b), net.UDPAddrFromAddrPort(d.addr), nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-expired:
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (c *memConn) WriteTo(b []byte, a net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.out <- datagram{bytes.Clone(b), a.(*net.UDPAddr).AddrPort()}
	return len(b), nil
}

func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memConn) LocalAddr() net.Addr                { return &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9090} }
func (c *memConn) SetDeadline(t time.Time) error      { return c.SetReadDeadline(t) }
func (c *memConn) SetWriteDeadline(t time.Time) error { return nil }

func (c *memConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.expired:
		if t.IsZero() || t.After(time.Now()) {
			c.expired = make(chan struct{})
		}
	default:
		if !t.IsZero() && !t.After(time.Now()) {
			close(c.expired)
		}
	}
	return nil
}

// clock is a fake clock for the server's now hook.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness runs a Server on a memConn with a frozen clock.
type harness struct {
	t     *testing.T
	s     *Server
	c     *memConn
	clock *clock
	errc  chan error
	sync  int
	keys  map[netip.AddrPort]*keyState // of the members joined through the harness
}

// keyState is what a member's client keeps to sign its datagrams.
type keyState struct {
	key Key
	seq uint64 // the counter of the last datagram signed
}

func newHarness(t *testing.T, s *Server) *harness {
	t.Helper()
	h := &harness{t: t, s: s, c: newMemConn(), clock: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}, errc: make(chan error, 1)}
	s.now = h.clock.Now
	go func() { h.errc <- s.ServePacket(context.Background(), h.c) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-h.errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServePacket returned %v, want ErrServerClosed", err)
		}
	})
	return h
}

func addr(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func (h *harness) send(from netip.AddrPort, b string) {
	h.c.in <- datagram{[]byte(b), from}
}

func (h *harness) sendPacket(from netip.AddrPort, p Packet) {
	h.t.Helper()
	b, err := p.Append(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.c.in <- datagram{b, from}
}

// drain returns every datagram the server has sent for the datagrams
// injected so far. It injects a join from a sentinel address and collects
// output until that join's cookie comes back: the server handles
// datagrams one at a time, in order.
func (h *harness) drain() []datagram {
	h.t.Helper()
	h.sync++
	sentinel := netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(h.sync)}), uint16(50000+h.sync))
	h.sendPacket(sentinel, Packet{Kind: KindJoin, Name: "sentinel"})
	var got []datagram
	timeout := time.After(10 * time.Second)
	for {
		select {
		case d := <-h.c.out:
			if d.addr == sentinel {
				return got
			}
			got = append(got, d)
		case <-timeout:
			h.t.Fatalf("no answer from the server; got so far: %v", got)
		}
	}
}

// join runs the cookie exchange for name at from, checks the welcome and
// keeps the member's key. It returns the cookie.
func (h *harness) join(from netip.AddrPort, name string) string {
	h.t.Helper()
	h.sendPacket(from, Packet{Kind: KindJoin, Name: name})
	got := h.drain()
	if len(got) != 1 {
		h.t.Fatalf("join %s: got %d datagrams, want a cookie: %v", name, len(got), got)
	}
	p, err := Parse(got[0].b)
	if err != nil || p.Kind != KindCookie || p.Name != name || got[0].addr != from {
		h.t.Fatalf("join %s: got %q to %v, want a cookie", name, got[0].b, got[0].addr)
	}
	h.sendPacket(from, Packet{Kind: KindJoin, Name: name, Cookie: p.Cookie})
	h.expectWelcome(h.drain(), from, name)
	return p.Cookie
}

// expectWelcome checks that got is one welcome for name to to, and keeps
// its key for the member's datagrams from then on.
func (h *harness) expectWelcome(got []datagram, to netip.AddrPort, name string) {
	h.t.Helper()
	if len(got) != 1 {
		h.t.Fatalf("got %d datagrams, want a welcome for %s: %v", len(got), name, got)
	}
	p, err := Parse(got[0].b)
	if err != nil || p.Kind != KindWelcome || p.Name != name || got[0].addr != to {
		h.t.Fatalf("got %q to %v, want a welcome for %s to %v", got[0].b, got[0].addr, name, to)
	}
	h.keep(to, p)
}

// keep records the key of welcome p, to the member at a.
func (h *harness) keep(a netip.AddrPort, p Packet) {
	if h.keys == nil {
		h.keys = make(map[netip.AddrPort]*keyState)
	}
	h.keys[a] = &keyState{key: p.Key}
}

// signed returns p as the member at from sends it next: with the next
// counter and its MAC.
func (h *harness) signed(from netip.AddrPort, p Packet) []byte {
	h.t.Helper()
	k := h.keys[from]
	if k == nil {
		h.t.Fatalf("no member at %v", from)
	}
	k.seq++
	p.Seq = k.seq
	b, err := k.key.Sign(p).Append(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// say sends a msg from the member at from.
func (h *harness) say(from netip.AddrPort, text string) {
	h.t.Helper()
	h.c.in <- datagram{h.signed(from, Packet{Kind: KindMsg, Text: text}), from}
}

// ping sends a ping from the member at from.
func (h *harness) ping(from netip.AddrPort) {
	h.t.Helper()
	h.c.in <- datagram{h.signed(from, Packet{Kind: KindPing}), from}
}

// leave sends a leave from the member at from.
func (h *harness) leave(from netip.AddrPort) {
	h.t.Helper()
	h.c.in <- datagram{h.signed(from, Packet{Kind: KindLeave}), from}
}

// expect checks that got holds exactly want, in any order.
func (h *harness) expect(got []datagram, want ...datagram) {
	h.t.Helper()
	key := func(d datagram) string { return d.addr.String() + " " + string(d.b) }
	count := map[string]int{}
	for _, d := range got {
		count[key(d)]++
	}
	for _, d := range want {
		count[key(d)]--
	}
	for k, n := range count {
		if n > 0 {
			h.t.Errorf("unexpected datagram %q (x%d)", k, n)
		} else if n < 0 {
			h.t.Errorf("missing datagram %q", k)
		}
	}
}

func dg(to netip.AddrPort, s string) datagram { return datagram{[]byte(s), to} }

var (
	alice = addr("10.0.0.1:41000")
	bob   = addr("10.0.0.2:42000")
	carol = addr("10.0.0.3:43000")
)

func TestServerRelays(t *testing.T) {
	t.Parallel()
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.join(carol, "carol")
	h.say(alice, "hello all")
	h.c.in <- datagram{append(h.signed(bob, Packet{Kind: KindMsg, Text: "hi alice"}), '\n'), bob} // as nc would send it
	h.expect(h.drain(),
		dg(bob, "relay alice : hello all"), dg(carol, "relay alice : hello all"),
		dg(alice, "relay bob : hi alice"), dg(carol, "relay bob : hi alice"))
	if got := h.s.Members(); got != 3 {
		t.Errorf("Members() = %d, want 3", got)
	}
	want := "* alice joined\n* bob joined\n* carol joined\nalice : hello all\nbob : hi alice\n"
	if transcript.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", transcript.String(), want)
	}
}

func TestServerSpoofedJoinsCostNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	const n = 5000
	for i := range n {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), 4000)
		h.sendPacket(from, Packet{Kind: KindJoin, Name: fmt.Sprintf("victim%d", i)})
	}
	got := h.drain()
	if len(got) != n {
		t.Fatalf("got %d answers to %d joins, want one cookie each", len(got), n)
	}
	for _, d := range got {
		if len(d.b) > MinJoin {
			t.Fatalf("cookie of %d bytes to %v: more than the %d-byte join", len(d.b), d.addr, MinJoin)
		}
	}
	h.s.mu.Lock()
	members, addrs := len(h.s.members), len(h.s.byAddr)
	h.s.mu.Unlock()
	if members != 0 || addrs != 0 {
		t.Errorf("unanswered cookies left %d members and %d addresses in the table", members, addrs)
	}
}

func TestServerNeverAmplifies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	stranger := addr("10.9.9.9:40000")
	h.join(alice, "alice")
	mac := strings.Repeat("A", 22)
	inputs := []string{
		"join/2 alice",                          // unpadded join
		"join/2 x",                              // unpadded join, free name
		"join x",                                // unpadded join of the first version
		"join/3 x",                              // unpadded join of a later version
		"msg hi",                                // not a member, no MAC
		"msg 1 " + mac + " hi",                  // not a member
		"msg 1 " + mac + strings.Repeat("x", 5), // malformed
		"msg 1 " + mac + " " + strings.Repeat("x", 50), // not a member, longer than the error
		"garbage",                              // malformed
		"\xff\xfe",                             // not UTF-8
		"welcome x " + strings.Repeat("A", 43), // a server verb
		"relay alice : " + strings.Repeat("y", 100),            // a server verb
		"join/2 alice " + strings.Repeat(" ", MinJoin),         // name taken
		"join/2 x forgedcookie" + strings.Repeat(" ", MinJoin), // bad cookie
		"join x" + strings.Repeat(" ", MinJoin),                // the first version
		"ping", "leave", "ping 1 " + mac, "leave 1 " + mac,
	}
	for _, in := range inputs {
		h.send(stranger, in)
		for _, d := range h.drain() {
			if d.addr != stranger {
				t.Errorf("%q from a stranger made the server send %q to %v", in, d.b, d.addr)
			}
			if len(d.b) > len(in) {
				t.Errorf("%q (%d bytes) from a stranger got %q (%d bytes)", in, len(in), d.b, len(d.b))
			}
		}
	}
	if h.s.Members() != 1 {
		t.Errorf("Members() = %d, want 1", h.s.Members())
	}
	// A plain line may get a short answer, within three times its size
	// on the wire (admit.Budget), never more; the members, who asked for
	// them, see it.
	for _, in := range []string{"a:b", "alex : 我要退学", "alice : me", "a:" + strings.Repeat("x", MaxText)} {
		from := addr("10.9.9.8:40000")
		h.send(from, in)
		for _, d := range h.drain() {
			if d.addr == alice && bytes.HasPrefix(d.b, []byte("plain ")) {
				continue
			}
			if d.addr != from {
				t.Errorf("%q from a stranger made the server send %q to %v", in, d.b, d.addr)
			}
			if len(d.b) > admit.Budget(len(in)) {
				t.Errorf("%q (%d bytes) from a stranger got %q (%d bytes)", in, len(in), d.b, len(d.b))
			}
		}
	}
}

func TestServerRefusals(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{MaxMembers: 2})
	pad := func(s string) string { return s + strings.Repeat(" ", MinJoin-len(s)) }
	h.join(alice, "alice")
	h.send(bob, pad("join/2 ALICE"))
	h.expect(h.drain(), dg(bob, "error name-taken ALICE"))

	// A cookie only works for its address, its name and its lifetime.
	h.sendPacket(bob, Packet{Kind: KindJoin, Name: "bob"})
	p, _ := Parse(h.drain()[0].b)
	h.send(carol, pad("join/2 bob "+p.Cookie))
	h.expect(h.drain(), dg(carol, "error bad-cookie"))
	h.send(bob, pad("join/2 bobby "+p.Cookie))
	h.expect(h.drain(), dg(bob, "error bad-cookie"))
	h.clock.Add(DefaultCookieLifetime + time.Second)
	h.send(bob, pad("join/2 bob "+p.Cookie))
	h.expect(h.drain(), dg(bob, "error bad-cookie"))
	h.send(bob, pad("join/2 al\x1b[31mice"))
	h.expect(h.drain(), dg(bob, "error bad-request"))
	// A client of the first version is told why it cannot join.
	h.send(bob, pad("join bob"))
	h.expect(h.drain(), dg(bob, "error version this server speaks join/2"))

	h.join(bob, "bob")
	h.send(carol, pad("join/2 carol"))
	h.expect(h.drain(), dg(carol, "error full carol"))
	if h.s.Members() != 2 {
		t.Errorf("Members() = %d, want 2", h.s.Members())
	}
}

func TestServerRejoin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	cookie := h.join(alice, "alice")
	key := h.keys[alice].key
	h.join(bob, "bob")
	h.say(alice, "one")
	h.expect(h.drain(), dg(bob, "relay alice : one"))
	// A retry whose welcome was lost gets the same welcome again, but
	// only with a valid cookie, and the counters go on.
	h.sendPacket(alice, Packet{Kind: KindJoin, Name: "alice", Cookie: "whatever"})
	h.expect(h.drain(), dg(alice, "error bad-cookie"))
	h.sendPacket(alice, Packet{Kind: KindJoin, Name: "alice", Cookie: cookie})
	h.expectWelcome(h.drain(), alice, "alice")
	if h.keys[alice].key != key {
		t.Error("a retried join got a new key")
	}
	h.keys[alice].seq = 0 // the counter of "one" again: seen already
	h.say(alice, "replayed")
	h.say(alice, "two")
	h.expect(h.drain(), dg(bob, "relay alice : two"))
	// Joining under a new name gives up the old one.
	h.join(alice, "alicia")
	if h.keys[alice].key == key {
		t.Error("a new name kept the old key")
	}
	h.join(carol, "alice")
	if h.s.Members() != 3 {
		t.Errorf("Members() = %d, want 3", h.s.Members())
	}
}

func TestServerLeave(t *testing.T) {
	t.Parallel()
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.leave(alice)
	h.say(bob, "still here?")
	h.say(alice, "ghost") // signed with a key that is no longer any member's
	h.expect(h.drain(), dg(alice, "bye alice left"), dg(alice, "error not-member"))
	h.join(carol, "alice") // the name is free again
	if !strings.Contains(transcript.String(), "* alice left\n") {
		t.Errorf("transcript has no leave:\n%s", transcript.String())
	}
}

func TestServerFlood(t *testing.T) {
	t.Parallel()
	// The clock is frozen, so the buckets never refill: exactly Burst
	// messages of the flooding member get through.
	const burst = 20
	h := newHarness(t, &Server{PacketsPerSecond: 10, PacketBurst: burst})
	h.join(alice, "alice")
	h.join(bob, "bob")
	for i := range 1000 {
		h.say(alice, fmt.Sprintf("flood %d", i))
	}
	got := h.drain()
	if len(got) != burst {
		t.Errorf("bob got %d of 1000 flooded messages, want %d", len(got), burst)
	}
	// Another member is not affected.
	h.say(bob, "fine")
	h.expect(h.drain(), dg(alice, "relay bob : fine"))
	// A second later the flooder has Rate more.
	h.clock.Add(time.Second)
	for range 100 {
		h.say(alice, "again")
	}
	if got := h.drain(); len(got) != 10 {
		t.Errorf("after 1s bob got %d messages, want 10", len(got))
	}
	if st := h.s.Stats(); st.Dropped.Rate != 1000-burst+100-10 {
		t.Errorf("DroppedRate = %d, want %d", st.Dropped.Rate, 1000-burst+100-10)
	}
}

// A member's address has two allowances: the member's own, for its
// signed datagrams, and its IP address's, for anything else (a join).
// Unsigned datagrams from its host, spoofed or not, use up the second
// only: the member still speaks.
func TestServerFloodFromMemberAddress(t *testing.T) {
	t.Parallel()
	const burst = 20
	h := newHarness(t, &Server{PacketsPerSecond: 10, PacketBurst: burst})
	h.join(alice, "alice")
	h.join(bob, "bob")
	sameHost := netip.AddrPortFrom(alice.Addr(), alice.Port()+1)
	for i := range 1000 {
		h.sendPacket(sameHost, Packet{Kind: KindJoin, Name: fmt.Sprintf("x%d", i)})
		h.send(alice, "msg 1 AAAAAAAAAAAAAAAAAAAAAA spoofed")
	}
	for _, d := range h.drain() {
		if d.addr != sameHost {
			t.Errorf("the flood made the server send %q to %v", d.b, d.addr)
		}
	}
	h.say(alice, "still here")
	h.expect(h.drain(), dg(bob, "relay alice : still here"))
	if st := h.s.Stats(); st.BadMACs != 1000 {
		t.Errorf("BadMACs = %d, want 1000", st.BadMACs)
	}
}

func TestServerOversize(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	h.join(alice, "alice")
	h.join(bob, "bob")
	long := "msg " + strings.Repeat("x", MaxDatagram) // cut to MaxDatagram+1 by the read
	h.send(alice, long)
	h.send(alice, long[:MaxDatagram+1])
	h.expect(h.drain()) // dropped: nothing relayed, nothing answered
	h.send(alice, long[:MaxDatagram])
	h.expect(h.drain(), dg(alice, "error bad-request"))
	h.say(alice, strings.Repeat("x", MaxText))
	h.expect(h.drain(), dg(bob, "relay alice : "+strings.Repeat("x", MaxText)))
}

func TestServerCleansText(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript, Color: ColorAlways, Palette: NewPalette(map[string]Color{"alice": 33, "bob": 64})})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.say(alice, "\x1b]0;owned\x07look \x1b[2Jhere\u202e!\x07")
	h.say(alice, "\x1b[31m")
	h.expect(h.drain(), dg(bob, "relay alice : look here!"))
	want := "* \x1b[38;5;33malice\x1b[0m joined\n* \x1b[38;5;64mbob\x1b[0m joined\n\x1b[38;5;33malice\x1b[0m : look here!\n"
	if transcript.String() != want {
		t.Errorf("transcript %q, want %q", transcript.String(), want)
	}
}

func TestServerExpiry(t *testing.T) {
	t.Parallel()
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.clock.Add(DefaultMemberTimeout / 2)
	h.ping(bob)
	h.drain()
	h.clock.Add(DefaultMemberTimeout/2 + time.Second)
	h.say(bob, "anyone?") // bob spoke in time; alice did not
	h.expect(h.drain(), dg(alice, "bye alice expired"))
	if h.s.Members() != 1 {
		t.Errorf("Members() = %d, want 1", h.s.Members())
	}
	if !strings.Contains(transcript.String(), "* alice expired\n") {
		t.Errorf("transcript has no expiry:\n%s", transcript.String())
	}
}

func TestServerShutdownSaysBye(t *testing.T) {
	t.Parallel()
	s := &Server{}
	c := newMemConn()
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), c) }()
	h := &harness{t: t, s: s, c: c}
	h.join(alice, "alice")
	h.join(bob, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ServePacket returned %v", err)
	}
	close(c.out)
	var got []datagram
	for d := range c.out {
		got = append(got, d)
	}
	h.expect(got, dg(alice, "bye alice shutdown"), dg(bob, "bye bob shutdown"))
	if err := s.ServePacket(context.Background(), newMemConn()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServePacket after Shutdown = %v", err)
	}
}

func TestServerContextCancel(t *testing.T) {
	t.Parallel()
	s := &Server{}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(ctx, newMemConn()) }()
	cancel()
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("ServePacket returned %v, want ErrServerClosed", err)
	}
}

func TestServerDropsServicePorts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	for _, from := range []string{"10.0.0.9:53", "10.0.0.9:0", "10.0.0.9:1023"} {
		h.sendPacket(addr(from), Packet{Kind: KindJoin, Name: "dns"})
	}
	h.expect(h.drain())
	if got := h.s.Stats().Dropped.Port; got != 3 {
		t.Errorf("DroppedPort = %d, want 3", got)
	}
}

func TestServerStats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	h.join(alice, "alice")
	h.join(bob, "bob")
	h.join(carol, "carol")
	h.say(alice, "one")
	h.say(bob, "two")
	h.send(bob, "nonsense")
	h.leave(carol)
	h.send(alice, "msg 1 AAAAAAAAAAAAAAAAAAAAAA forged")
	h.c.in <- datagram{h.signed(alice, Packet{Kind: KindPing}), alice}
	h.c.in <- datagram{h.signed(alice, Packet{Kind: KindMsg, Text: "once"}), alice}
	replay := h.signed(alice, Packet{Kind: KindMsg, Text: "once"})
	h.c.in <- datagram{replay, alice}
	h.c.in <- datagram{replay, alice}
	h.drain()
	got := h.s.Stats() // each join and drain above sent a sentinel a cookie: 7 of them
	want := Stats{
		Counters: sockkit.Counters{Conns: 2, ConnsTotal: 3, Requests: 4, Dropped: sockkit.Drops{Malformed: 1},
			BytesIn: got.BytesIn, BytesOut: got.BytesOut}, // bytes: checked below
		Left: 1, Cookies: 3 + 7, Relayed: 2 + 2 + 1 + 1, BadMACs: 1, Replays: 1}
	if got.BytesIn == 0 || got.BytesOut == 0 {
		t.Errorf("bytes in %d, out %d: not counted", got.BytesIn, got.BytesOut)
	}
	if got != want {
		t.Errorf("Stats() = %+v\nwant       %+v", got, want)
	}
}

func TestServerLogger(t *testing.T) {
	t.Parallel()
	logs := &bytes.Buffer{}
	var mu sync.Mutex
	h := newHarness(t, &Server{Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	h.join(alice, "alice")
	h.send(bob, "msg \x1b[31mnot a member")
	h.leave(alice)
	h.drain()
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	for _, want := range []string{"member joined", "name=alice", "member left"} {
		if !strings.Contains(out, want) {
			t.Errorf("log has no %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("peer text reached the log:\n%q", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Two servers must not be able to keep each other busy: a datagram of a
// kind only servers send, or garbage, gets no answer, so one spoofed
// datagram cannot start an exchange of errors between them.
func TestServerDoesNotAnswerServers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	for _, in := range []string{
		"error bad-request a client sends join, msg, ping or leave",
		"relay alice : hi",
		"bye alice left",
		"welcome alice",
		"14:05:09",
		"\x15unknown conversion %Q",
		"plain alice : hi",
		"server : received",
		"Server: hello",
	} {
		h.send(carol, in)
		if got := h.drain(); len(got) != 0 {
			t.Errorf("%q from a stranger was answered with %q", in, got[0].b)
		}
	}
}
