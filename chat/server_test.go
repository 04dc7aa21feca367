package chat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// hang bounds every wait in these tests; reaching it means a bug.
const hang = 15 * time.Second

// start runs s on a loopback listener and returns its address and a
// function that shuts it down and checks what Serve returned.
func start(t *testing.T, s *Server) (addr string, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background(), l) }()
	return l.Addr().String(), func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}
}

// raw is a client that speaks the protocol by hand, as a person with nc
// would.
type raw struct {
	t   *testing.T
	c   net.Conn
	r   *bufio.Reader
	irc bool // lines end with "\r\n" and fit in 512 bytes
}

func dialRaw(t *testing.T, addr string) *raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &raw{t: t, c: c, r: bufio.NewReader(c)}
}

func (r *raw) send(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.c, s); err != nil {
		r.t.Fatalf("send %q: %v", s, err)
	}
}

// line returns the next line from the server without its "\n".
func (r *raw) line() string {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(hang))
	s, err := r.r.ReadString('\n')
	if err != nil {
		r.t.Fatalf("reading a line: %v (have %q)", err, s)
	}
	if r.irc {
		if !strings.HasSuffix(s, "\r\n") || len(s) > ircMaxLine {
			r.t.Fatalf("bad IRC line (%d bytes): %q", len(s), s)
		}
		s = strings.TrimSuffix(s, "\r\n")
	}
	return strings.TrimSuffix(s, "\n")
}

// expect reads the next line and checks it.
func (r *raw) expect(want string) {
	r.t.Helper()
	if got := r.line(); got != want {
		r.t.Fatalf("got line %q, want %q", got, want)
	}
}

// until reads lines until one equals want, and returns the lines before it.
func (r *raw) until(want string) []string {
	r.t.Helper()
	var seen []string
	for {
		l := r.line()
		if l == want {
			return seen
		}
		seen = append(seen, l)
	}
}

// expectEOF reads until the server closes, and fails on any further line.
func (r *raw) expectEOF() {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(hang))
	rest, err := io.ReadAll(r.r)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		r.t.Fatalf("waiting for the server to close: %v", err)
	}
	if len(rest) > 0 {
		r.t.Fatalf("unexpected lines before close: %q", rest)
	}
}

// login connects and takes nick, and checks the greeting.
func login(t *testing.T, addr, nick string) *raw {
	t.Helper()
	r := dialRaw(t, addr)
	if l := r.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("first line %q, want HELLO", l)
	}
	r.send(nick + "\n")
	if l := r.line(); !strings.HasPrefix(l, "WELCOME "+nick+" ") {
		t.Fatalf("got %q, want WELCOME", l)
	}
	r.expect("JOIN lobby " + nick)
	return r
}

