package echo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/transform"
)

// fakeServer accepts one connection on a pipe and runs handle on it.
func fakeServer(t *testing.T, handle func(c net.Conn)) *Conn {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		handle(server)
	}()
	cn := new(Client).NewConn(client, false)
	t.Cleanup(func() {
		cn.Close()
		<-done
	})
	return cn
}

func TestClientManyRoundTripsOneConnection(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addr := serveTCP(t, s)
	cn, err := Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	for _, size := range []int{0, 1, 64, 1024, 32 << 10, 32<<10 + 1, 1 << 20, 4 << 20} {
		msg := randomBytes(size)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		got, err := cn.Echo(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: reply differs at %d", size, firstDiff(msg, got))
		}
	}
	if got := s.Stats().ConnsTotal; got != 1 {
		t.Fatalf("server accepted %d connections for one Conn", got)
	}
}

func TestClientReadsExactlyTheReply(t *testing.T) {
	t.Parallel()
	// A server that sends each reply one byte at a time: a single read is
	// never the whole message.
	cn := fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for i := 0; i < n; i++ {
				if _, err := c.Write(buf[i : i+1]); err != nil {
					return
				}
			}
		}
	})
	for _, msg := range []string{"first message", "second", "third, longer than the others"} {
		got, err := cn.Echo(context.Background(), []byte(msg))
		if err != nil || string(got) != msg {
			t.Fatalf("Echo(%q) = %q, %v", msg, got, err)
		}
	}
}

func TestClientMismatch(t *testing.T) {
	t.Parallel()
	addr := serveTCP(t, &Server{Transform: Upper})
	cn, err := Dial(context.Background(), "tcp", addr) // no Transform: expects "abc"
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	got, err := cn.Echo(context.Background(), []byte("abc"))
	var me *MismatchError
	if !errors.As(err, &me) || string(got) != "ABC" || string(me.Want) != "abc" {
		t.Fatalf("Echo = %q, %v; want ABC and a MismatchError", got, err)
	}
}

func TestClientContextBreaksConn(t *testing.T) {
	t.Parallel()
	// A server that reads and never answers.
	cn := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := cn.Echo(ctx, []byte("anyone?"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Echo = %v, want deadline exceeded", err)
	}
	_, err = cn.Echo(context.Background(), []byte("again"))
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("Echo after interrupted round trip = %v, want ErrBroken", err)
	}

	cn2 := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := cn2.Echo(ctx2, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Echo = %v, want canceled", err)
	}
}

func TestClientUDPRetriesAndMatching(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	// Drops the first datagram of every pair, and answers the second
	// with a stray datagram first, then the echo.
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if i%2 == 0 {
				continue
			}
			pc.WriteTo([]byte("stray"), from)
			pc.WriteTo(buf[:n], from)
		}
	}()
	defer func() { pc.Close(); <-done }()
	cl := &Client{Timeout: 100 * time.Millisecond}
	cn, err := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	for _, msg := range []string{"one", "two", "three"} {
		got, err := cn.Echo(context.Background(), []byte(msg))
		if err != nil || string(got) != msg {
			t.Fatalf("Echo(%q) = %q, %v", msg, got, err)
		}
	}
}

func TestClientUDPTimeout(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cl := &Client{Timeout: 30 * time.Millisecond, Retries: 3}
	cn, err := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	_, err = cn.Echo(context.Background(), []byte("hello?"))
	var te *TimeoutError
	if !errors.As(err, &te) || te.Attempts != 4 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Echo = %v, want TimeoutError after 4 attempts", err)
	}
	// The context's deadline wins over the attempts.
	cl.Timeout = time.Hour
	cn2, _ := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	defer cn2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cn2.Echo(ctx, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Echo = %v, want the context's deadline", err)
	}
	if _, err := cl.Connect(context.Background(), "sctp", "x"); err == nil {
		t.Fatal("Connect accepted an unsupported network")
	}
}

