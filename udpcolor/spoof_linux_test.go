//go:build linux

package udpcolor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests in this file check the threat model of the package
// documentation with real spoofed datagrams: a raw IPv4 socket sends UDP
// datagrams on loopback whose source is another socket's address, as an
// off-path attacker would. They need root (CAP_NET_RAW).

// spoofer sends UDP datagrams with any IPv4 source address.
type spoofer struct{ fd int }

func newSpoofer(t *testing.T) *spoofer {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("spoofing source addresses needs a raw socket: run the tests as root")
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW) // implies IP_HDRINCL
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		t.Skipf("no raw socket (%v): the tests need CAP_NET_RAW", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return &spoofer{fd: fd}
}

// send sends payload to to as a UDP datagram from from.
func (sp *spoofer) send(t *testing.T, from, to netip.AddrPort, payload []byte) {
	t.Helper()
	dst := to.Addr().As4()
	if err := syscall.Sendto(sp.fd, udpPacket(from, to, payload), 0, &syscall.SockaddrInet4{Addr: dst}); err != nil {
		t.Fatalf("spoofing a datagram from %v: %v", from, err)
	}
}

// udpPacket returns an IPv4 packet holding a UDP datagram. The kernel
// fills in the IP header's checksum, identification and total length.
func udpPacket(from, to netip.AddrPort, payload []byte) []byte {
	b := make([]byte, 20+8+len(payload))
	b[0] = 0x45 // version 4, header of 5 words
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	b[8] = 64 // TTL
	b[9] = syscall.IPPROTO_UDP
	src, dst := from.Addr().As4(), to.Addr().As4()
	copy(b[12:16], src[:])
	copy(b[16:20], dst[:])
	u := b[20:]
	binary.BigEndian.PutUint16(u[0:], from.Port())
	binary.BigEndian.PutUint16(u[2:], to.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	binary.BigEndian.PutUint16(u[6:], udpChecksum(src, dst, u))
	return b
}

// udpChecksum is the checksum of RFC 768: the one's complement sum of the
// pseudo-header and the datagram.
func udpChecksum(src, dst [4]byte, u []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(b[i])<<8 | uint32(b[i+1])
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	add(src[:])
	add(dst[:])
	sum += syscall.IPPROTO_UDP + uint32(len(u))
	add(u)
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	if c := ^uint16(sum); c != 0 {
		return c
	}
	return 0xffff
}

// waitStats waits until ok holds for the server's Stats: until then the
// server has not seen every spoofed datagram yet.
func waitStats(t *testing.T, s *Server, what string, ok func(Stats) bool) {
	t.Helper()
	giveUp := time.Now().Add(10 * time.Second)
	for !ok(s.Stats()) {
		if time.Now().After(giveUp) {
			t.Fatalf("the server never saw %s: Stats = %+v", what, s.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// tapConn records what a client sends, as an eavesdropper would.
type tapConn struct {
	net.Conn
	mu   sync.Mutex
	sent [][]byte
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.sent = append(c.sent, bytes.Clone(b))
	c.mu.Unlock()
	return c.Conn.Write(b)
}

func (c *tapConn) last() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent[len(c.sent)-1]
}

// spoofRoom runs a server on loopback with members alice, whose datagrams
// are tapped, and bob.
func spoofRoom(t *testing.T) (s *Server, server netip.AddrPort, alice, bob *Conn, tap *tapConn) {
	t.Helper()
	s = &Server{}
	a, _ := startUDP(t, s)
	server = netip.MustParseAddrPort(a)
	ctx := context.Background()
	cl := Client{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tap = &tapConn{Conn: c}
		return tap, nil
	}}
	alice, err := cl.Join(ctx, a, "alice")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alice.Close() })
	bob, err = (&Client{}).Join(ctx, a, "bob")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bob.Close() })
	return s, server, alice, bob, tap
}

func addrOf(c *Conn) netip.AddrPort { return c.nc.LocalAddr().(*net.UDPAddr).AddrPort() }

// expectNext checks that the next message c receives is want: anything
// relayed before it would be a spoofed message that got through.
func expectNext(t *testing.T, c *Conn, want Message) {
	t.Helper()
	if got := recv(t, c); got != want {
		t.Errorf("%s got %+v, want %+v", c.Name(), got, want)
	}
}

// A spoofed msg in alice's name is not relayed, a spoofed leave does not
// remove her, and a spoofed ping does not count as hers; alice goes on.
func TestSpoofedDatagramsAsMember(t *testing.T) {
	t.Parallel()
	sp := newSpoofer(t)
	s, server, alice, bob, _ := spoofRoom(t)
	from := addrOf(alice)
	mac := strings.Repeat("A", macChars)
	guessed, _ := Key{}.Sign(Packet{Kind: KindMsg, Seq: 1000, Text: "I am alice (guessed key)"}).Append(nil)
	for _, b := range []string{
		"msg 1 " + mac + " I am alice (made-up MAC)",
		string(guessed),
		"leave 2 " + mac,
		"ping 3 " + mac,
	} {
		sp.send(t, from, server, []byte(b))
	}
	sp.send(t, from, server, []byte("msg I am alice (version 1)"))
	sp.send(t, from, server, []byte("leave"))
	waitStats(t, s, "the spoofed datagrams", func(st Stats) bool { return st.BadMACs == 4 && st.Dropped.Malformed == 2 })

	if err := alice.Send(context.Background(), "really me"); err != nil {
		t.Fatal(err)
	}
	expectNext(t, bob, Message{Name: "alice", Text: "really me"})
	if st := s.Stats(); st.Conns != 2 || st.Left != 0 || st.Requests != 1 {
		t.Errorf("Members = %d, Left = %d, Messages = %d; want 2, 0, 1", st.Conns, st.Left, st.Requests)
	}
	if alice.Err() != nil {
		t.Errorf("alice's session ended: %v", alice.Err())
	}
}