func TestSession(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{QuitWords: []string{"byebye", "q"}})
	defer stop()

	alice := login(t, addr, "alice")
	bob := login(t, addr, "bob")
	alice.expect("JOIN lobby bob")

	alice.send("hi bob\r\n")
	alice.expect("MSG lobby alice hi bob")
	bob.expect("MSG lobby alice hi bob")

	bob.send("/me waves\n")
	alice.expect("ME lobby bob waves")
	bob.expect("ME lobby bob waves")

	bob.send("//slash at the start\n")
	alice.expect("MSG lobby bob /slash at the start")
	bob.expect("MSG lobby bob /slash at the start")

	alice.send("/msg BOB psst\n")
	bob.expect("PRIV alice bob psst")
	alice.expect("PRIV alice bob psst")

	alice.send("/who\n")
	alice.expect("WHO lobby alice bob")

	bob.send("/join Go\n")
	alice.expect("PART lobby bob")
	bob.expect("PART lobby bob")
	bob.expect("JOIN go bob")
	bob.send("/rooms\n")
	bob.expect("ROOMS go=1 lobby=1")
	bob.send("/join go\n")
	bob.expect("INFO you are already in go")

	alice.send("only lobby hears this\n")
	alice.expect("MSG lobby alice only lobby hears this")

	bob.send("/nick robert\n")
	bob.expect("NICK go bob robert")
	alice.send("/msg bob still there?\n")
	alice.expect("ERR no-such-nick nobody is called bob")
	alice.send("/msg robert yes\n")
	alice.expect("PRIV alice robert yes")
	bob.expect("PRIV alice robert yes")

	alice.send("/frobnicate\n")
	alice.expect("ERR unknown-command no command /frobnicate; /help lists the commands")
	alice.send("/me\n")
	alice.expect("ERR usage /me ACTION")
	alice.send("/msg robert\n")
	alice.expect("ERR usage /msg NICK TEXT")
	alice.send("/join bad.room\n")
	if l := alice.line(); !strings.HasPrefix(l, "ERR bad-room ") {
		t.Fatalf("got %q, want ERR bad-room", l)
	}
	alice.send("   \n\n")
	alice.send("/help\n")
	if l := alice.line(); !strings.HasPrefix(l, "INFO commands: ") {
		t.Fatalf("got %q, want the help", l)
	}
	alice.line()
	alice.expect("INFO these words alone on a line also quit: byebye, q")

	bob.send("/join lobby\n")
	bob.expect("PART go robert")
	alice.expect("JOIN lobby robert")
	bob.expect("JOIN lobby robert")

	bob.send("/quit lunch time\n")
	bob.expect("BYE quit goodbye")
	bob.expectEOF()
	alice.expect("QUIT lobby robert lunch time")

	alice.send("  ByeBye \n")
	alice.expect("BYE quit goodbye")
	alice.expectEOF()
}