func TestClientAccept(t *testing.T) {
	t.Parallel()
	// A client that does not know the server's transform gets the reply
	// of either server, and stays in step even when upper-casing changes
	// the length ("ﬀ", 3 bytes, becomes "FF").
	msgs := []string{"123", "hello", "ﬀ", "straße", "42"}
	tests := []struct {
		name      string
		transform func() transform.Transformer // the server's
		want      func(string) string
	}{
		{"plain", nil, func(s string) string { return s }},
		{"upper", Upper, func(s string) string { return string(must(transform.Bytes(Upper(), []byte(s)))) }},
	}
	for _, tt := range tests {
		for _, network := range []string{"tcp", "udp"} {
			t.Run(tt.name+" "+network, func(t *testing.T) {
				srv := &Server{Transform: tt.transform}
				addr := serveTCP(t, srv)
				if network == "udp" {
					addr = serveUDP(t, srv)
				}
				cl := &Client{Accept: []func() transform.Transformer{Upper}}
				cn, err := cl.Connect(context.Background(), network, addr)
				if err != nil {
					t.Fatal(err)
				}
				defer cn.Close()
				for _, msg := range msgs {
					got, err := cn.Echo(context.Background(), []byte(msg))
					if err != nil || string(got) != tt.want(msg) {
						t.Fatalf("Echo(%q) = %q, %v; want %q", msg, got, err, tt.want(msg))
					}
				}
			})
		}
	}
}

func must[T any](v T, _ int, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestClientAcceptLearns(t *testing.T) {
	t.Parallel()
	// A server that upper-cases its first reply, then echoes unchanged:
	// once the client has seen an upper-cased reply it expects only those.
	cn := fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 64)
		for i := 0; ; i++ {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			reply := buf[:n]
			if i == 0 {
				reply = bytes.ToUpper(reply)
			}
			if _, err := c.Write(reply); err != nil {
				return
			}
		}
	})
	cn.mirrors = append(cn.mirrors, &mirror{t: Upper()}) // as Accept: {Upper} does
	if got, err := cn.Echo(context.Background(), []byte("first")); err != nil || string(got) != "FIRST" {
		t.Fatalf("first Echo = %q, %v", got, err)
	}
	got, err := cn.Echo(context.Background(), []byte("second"))
	var me *MismatchError
	if !errors.As(err, &me) || !me.Unchanged || string(got) != "second" {
		t.Fatalf("second Echo = %q, %v; want a MismatchError for the unchanged reply", got, err)
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		wants   []string
		stream  string
		got     string
		matched []bool
		rest    string // left unread
	}{
		{"one", []string{"abc"}, "abcdef", "abc", []bool{true}, "def"},
		{"one mismatch", []string{"abc"}, "abXdef", "abX", []bool{false}, "def"},
		{"second of two", []string{"abc", "ABC"}, "ABCabc", "ABC", []bool{false, true}, "abc"},
		{"both the same", []string{"123", "123"}, "123", "123", []bool{true, true}, ""},
		{"shorter wins", []string{"abcd", "ab"}, "abcd", "ab", []bool{true, true}, "cd"},
		{"longer one", []string{"ab", "aXcd"}, "aXcdef", "aXcd", []bool{false, true}, "ef"},
		{"neither", []string{"abc", "ABC"}, "xyz!", "xyz", []bool{false, false}, "!"},
		{"neither, lengths differ", []string{"ab", "ABCD"}, "xyz!", "xy", []bool{false, false}, "z!"},
		{"empty", []string{""}, "abc", "", []bool{true}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wants := make([][]byte, len(tt.wants))
			for i, w := range tt.wants {
				wants[i] = []byte(w)
			}
			r := bytes.NewReader([]byte(tt.stream))
			got, matched, err := readReply(r, wants)
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(r)
			if diff := cmp.Diff([]any{tt.got, tt.matched, tt.rest}, []any{string(got), matched, string(rest)}); diff != "" {
				t.Errorf("got, matched, rest (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := readReply(bytes.NewReader([]byte("ab")), [][]byte{[]byte("abc")}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("short stream: %v, want unexpected EOF", err)
	}
}

func TestMismatchErrorSays(t *testing.T) {
	t.Parallel()
	other := func(c net.Conn) { // answers every message with as many 'x'
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(bytes.Repeat([]byte("x"), n)); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name      string
		server    *Server // nil: other
		client    Client
		unchanged bool
		upper     bool
		says      string
	}{
		{"upper server, plain client", &Server{Transform: Upper}, Client{}, false, true, "): it is the message sent in upper case"},
		{"plain server, upper client", &Server{}, Client{Transform: Upper}, true, false, "): it is the message sent, unchanged"},
		{"another server", nil, Client{Accept: []func() transform.Transformer{Upper}}, false, false, "first difference at byte 0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cn *Conn
			if tt.server == nil {
				c, s := net.Pipe()
				go func() { defer s.Close(); other(s) }()
				cn = tt.client.NewConn(c, false)
			} else {
				var err error
				cn, err = tt.client.Connect(context.Background(), "tcp", serveTCP(t, tt.server))
				if err != nil {
					t.Fatal(err)
				}
			}
			defer cn.Close()
			_, err := cn.Echo(context.Background(), []byte("hello"))
			var me *MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("Echo = %v, want a MismatchError", err)
			}
			if me.Unchanged != tt.unchanged || me.Upper != tt.upper || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("MismatchError{Unchanged: %v, Upper: %v} %q; want %v, %v, saying %q", me.Unchanged, me.Upper, err, tt.unchanged, tt.upper, tt.says)
			}
			if me.Err != nil {
				t.Errorf("over TCP, Err = %v", me.Err)
			}
		})
	}
}

