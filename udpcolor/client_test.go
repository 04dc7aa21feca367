package udpcolor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
)

// startUDP runs s on a loopback UDP socket and returns its address and a
// func that shuts it down and checks ServePacket's error.
func startUDP(t *testing.T, s *Server) (string, func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), pc) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("ServePacket returned %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return pc.LocalAddr().String(), stop
}

func recv(t *testing.T, c *Conn) Message {
	t.Helper()
	select {
	case m, ok := <-c.Messages():
		if !ok {
			t.Fatalf("%s: session ended: %v", c.Name(), c.Err())
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no message", c.Name())
	}
	return Message{}
}

func TestClientGroup(t *testing.T) {
	t.Parallel()
	transcript := &clitest.Buffer{}
	addr, stop := startUDP(t, &Server{Transcript: transcript, PacketsPerSecond: -1})
	ctx := context.Background()
	var cl Client
	names := []string{"alice", "bob", "carol", "dave"}
	conns := make([]*Conn, len(names))
	for i, n := range names {
		c, err := cl.Join(ctx, addr, n)
		if err != nil {
			t.Fatalf("Join %s: %v", n, err)
		}
		conns[i] = c
	}
	for i, c := range conns {
		if err := c.Send(ctx, fmt.Sprintf("hello from %s", names[i])); err != nil {
			t.Fatal(err)
		}
		for j, o := range conns {
			if j == i {
				continue
			}
			want := Message{Name: names[i], Text: "hello from " + names[i]}
			if got := recv(t, o); got != want {
				t.Errorf("%s got %+v, want %+v", names[j], got, want)
			}
		}
	}
	if err := conns[0].Leave(ctx); err != nil {
		t.Errorf("Leave: %v", err)
	}
	if !errors.Is(conns[0].Err(), ErrLeft) {
		t.Errorf("Err after Leave = %v", conns[0].Err())
	}
	if err := conns[0].Send(ctx, "after leave"); err == nil {
		t.Error("Send after Leave succeeded")
	}
	// The others see the server shut down.
	stop()
	for _, c := range conns[1:] {
		for range c.Messages() {
		}
		if !errors.Is(c.Err(), ErrShutdown) {
			t.Errorf("%s: Err = %v, want ErrShutdown", c.Name(), c.Err())
		}
		c.Close()
	}
	for _, want := range []string{"* alice joined\n", "alice : hello from alice\n", "dave : hello from dave\n", "* alice left\n"} {
		if !strings.Contains(transcript.String(), want) {
			t.Errorf("transcript has no %q:\n%s", want, transcript.String())
		}
	}
}

func TestClientEscapes(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{})
	ctx := context.Background()
	var cl Client
	if _, err := cl.Join(ctx, addr, "ev\x1b[2Jil"); err == nil {
		t.Fatal("joined with an escape sequence in the name")
	}
	a, err := cl.Join(ctx, addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := cl.Join(ctx, addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := a.Send(ctx, "line\nbreak"); err == nil {
		t.Error("sent two lines in one message")
	}
	a.Send(ctx, "\x1b]2;title\x07\u202eclean\x1b[0m")
	if got := recv(t, b); got.Text != "clean" {
		t.Errorf("got %q, want the text without escapes", got.Text)
	}
}

func TestClientNameTaken(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{})
	ctx := context.Background()
	var cl Client
	a, err := cl.Join(ctx, addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = cl.Join(ctx, addr, "Alice")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != CodeNameTaken || !errors.Is(err, ErrRefused) {
		t.Fatalf("second Alice: %v, want a name-taken ServerError", err)
	}
}

func TestClientNoServer(t *testing.T) {
	t.Parallel()
	// A socket that never answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cl := Client{Attempts: 2, RetryInterval: 20 * time.Millisecond}
	if _, err := cl.Join(context.Background(), pc.LocalAddr().String(), "alice"); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Join to a silent socket: %v, want ErrNoAnswer", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		buf := make([]byte, MaxDatagram)
		pc.ReadFrom(buf) // the first join has arrived: give up
		cancel()
	}()
	cl = Client{Attempts: 1000, RetryInterval: time.Hour}
	if _, err := cl.Join(ctx, pc.LocalAddr().String(), "alice"); !errors.Is(err, context.Canceled) {
		t.Errorf("Join with a cancelled context: %v, want context.Canceled", err)
	}
}

// Nothing listens at the port: the host's ICMP port unreachable ends the
// join at its first attempt (here the attempts would last for hours),
// unless RetryUnreachable, when the attempts run out as for no answer.
func TestClientUnreachable(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second) // a bound, not a measure
	defer cancel()
	cl := Client{Attempts: 1000, RetryInterval: time.Hour}
	_, err = cl.Join(ctx, addr, "alice")
	if errors.Is(err, context.DeadlineExceeded) {
		t.Skip("this system reports no ICMP port unreachable on loopback")
	}
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Join where nothing listens: %v, want ErrNoAnswer and ECONNREFUSED", err)
	}
	cl = Client{Attempts: 2, RetryInterval: 10 * time.Millisecond, RetryUnreachable: true}
	_, err = cl.Join(ctx, addr, "alice")
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Join with RetryUnreachable: %v, want ErrNoAnswer and ECONNREFUSED", err)
	}
}

func TestClientExpires(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{MemberTimeout: 100 * time.Millisecond})
	cl := Client{KeepAlive: -1}
	c, err := cl.Join(context.Background(), addr, "sleepy")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("never expired")
	}
	if !errors.Is(c.Err(), ErrExpired) {
		t.Errorf("Err = %v, want ErrExpired", c.Err())
	}
}