func TestNicknames(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()

	alice := login(t, addr, "Alice")
	for _, tt := range []struct{ send, want string }{
		{"/who\n", "ERR need-nick choose a nickname first: /nick NAME"},
		{"alice\n", "ERR nick-taken alice is taken; choose another nickname"},
		{"/nick ALICE\n", "ERR nick-taken ALICE is taken; choose another nickname"},
		{"-dash\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
		{"two words\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
		{"\x1b[31mbob\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
		{"b\u202eob\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
		{"abcdefghijklmnopq\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
		{"zoë\n", "ERR bad-nick a nickname is 1-16 letters, digits, _ or -, not starting with -"},
	} {
		r := dialRaw(t, addr)
		r.line()
		r.send(tt.send)
		r.expect(tt.want)
		r.c.Close()
	}
	// Changing only the case of one's own nickname is allowed.
	alice.send("/nick aLiCe\n")
	alice.expect("NICK lobby Alice aLiCe")
	// A released nickname can be taken again.
	alice.send("/nick al\n")
	alice.expect("NICK lobby aLiCe al")
	login(t, addr, "ALICE")
	alice.expect("JOIN lobby ALICE")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{MaxLineBytes: 64})
	defer stop()

	alice := login(t, addr, "alice")
	bob := login(t, addr, "bob")
	alice.expect("JOIN lobby bob")

	// An over-long line, sent in pieces, then a good one.
	bob.send(strings.Repeat("x", 50))
	bob.send(strings.Repeat("y", 5000))
	bob.send("\nafter\n")
	bob.expect("ERR too-long line longer than 64 bytes; dropped")
	bob.expect("MSG lobby bob after")
	alice.expect("MSG lobby bob after")
	// Exactly at the limit is fine.
	bob.send(strings.Repeat("z", 64) + "\r\n")
	alice.expect("MSG lobby bob " + strings.Repeat("z", 64))
	bob.expect("MSG lobby bob " + strings.Repeat("z", 64))

	// Invalid UTF-8.
	bob.send("caf\xe9\n")
	bob.expect("ERR bad-utf8 line is not valid UTF-8; dropped")
	bob.send("ok\xed\xa0\x80\n") // a surrogate: not UTF-8 either
	bob.expect("ERR bad-utf8 line is not valid UTF-8; dropped")

	// Escape sequences and controls are removed before anyone sees them.
	for _, tt := range []struct{ send, want string }{
		{"\x1b[31mred\x1b[0m text\n", "red text"},
		{"\x1b]0;pwned\x07title\n", "title"},
		{"bell\x07 and\x08 back\n", "bell and back"},
		{"trojan \u202eevil\u202c source\n", "trojan evil source"},
		{"c1 \u009b31m csi\n", "c1  csi"},
		{"tab\tkept é ✓\n", "tab\tkept é ✓"},
	} {
		bob.send(tt.send)
		alice.expect("MSG lobby bob " + tt.want)
		bob.expect("MSG lobby bob " + tt.want)
	}
	// Only controls: nothing left to say.
	bob.send("\x1b[2J\n/me \x1b[1mjumps\n")
	alice.expect("ME lobby bob jumps")
}

func TestVanishingClients(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()

	alice := login(t, addr, "alice")

	// Leaves in the middle of a line: the half line is never delivered.
	bob := login(t, addr, "bob")
	alice.expect("JOIN lobby bob")
	bob.send("half a li")
	bob.c.Close()
	alice.expect("QUIT lobby bob connection lost")

	// Reset in the middle of a line.
	carol := login(t, addr, "carol")
	alice.expect("JOIN lobby carol")
	carol.send("more than ha")
	carol.c.(*net.TCPConn).SetLinger(0)
	carol.c.Close()
	alice.expect("QUIT lobby carol connection lost")

	// Closes after a whole line: the line arrives.
	dave := login(t, addr, "dave")
	alice.expect("JOIN lobby dave")
	dave.send("last words\n")
	dave.c.(*net.TCPConn).CloseWrite()
	alice.expect("MSG lobby dave last words")
	alice.expect("QUIT lobby dave connection closed")

	// Vanishes before choosing a nickname.
	r := dialRaw(t, addr)
	r.send("erin")
	r.c.Close()

	alice.send("/who\n")
	alice.expect("WHO lobby alice")
}

func TestSlowClient(t *testing.T) {
	t.Parallel()
	srv := &Server{MaxQueueBytes: 64 << 10, LineRate: -1}
	addr, stop := start(t, srv)
	defer stop()

	fast := login(t, addr, "fast")
	slow := login(t, addr, "slow")
	fast.expect("JOIN lobby slow")
	sender := login(t, addr, "sender")
	fast.expect("JOIN lobby sender")

	// The sender talks until the slow client is dropped, in windows that
	// the sender and the fast client read before the next one; the fast
	// client checks that no line is lost or out of order.
	pad := strings.Repeat(".", 900)
	const window = 16
	read := make(chan int, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		sender.c.SetReadDeadline(time.Now().Add(hang))
		kicked := false
		for i := 0; !kicked; i++ {
			if i > 100000 {
				t.Error("the slow client was never disconnected")
				break
			}
			fmt.Fprintf(sender.c, "%d %s\n", i, pad)
			if i%window != window-1 {
				continue
			}
			for got := 0; got < window; {
				l, err := sender.r.ReadString('\n')
				if err != nil {
					t.Errorf("sender: %v", err)
					return
				}
				if strings.HasPrefix(l, "MSG ") {
					got++
				}
				kicked = kicked || l == "QUIT lobby slow too slow\n"
			}
			<-read
		}
		fmt.Fprintf(sender.c, "done done\n")
	}()
	next := 0
	for {
		l := fast.line()
		if l == "QUIT lobby slow too slow" {
			continue
		}
		if l == "MSG lobby sender done done" {
			break
		}
		var n int
		if _, err := fmt.Sscanf(l, "MSG lobby sender %d", &n); err != nil {
			t.Fatalf("unexpected line %q", l)
		}
		if n != next {
			t.Fatalf("got message %d, want %d", n, next)
		}
		next++
		if next%window == 0 {
			read <- next
		}
	}
	wg.Wait()

	// The slow client gets what fitted in its buffers, then, at best, the
	// BYE, and the connection closes.
	slow.c.SetReadDeadline(time.Now().Add(hang))
	all, err := io.ReadAll(slow.r)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("slow client: %v after %d bytes", err, len(all))
	}
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if last := lines[len(lines)-1]; last != "BYE slow you did not read fast enough" {
		t.Logf("slow client's last line: %.60q (the BYE did not fit)", last)
	}
	t.Logf("fast client got %d messages; slow client %d lines", next, len(lines))
}

func TestShutdownWithClients(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	addr, stop := start(t, srv)
	ctx := context.Background()

	var conns []*Conn
	for _, n := range []string{"a", "b", "c"} {
		c, err := Dial(ctx, addr, n)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	raw := login(t, addr, "rawuser")
	if err := conns[0].Say(ctx, "before shutdown"); err != nil {
		t.Fatal(err)
	}
	raw.until("MSG lobby a before shutdown")
	stop()
	// Sessions end one by one: another's QUIT may come before our BYE,
	// nothing else may.
	for _, l := range raw.until("BYE shutdown server shutting down") {
		if !strings.HasPrefix(l, "QUIT lobby ") {
			t.Errorf("before BYE: %q", l)
		}
	}
	raw.expectEOF()
	for _, c := range conns {
		var last Event
		for e := range c.Events() {
			last = e
		}
		if last.Kind != KindBye || last.Code != ByeShutdown {
			t.Errorf("%s: last event %+v, want BYE shutdown", c.Nick(), last)
		}
		var se *ServerError
		if err := c.Err(); !errors.As(err, &se) || se.Code != ByeShutdown || !errors.Is(err, ErrBye) {
			t.Errorf("%s: Err() = %v, want BYE shutdown", c.Nick(), err)
		}
		c.Close()
	}
	if n := srv.Stats().Conns; n != 0 {
		t.Errorf("%d connections left after Shutdown", n)
	}
}

func TestCloseAndCancel(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"close", "cancel"} {
		t.Run(how, func(t *testing.T) {
			srv := &Server{}
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- srv.Serve(ctx, l) }()
			c, err := Dial(context.Background(), l.Addr().String(), "x")
			if err != nil {
				t.Fatal(err)
			}
			r := login(t, l.Addr().String(), "y")
			if how == "close" {
				srv.Close()
			} else {
				cancel()
			}
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v", err)
			}
			for range c.Events() {
			}
			if c.Err() == nil {
				t.Error("no reason after the server closed")
			}
			c.Close()
			r.c.SetReadDeadline(time.Now().Add(hang))
			io.Copy(io.Discard, r.c)
			srv.Close()
		})
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{MaxConns: 2, IdleTimeout: 300 * time.Millisecond})
	defer stop()

	a := dialRaw(t, addr)
	a.line()
	b := dialRaw(t, addr)
	b.line()
	c := dialRaw(t, addr)
	c.expect("BYE full too many connections, try again later")
	c.expectEOF()
	// Idle clients are dropped, which makes room again.
	a.expect("BYE idle nothing received for 300ms")
	b.expect("BYE idle nothing received for 300ms")
	a.expectEOF()
	b.expectEOF()
	d := login(t, addr, "d")
	d.expect("BYE idle nothing received for 300ms")
}

func TestFloodControl(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{LineRate: 100, LineBurst: 2})
	defer stop()
	a := login(t, addr, "a")
	var b strings.Builder
	for i := range 30 {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	a.send(b.String()) // all at once: slowed down, not dropped
	for i := range 30 {
		a.expect(fmt.Sprintf("MSG lobby a line %d", i))
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []Message
	srv := &Server{Filter: func(m *Message) error {
		mu.Lock()
		seen = append(seen, *m)
		mu.Unlock()
		if strings.Contains(m.Text, "spam") {
			return errors.New("no spam\nplease")
		}
		m.Text = strings.ToUpper(m.Text) + "\x1b[2J"
		return nil
	}}
	addr, stop := start(t, srv)
	defer stop()
	a := login(t, addr, "a")
	a.send("buy spam\n")
	a.expect("ERR rejected no spam please")
	a.send("hello\n/me waves\n/msg a self\n")
	a.expect("MSG lobby a HELLO")
	a.expect("ME lobby a WAVES")
	a.expect("PRIV a a SELF")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 4 || seen[3].Kind != KindPrivate || seen[3].To != "a" || seen[1].Room != "lobby" {
		t.Errorf("filter saw %+v", seen)
	}
}

// countingHub is a Hub that wraps LocalHub, to show that the server goes
// through the interface.
type countingHub struct {
	LocalHub
	mu        sync.Mutex
	published int
}

func (h *countingHub) Publish(room string, line []byte) {
	h.mu.Lock()
	h.published++
	h.mu.Unlock()
	h.LocalHub.Publish(room, line)
}

func TestCustomHub(t *testing.T) {
	t.Parallel()
	h := new(countingHub)
	addr, stop := start(t, &Server{Hub: h, DefaultRoom: "Main"})
	a := login2(t, addr, "a", "main")
	a.send("x\n")
	a.expect("MSG main a x")
	stop()
	if h.published != 3 { // JOIN, MSG, QUIT
		t.Errorf("hub saw %d publishes, want 3", h.published)
	}
}

func login2(t *testing.T, addr, nick, room string) *raw {
	r := dialRaw(t, addr)
	r.line()
	r.send("/nick " + nick + "\n")
	r.line()
	r.expect("JOIN " + room + " " + nick)
	return r
}

func TestBadDefaultRoom(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Server{DefaultRoom: "no way"}).Serve(context.Background(), l); err == nil || errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve with a bad room: %v", err)
	}
}