func TestMismatchErrorUDP(t *testing.T) {
	t.Parallel()
	addr := serveUDP(t, &Server{Transform: Upper})
	cl := &Client{Timeout: 50 * time.Millisecond, Retries: 1}
	cn, err := cl.Connect(context.Background(), "udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	got, err := cn.Echo(context.Background(), []byte("quiet"))
	var me *MismatchError
	var te *TimeoutError
	if !errors.As(err, &me) || !me.Upper || string(got) != "QUIET" || !errors.As(err, &te) || te.Attempts != 2 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Echo = %q, %v; want QUIET in a MismatchError wrapping a TimeoutError of 2 attempts", got, err)
	}
	if !strings.Contains(err.Error(), "no reply after 2 attempts") {
		t.Errorf("message %q does not say how long it waited", err)
	}

	// The context's deadline ends the wait instead: the mismatch says so.
	cl.Timeout = time.Hour
	cn2, err := cl.Connect(context.Background(), "udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = cn2.Echo(ctx, []byte("quiet"))
	if !errors.As(err, &me) || !me.Upper || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Echo = %v; want a MismatchError wrapping the deadline", err)
	}
}

func TestClientFinish(t *testing.T) {
	t.Parallel()
	upper, plain := serveTCP(t, &Server{Transform: Upper}), serveTCP(t, &Server{})
	tests := []struct {
		name    string
		addr    string
		client  Client
		msgs    []string
		replies []string // one per message, then Finish's
	}{
		{"plain", plain, Client{}, []string{"hello"}, []string{"hello", ""}},
		{"upper", upper, Client{Transform: Upper}, []string{"hello"}, []string{"HELLO", ""}},
		// A character split across two messages comes back with the
		// second; one that never ends (Latin-1 é) with Finish.
		{"upper, split character", upper, Client{Transform: Upper}, []string{"caf\xc3", "\xa9!"}, []string{"CAF", "É!", ""}},
		{"upper, Latin-1", upper, Client{Transform: Upper}, []string{"caf\xe9"}, []string{"CAF", "\xe9"}},
		// Not knowing the transform, a client cannot tell whether the last
		// byte of GBK text is held back; it is the plain server's last byte
		// either way, and Finish gets it.
		{"accept, plain, GBK", plain, Client{Accept: []func() transform.Transformer{Upper}}, []string{"\xd6\xd0\xce\xc4", "ok"}, []string{"\xd6\xd0\xce", "\xc4ok", ""}},
		{"accept, upper, GBK", upper, Client{Accept: []func() transform.Transformer{Upper}}, []string{"\xd6\xd0\xce\xc4", "ok"}, []string{"\xd6\xd0\xce", "\xc4OK", ""}},
		{"accept, plain, GBK, finish", plain, Client{Accept: []func() transform.Transformer{Upper}}, []string{"\xd6\xd0\xce\xc4"}, []string{"\xd6\xd0\xce", "\xc4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cn, err := tt.client.Connect(context.Background(), "tcp", tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer cn.Close()
			var got []string
			for _, msg := range tt.msgs {
				reply, err := cn.Echo(context.Background(), []byte(msg))
				if err != nil {
					t.Fatalf("Echo(%q): %v", msg, err)
				}
				got = append(got, string(reply))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			rest, err := cn.Finish(ctx)
			if err != nil {
				t.Fatalf("Finish: %v", err)
			}
			got = append(got, string(rest))
			if diff := cmp.Diff(tt.replies, got); diff != "" {
				t.Errorf("replies (-want +got):\n%s", diff)
			}
			if _, err := cn.Echo(context.Background(), []byte("more")); err == nil || !strings.Contains(err.Error(), "finished") {
				t.Errorf("Echo after Finish = %v", err)
			}
		})
	}
}

func TestClientFinishErrors(t *testing.T) {
	t.Parallel()
	// A server that answers the half-close with bytes no echo sends.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(io.Discard, c)
		c.Write([]byte("surprise"))
	}()
	defer func() { l.Close(); <-done }()
	cn, err := Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rest, err := cn.Finish(ctx)
	var me *MismatchError
	if !errors.As(err, &me) || len(me.Want) != 0 || string(rest) != "s" {
		t.Fatalf("Finish = %q, %v; want a mismatch after one byte more than expected", rest, err)
	}

	piped := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	if _, err := piped.Finish(context.Background()); err == nil || !strings.Contains(err.Error(), "half-closed") {
		t.Errorf("Finish over a pipe = %v", err)
	}

	udp, err := Dial(context.Background(), "udp", serveUDP(t, &Server{}))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	if rest, err := udp.Finish(context.Background()); rest != nil || err != nil {
		t.Errorf("Finish over UDP = %q, %v", rest, err)
	}
}