func TestClientKeepAlive(t *testing.T) {
	t.Parallel()
	s := &Server{MemberTimeout: 200 * time.Millisecond}
	addr, _ := startUDP(t, s)
	cl := Client{KeepAlive: 20 * time.Millisecond}
	c, err := cl.Join(context.Background(), addr, "awake")
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := (&Client{KeepAlive: -1}).Join(context.Background(), addr, "quiet")
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	<-quiet.Done() // quiet expires while awake pings
	if c.Err() != nil || s.Members() != 1 {
		t.Errorf("pinging member: Err = %v, Members = %d", c.Err(), s.Members())
	}
	if err := c.Close(); err != nil || !errors.Is(c.Err(), ErrClosed) {
		t.Errorf("Close: %v, Err = %v", err, c.Err())
	}
	if _, ok := <-c.Messages(); ok {
		t.Error("Messages still open after Close")
	}
}

func TestClientManyMembers(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{PacketsPerSecond: -1, MaxMembersPerAddr: -1})
	ctx := context.Background()
	var cl Client
	const n = 20
	var conns []*Conn
	for i := range n {
		c, err := cl.Join(ctx, addr, fmt.Sprintf("m%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	conns[7].Send(ctx, "one to many")
	var got []string
	for i, c := range conns {
		if i != 7 {
			m := recv(t, c)
			got = append(got, m.Name+" : "+m.Text)
		}
	}
	if len(slices.Compact(got)) != 1 || got[0] != "m07 : one to many" {
		t.Errorf("got %v", got)
	}
}

func TestClientDialHook(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{})
	var dialed []string
	cl := Client{Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		dialed = append(dialed, network+" "+a)
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}}
	c, err := cl.Join(context.Background(), addr, "hooked")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if len(dialed) != 1 || dialed[0] != "udp "+addr {
		t.Errorf("Dial calls: %q", dialed)
	}
	cl.Dial = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("no network today") }
	if _, err := cl.Join(context.Background(), addr, "hooked"); err == nil || err.Error() != "no network today" {
		t.Errorf("Join with a failing Dial: %v", err)
	}
}

func TestServerTwoSockets(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addrA, _ := startUDP(t, s)
	addrB, _ := startUDP(t, s)
	ctx := context.Background()
	var cl Client
	a, err := cl.Join(ctx, addrA, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := cl.Join(ctx, addrB, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := cl.Join(ctx, addrB, "ALICE"); err == nil {
		t.Error("a name taken on one socket was free on the other")
	}
	a.Send(ctx, "across sockets")
	if m := recv(t, b); m.Text != "across sockets" {
		t.Errorf("bob got %+v", m)
	}
}

// fakeServer admits anyone and then ignores everything, like a server
// that died after the join.
func fakeServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, MaxDatagram+1)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			p, err := Parse(buf[:n])
			if err != nil || p.Kind != KindJoin {
				continue
			}
			reply := Packet{Kind: KindCookie, Name: p.Name, Cookie: "fake"}
			if p.Cookie != "" {
				reply = Packet{Kind: KindWelcome, Name: p.Name}
			}
			b, _ := reply.Append(nil)
			pc.WriteTo(b, from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

func TestClientLeaveUnanswered(t *testing.T) {
	t.Parallel()
	addr := fakeServer(t)
	cl := Client{Attempts: 2, RetryInterval: 10 * time.Millisecond}
	c, err := cl.Join(context.Background(), addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Leave(context.Background()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("Leave = %v, want ErrNoAnswer", err)
	}
	if err := c.Leave(context.Background()); !errors.Is(err, ErrLeft) {
		t.Errorf("second Leave = %v, want ErrLeft", err)
	}

	c, err = (&Client{}).Join(context.Background(), addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Leave(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Leave with a cancelled context = %v", err)
	}
}

func TestClientDropsWhenFull(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{})
	ctx := context.Background()
	a, err := (&Client{}).Join(ctx, addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := (&Client{Buffer: 1}).Join(ctx, addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 3 {
		a.Send(ctx, fmt.Sprint("message ", i))
	}
	giveUp := time.After(10 * time.Second)
	for b.Dropped() < 2 {
		select {
		case <-b.Done():
			t.Fatal(b.Err())
		case <-giveUp:
			t.Fatalf("Dropped = %d, want 2", b.Dropped())
		case <-time.After(time.Millisecond):
		}
	}
	if m := recv(t, b); m.Text != "message 0" {
		t.Errorf("kept %q, want the first message", m.Text)
	}
}

// A host gets DefaultMaxMembersPerAddr members and a clear refusal after
// that; another host (another loopback address) still joins.
func TestClientAddrFull(t *testing.T) {
	t.Parallel()
	addr, _ := startUDP(t, &Server{PacketsPerSecond: -1})
	ctx := context.Background()
	var cl Client
	for i := range DefaultMaxMembersPerAddr {
		c, err := cl.Join(ctx, addr, fmt.Sprint("host1-", i))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	_, err := cl.Join(ctx, addr, "host1-extra")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != CodeAddrFull {
		t.Fatalf("one join too many: %v, want an address-full ServerError", err)
	}
	if want := "udpcolor: refused by server: address-full at most 4 members per address"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	other := Client{Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		return d.DialContext(ctx, network, a)
	}}
	c, err := other.Join(ctx, addr, "host2")
	if err != nil {
		t.Fatalf("another host: %v", err)
	}
	c.Close()
}