func TestManyClients(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()
	const n, each = 20, 10
	ctx := context.Background()
	conns := make([]*Conn, n)
	for i := range conns {
		c, err := Dial(ctx, addr, fmt.Sprintf("u%d", i))
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	// Everyone talks at once; everyone must see every message, each
	// sender's in order, and all in the same order as everyone else.
	var wg sync.WaitGroup
	orders := make([][]string, n)
	for i, c := range conns {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := range each {
				if err := c.Say(ctx, fmt.Sprintf("%d", j)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for e := range c.Events() {
				if e.Kind == KindMessage {
					orders[i] = append(orders[i], e.Nick+":"+e.Text)
					if len(orders[i]) == n*each {
						return
					}
				}
			}
			t.Errorf("%s: events ended early: %v", c.Nick(), c.Err())
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if strings.Join(orders[i], ",") != strings.Join(orders[0], ",") {
			t.Fatalf("client %d saw another order than client 0", i)
		}
	}
	next := map[string]int{}
	for _, m := range orders[0] {
		nick, num, _ := strings.Cut(m, ":")
		if num != fmt.Sprint(next[nick]) {
			t.Fatalf("%s's messages out of order: %s after %d", nick, num, next[nick])
		}
		next[nick]++
	}
	for _, c := range conns {
		c.Close()
	}
}

func TestNetcat(t *testing.T) {
	t.Parallel()
	nc, err := exec.LookPath("nc")
	if err != nil {
		t.Skip("nc not installed (Debian package netcat-openbsd)")
	}
	addr, stop := start(t, &Server{QuitWords: []string{"byebye", "q"}})
	defer stop()
	watcher := login(t, addr, "watcher")

	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, nc, host, port)
	cmd.Stdin = strings.NewReader("ncuser\r\nhello from \x1b[5mnc\n/me leaves\nbyebye\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nc: %v\n%s", err, out)
	}
	watcher.expect("JOIN lobby ncuser")
	watcher.expect("MSG lobby ncuser hello from nc")
	watcher.expect("ME lobby ncuser leaves")
	watcher.expect("QUIT lobby ncuser")
	got := string(out)
	for _, want := range []string{"HELLO ", "WELCOME ncuser ", "MSG lobby ncuser hello from nc\n", "BYE quit goodbye\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("nc output lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasSuffix(got, "BYE quit goodbye\n") {
		t.Errorf("nc output does not end with the BYE:\n%s", got)
	}
}

// dropTelnetReplies returns b without the server's answers to telnet
// options: IAC WONT or IAC DONT, and the option.
func dropTelnetReplies(b []byte) []byte {
	out := b[:0]
	for i := 0; i < len(b); i++ {
		if b[i] == 0xff && i+2 < len(b) && (b[i+1] == 0xfc || b[i+1] == 0xfe) {
			i += 2
			continue
		}
		out = append(out, b[i])
	}
	return out
}

// FuzzServer sends arbitrary bytes to a live server as one client, next
// to a second client that watches: every line it gets back must be well
// formed and free of control characters, and the server must close the
// connection after the /quit that follows the input.
func FuzzServer(f *testing.F) {
	for _, s := range []string{
		"alice\nhi\n/quit\n", "/nick bob\r\n/join x\n/me \x1b[2J\n//x\n", "\xff\n\xc3\n",
		"a\n" + strings.Repeat("y", 300) + "\nz\n", "/msg watcher \u202ehi\n", "q\n", "/nick watcher\n/help\n",
		"x\n/nick y\n/who lobby\n/rooms\n/msg\n/frob\n", "half a line",
		"t\n\xff\xf4\xff\xfd\x06hi\r\n\xff\xfa\x1f\x00\x0a", "g\n/charset gbk\n\xc4\xe3\n/join #x\n",
	} {
		f.Add(s)
	}
	srv := &Server{LineRate: -1, MaxLineBytes: 128, QuitWords: []string{"q"}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(context.Background(), l)
	f.Cleanup(func() { srv.Close() })
	addr := l.Addr().String()
	watcher, err := Dial(context.Background(), addr, "watcher")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { watcher.Close() })
	go func() {
		for range watcher.Events() {
		}
	}()

	f.Fuzz(func(t *testing.T, in string) {
		if first, _, _ := strings.Cut(in, "\n"); ircFirstLine([]byte(first)) {
			return // IRC, which FuzzIRCSession covers
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(hang))
		// The input ends with a /quit rather than a half-close, so that
		// the server closes first and the reset below leaves no TIME_WAIT
		// on either side: thousands of runs would use up the ports.
		// Before it, IAC SE twice ends any telnet command left open.
		go io.WriteString(c, in+"\xff\xf0\xff\xf0\n/quit\n")
		all, err := io.ReadAll(c)
		if err != nil && !strings.Contains(err.Error(), "reset") {
			t.Fatalf("reading: %v", err)
		}
		c.(*net.TCPConn).SetLinger(0)
		// Lines in another charset are checked for their form only, and
		// the server's refusals of telnet options are taken out.
		otherCharset := strings.Contains(strings.ToLower(in), "/charset")
		all = dropTelnetReplies(all)
		for _, l := range strings.SplitAfter(string(all), "\n") {
			if l == "" {
				continue
			}
			if !strings.HasSuffix(l, "\n") {
				t.Fatalf("unterminated line %q", l)
			}
			if _, err := ParseEvent(l); err != nil {
				t.Fatalf("server sent %q: %v", l, err)
			}
			if bad := textsafe.Check(strings.TrimSuffix(l, "\n")); bad != nil && !otherCharset {
				t.Fatalf("server sent %q: %v", l, bad)
			}
		}
	})
}

// A connection that never takes a nickname is closed after
// RegisterTimeout, however often it sends something else.
func TestRegisterTimeout(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{RegisterTimeout: 400 * time.Millisecond})
	defer stop()
	joined := login(t, addr, "joined")
	r := dialRaw(t, addr)
	r.line() // HELLO
	for range 3 {
		r.send("/who\n") // a command before a nickname: an error, but traffic
		if l := r.line(); !strings.HasPrefix(l, "ERR ") {
			t.Fatalf("got %q, want an error", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.expect("BYE timeout no nickname within 400ms")
	r.expectEOF()
	// The registered client is not affected.
	joined.send("still here\n")
	joined.expect("MSG lobby joined still here")
}

// One address cannot take every connection slot.
func TestConnsPerSource(t *testing.T) {
	t.Parallel()
	srv := &Server{MaxConns: 10, MaxConnsPerSource: 2}
	addr, stop := start(t, srv)
	defer stop()
	a, b := dialRaw(t, addr), dialRaw(t, addr)
	a.line()
	b.line()
	c := dialRaw(t, addr)
	c.expect("BYE full too many connections from your address")
	c.expectEOF()
	// Another address of the host still gets in.
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skip("cannot dial from 127.0.0.2:", err)
	}
	defer conn.Close()
	other := &raw{t: t, c: conn, r: bufio.NewReader(conn)}
	if l := other.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("another address got %q", l)
	}
	if st := srv.Stats(); st.Dropped.SourceFull != 1 || st.Conns != 3 {
		t.Errorf("stats %+v", st.Counters)
	}
}

// Cancelling the context given to Serve is a graceful shutdown: every
// client gets its closing line.
func TestCancelSendsBye(t *testing.T) {
	t.Parallel()
	srv := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, l) }()
	r := login(t, l.Addr().String(), "alice")
	cancel()
	r.expect("BYE shutdown server shutting down")
	r.expectEOF()
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("Serve = %v, want ErrServerClosed", err)
	}
}