// FuzzReadReply checks how the client reads a reply off the stream: it
// reads exactly the bytes it returns, stops at the first accepted reply,
// and reports a match only for a reply it accepts.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("abc"), []byte("ABC"), []byte("ABCabc"))
	f.Add([]byte("abcd"), []byte("ab"), []byte("abcd"))
	f.Add([]byte(""), []byte("x"), []byte(""))
	f.Add([]byte("\xd6\xd0\xce\xc4"), []byte("\xd6\xd0\xce"), []byte("\xd6\xd0\xce\xc4"))
	f.Fuzz(func(t *testing.T, a, b, stream []byte) {
		wants := [][]byte{a, b}
		r := bytes.NewReader(stream)
		got, matched, err := readReply(r, wants)
		if err != nil {
			if !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Fatalf("readReply: %v", err)
			}
			return
		}
		if read := len(stream) - r.Len(); read != len(got) || !bytes.Equal(got, stream[:read]) {
			t.Fatalf("returned %q but read %q", got, stream[:read])
		}
		equal := false
		for i, w := range wants {
			if matched[i] && !bytes.HasPrefix(w, got) {
				t.Fatalf("want %q matched by %q", w, got)
			}
			equal = equal || matched[i] && bytes.Equal(w, got)
			if len(w) < len(got) && bytes.Equal(w, got[:len(w)]) {
				t.Fatalf("read %q past the accepted reply %q", got, w)
			}
		}
		anyMatch := matched[0] || matched[1]
		if anyMatch != equal {
			t.Fatalf("matched %v for %q of %q", matched, got, wants)
		}
		if !anyMatch && (bytes.HasPrefix(a, got) || bytes.HasPrefix(b, got)) {
			t.Fatalf("mismatch reported for %q, which %q could still become", got, wants)
		}
	})
}