// A datagram of alice's, captured and sent again from her address, is
// refused.
func TestSpoofedReplay(t *testing.T) {
	t.Parallel()
	sp := newSpoofer(t)
	s, server, alice, bob, tap := spoofRoom(t)
	from := addrOf(alice)
	ctx := context.Background()
	alice.Send(ctx, "once")
	expectNext(t, bob, Message{Name: "alice", Text: "once"})
	captured := tap.last()
	sp.send(t, from, server, captured)
	sp.send(t, from, server, captured)
	waitStats(t, s, "the replays", func(st Stats) bool { return st.Replays == 2 })
	alice.Send(ctx, "twice")
	expectNext(t, bob, Message{Name: "alice", Text: "twice"})
	if st := s.Stats(); st.Requests != 2 {
		t.Errorf("Messages = %d, want 2", st.Requests)
	}

}

// An on-path attacker is outside the threat model: one that has read
// alice's welcome can sign in her name. The test shows that spoofed
// datagrams reach the server, so that the refusals above are the MAC's
// doing and not lost datagrams.
func TestSpoofedWithStolenKey(t *testing.T) {
	t.Parallel()
	sp := newSpoofer(t)
	_, server, alice, bob, _ := spoofRoom(t)
	b, _ := alice.key.Sign(Packet{Kind: KindMsg, Seq: 1 << 40, Text: "stolen key"}).Append(nil)
	sp.send(t, addrOf(alice), server, b)
	expectNext(t, bob, Message{Name: "alice", Text: "stolen key"})
}

// A spoofed join cannot become a member: the cookie goes to the spoofed
// address, which the attacker cannot read, and cannot be guessed or
// carried over from the attacker's own address. The victim gets no more
// bytes than were spoofed in its name.
func TestSpoofedJoinCannotGuessCookie(t *testing.T) {
	t.Parallel()
	sp := newSpoofer(t)
	s := &Server{PacketsPerSecond: -1}
	a, _ := startUDP(t, s)
	server := netip.MustParseAddrPort(a)
	victim := listenUDP(t)
	attacker := listenUDP(t)
	victimAddr := victim.LocalAddr().(*net.UDPAddr).AddrPort()

	// The attacker's own cookie, for the name, at its own address.
	join := func(cookie string) []byte {
		b, _ := Packet{Kind: KindJoin, Name: "mallory", Cookie: cookie}.Append(nil)
		return b
	}
	if _, err := attacker.WriteTo(join(""), net.UDPAddrFromAddrPort(server)); err != nil {
		t.Fatal(err)
	}
	own := readPacket(t, attacker)
	if own.Kind != KindCookie {
		t.Fatalf("the attacker got %+v, want a cookie", own)
	}

	// The victim reads what the server sends it, to count the bytes: the
	// attacker cannot.
	var spoofed, received int
	var kinds []string
	spoof := func(b []byte) {
		sp.send(t, victimAddr, server, b)
		spoofed += len(b)
		p, n := readPacketN(t, victim) // one at a time: no socket buffer overflows
		received += n
		if n > len(b) {
			t.Errorf("%d spoofed bytes got the victim %d bytes: %+v", len(b), n, p)
		}
		if k := p.Kind.String() + " " + p.Code; len(kinds) == 0 || kinds[len(kinds)-1] != k {
			kinds = append(kinds, k)
		}
	}
	spoof(join(""))         // the cookie goes to the victim
	spoof(join(own.Cookie)) // another address's cookie
	const guesses = 200
	raw := make([]byte, 20)
	binary.BigEndian.PutUint32(raw, uint32(time.Now().Unix())) // a fresh time, the MAC guessed
	for i := range guesses {
		binary.BigEndian.PutUint64(raw[4:], uint64(i)*0x9e3779b97f4a7c15)
		spoof(join(base64.RawURLEncoding.EncodeToString(raw)))
	}

	// The attacker heard nothing of it: the next thing it gets is the
	// answer to a join of its own, sent after all the spoofed ones.
	b, _ := Packet{Kind: KindJoin, Name: "sentinel"}.Append(nil)
	attacker.WriteTo(b, net.UDPAddrFromAddrPort(server))
	if p := readPacket(t, attacker); p.Kind != KindCookie || p.Name != "sentinel" {
		t.Errorf("the attacker got %+v, want the cookie of its own join", p)
	}
	if want := []string{"cookie ", "error " + CodeBadCookie}; fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("the victim got %v, want %v", kinds, want)
	}
	if received > spoofed {
		t.Errorf("the victim got %d bytes for %d spoofed in its name", received, spoofed)
	}
	if st := s.Stats(); st.Conns != 0 || st.ConnsTotal != 0 {
		t.Errorf("Members = %d, Joined = %d after spoofed joins", st.Conns, st.ConnsTotal)
	}
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func readPacket(t *testing.T, pc net.PacketConn) Packet {
	t.Helper()
	p, _ := readPacketN(t, pc)
	return p
}

// readPacketN reads one datagram and returns it parsed, with its size.
func readPacketN(t *testing.T, pc net.PacketConn) (Packet, int) {
	t.Helper()
	pc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, MaxDatagram+1)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	p, err := Parse(buf[:n])
	if err != nil {
		t.Fatalf("answer %q: %v", buf[:n], err)
	}
	return p, n
}