// Every numeric setting: zero is the default, -1 is "no limit" only where
// the doc says so, anything out of range is an error naming the field.
func TestSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		set     func(s *Server, v int)
		wantErr map[int]bool // by value; missing means no error
	}{
		{"MaxConns", func(s *Server, v int) { s.MaxConns = v }, nil},
		{"MaxConnsPerSource", func(s *Server, v int) { s.MaxConnsPerSource = v }, nil},
		{"MaxLineBytes", func(s *Server, v int) { s.MaxLineBytes = v }, map[int]bool{-1: true, 1 << 40: true}},
		{"MaxQueueBytes", func(s *Server, v int) { s.MaxQueueBytes = v }, map[int]bool{-1: true}},
		{"SendBuffer", func(s *Server, v int) { s.SendBuffer = v }, nil},
		{"WriteTimeout", func(s *Server, v int) { s.WriteTimeout = time.Duration(v) }, nil},
		{"WriteInterval", func(s *Server, v int) { s.WriteInterval = time.Duration(v) }, nil},
		{"IdleTimeout", func(s *Server, v int) { s.IdleTimeout = time.Duration(v) }, nil},
		{"RegisterTimeout", func(s *Server, v int) { s.RegisterTimeout = time.Duration(v) }, nil},
		{"ShutdownTimeout", func(s *Server, v int) { s.ShutdownTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"LineRate", func(s *Server, v int) { s.LineRate = float64(v) }, nil},
		{"LineBurst", func(s *Server, v int) { s.LineBurst = v }, map[int]bool{-1: true}},
	}
	for _, tt := range tests {
		for _, v := range []int{-1, 0, 1, 1 << 40} {
			t.Run(fmt.Sprintf("%s=%d", tt.name, v), func(t *testing.T) {
				srv := &Server{}
				tt.set(srv, v)
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				go func() { errc <- srv.Serve(context.Background(), l) }()
				if tt.wantErr[v] {
					err := <-errc
					if err == nil || errors.Is(err, ErrServerClosed) || !strings.Contains(err.Error(), "chat: "+tt.name+" ") {
						t.Fatalf("Serve = %v, want an error naming %s", err, tt.name)
					}
					return
				}
				srv.Close()
				if err := <-errc; err != ErrServerClosed {
					t.Fatalf("Serve = %v, want it to run", err)
				}
			})
		}
	}
}
