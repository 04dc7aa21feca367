package chat

import (
	"bytes"
	"context"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/simplifiedchinese"

	icharset "github.com/sockkit/sockkit/internal/charset"
)

// Every charset writes ASCII as ASCII, and says rightly whether 0xff is
// a character in it: telnet's IAC never is, in any of them, except as
// the letter of the single-byte ones.
func TestCharsets(t *testing.T) {
	t.Parallel()
	var ascii [128]byte
	for i := range ascii {
		ascii[i] = byte(i)
	}
	for _, cs := range charsets[1:] {
		t.Run(cs.name, func(t *testing.T) {
			dec, err := cs.enc.NewDecoder().Bytes(ascii[:])
			if err != nil || string(dec) != string(ascii[:]) {
				t.Errorf("decodes ASCII as %q, %v", dec, err)
			}
			enc, err := cs.enc.NewEncoder().Bytes(ascii[:])
			if err != nil || string(enc) != string(ascii[:]) {
				t.Errorf("encodes ASCII as %q, %v", enc, err)
			}
			ff, _ := cs.enc.NewDecoder().Bytes([]byte{0xff})
			if r, _ := utf8.DecodeRune(ff); (r != utf8.RuneError) != cs.ffText {
				t.Errorf("0xff decodes as %q; ffText is %v", ff, cs.ffText)
			}
		})
	}
}

func TestLookupCharset(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, want string }{
		{"utf-8", "UTF-8"}, {"UTF8", "UTF-8"}, {"gbk", "GBK"}, {"CP936", "GBK"}, {"gb2312", "GBK"},
		{"gb18030", "GB18030"}, {"big5", "Big5"}, {"Big-5", "Big5"}, {"shift-jis", "Shift_JIS"},
		{"SJIS", "Shift_JIS"}, {"euc-jp", "EUC-JP"}, {"euckr", "EUC-KR"}, {"latin1", "ISO-8859-1"},
		{"Latin-1", "ISO-8859-1"}, {"ISO-8859-1", "ISO-8859-1"}, {"l9", "ISO-8859-15"},
		{"cp1252", "Windows-1252"}, {"windows-1252", "Windows-1252"},
	}
	for _, tt := range tests {
		cs, err := lookupCharset(tt.name)
		if err != nil || cs.name != tt.want {
			t.Errorf("lookupCharset(%q) = %v, %v; want %s", tt.name, cs, err, tt.want)
		}
	}
	// Every charset internal/charset offers is either one of the
	// server's or refused, and each of the server's has a name.
	for _, cs := range charsets {
		if got, err := lookupCharset(cs.name); err != nil || got != cs {
			t.Errorf("lookupCharset(%q) = %v, %v", cs.name, got, err)
		}
	}
	for _, name := range append(icharset.Names(), "", "klingon", "gbk2") {
		if cs, err := lookupCharset(name); err == nil && !slices.Contains(charsets, cs) {
			t.Errorf("lookupCharset(%q) = %v, not one of charsets", name, cs)
		}
	}
	for _, tt := range []struct{ name, err string }{
		{"klingon", "no charset klingon; the server knows " + charsetNames()},
		{"UTF-16LE", "UTF-16LE cannot carry this chat's lines; the server knows " + charsetNames()},
		{"ISO-2022-JP", "ISO-2022-JP cannot carry this chat's lines; the server knows " + charsetNames()},
		{"windows-1251", "windows-1251 cannot carry this chat's lines; the server knows " + charsetNames()},
	} {
		if _, err := lookupCharset(tt.name); err == nil || err.Error() != tt.err {
			t.Errorf("lookupCharset(%q): %v, want %q", tt.name, err, tt.err)
		}
	}
}

func TestAppendTransform(t *testing.T) {
	enc := simplifiedchinese.GBK.NewEncoder()
	// The bytes are what Python's "你好 😀 é".encode("gbk", "replace") gives.
	got := appendTransform([]byte("MSG "), enc, []byte("你好 😀 é\n"), "?")
	if want := "MSG \xc4\xe3\xba\xc3 ? \xa8\xa6\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	dec := simplifiedchinese.GBK.NewDecoder()
	if got := appendTransform(nil, dec, []byte("\xc4\xe3\x81 "), "\uFFFD"); string(got) != "你\uFFFD " {
		t.Errorf("decoding a broken line: %q", got)
	}
	buf, line := make([]byte, 0, 64), []byte("你好, world")
	if n := testing.AllocsPerRun(100, func() { buf = appendTransform(buf[:0], enc, line, "?") }); n != 0 {
		t.Errorf("%v allocations per line with room in dst, want 0", n)
	}
}

// gbk is s in GBK, as Python's s.encode("gbk") gives it.
func gbk(t testing.TB, s string) string {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A GBK user and a UTF-8 user in one room read each other's Chinese.
func TestCharsetSession(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()
	alice := login(t, addr, "alice")
	bob := login(t, addr, "bob")
	alice.expect("JOIN lobby bob")

	bob.send("/charset\n")
	bob.expect("INFO your charset is UTF-8; /charset NAME changes it to one of " + charsetNames())
	bob.send("/charset Klingon\n")
	bob.expect("ERR no-such-charset no charset Klingon; the server knows " + charsetNames())
	bob.send("/charset utf-16\n")
	bob.expect("ERR no-such-charset utf-16 cannot carry this chat's lines; the server knows " + charsetNames())
	bob.send("/charset gbk\n")
	bob.expect("INFO your charset is now GBK")

	bob.send(gbk(t, "你好, alice") + "\r\n")
	alice.expect("MSG lobby bob 你好, alice")
	bob.expect(gbk(t, "MSG lobby bob 你好, alice"))
	alice.send("世界 😀 ok\n")
	bob.expect(gbk(t, "MSG lobby alice 世界 ? ok")) // no emoji in GBK
	alice.expect("MSG lobby alice 世界 😀 ok")
	alice.send("/msg bob 私信\n")
	bob.expect(gbk(t, "PRIV alice bob 私信"))
	alice.expect("PRIV alice bob 私信")

	// Bytes that are not GBK, and U+FFFD, which stands for them.
	bob.send("\xc4\xe3\x81\n")
	bob.expect("ERR bad-charset line is not valid GBK; dropped")
	bob.send("\xff\n")
	bob.expect("ERR bad-charset line is not valid GBK; dropped")
	// Escape sequences are removed after decoding, as for UTF-8.
	bob.send(gbk(t, "\x1b[31m红\x1b[0m") + "\n")
	alice.expect("MSG lobby bob 红")
	bob.expect(gbk(t, "MSG lobby bob 红"))

	// Back to UTF-8; bob's /charset concerned bob alone.
	bob.send("/charset UTF-8\n")
	bob.expect("INFO your charset is now UTF-8")
	bob.send("再见\n")
	alice.expect("MSG lobby bob 再见")
	bob.expect("MSG lobby bob 再见")
}

// In Latin-1, 0xff is ÿ: from nc it comes alone, from telnet doubled,
// and a client that has shown it speaks telnet gets it doubled too.
func TestCharsetLatin1(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{Charset: "latin1"})
	defer stop()
	nc := login(t, addr, "nc")
	tn := login(t, addr, "tn")
	nc.expect("JOIN lobby tn")

	nc.send("na\xefve \xffa\n") // naïve ÿa, from nc
	nc.expect("MSG lobby nc na\xefve \xffa")
	tn.expect("MSG lobby nc na\xefve \xffa")
	tn.send("L'Ha\xff\xff-les-Roses\r\n") // L'Haÿ-les-Roses, from telnet
	nc.expect("MSG lobby tn L'Ha\xff-les-Roses")
	tn.expect("MSG lobby tn L'Ha\xff\xff-les-Roses")
	// UTF-8 for "€" is Latin-1 "â", a C1 control (removed) and "¬".
	tn.send("\xe2\x82\xac\n")
	nc.expect("MSG lobby tn \xe2\xac")
	tn.expect("MSG lobby tn \xe2\xac")
	// What Latin-1 lacks becomes "?".
	nc.send("/charset utf-8\n")
	nc.expect("INFO your charset is now UTF-8")
	nc.send("€ and 中\n")
	nc.expect("MSG lobby nc € and 中")
	tn.expect("MSG lobby nc ? and ?")
}

// A server whose default charset is GBK, and a python3 client that does
// what the tutorials do: send('你好'.encode('gbk')), recv(1024).decode('gbk').
func TestCharsetPython(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed (Debian package python3)")
	}
	addr, stop := start(t, &Server{Charset: "GBK"})
	defer stop()
	gopher := dialGo(t, addr, "gopher")
	if err := gopher.c.Command(context.Background(), "charset", "UTF-8"); err != nil { // a Go program speaks UTF-8
		t.Fatal(err)
	}
	gopher.until(Event{Kind: KindInfo, Text: "your charset is now UTF-8"})
	host, port, _ := net.SplitHostPort(addr)
	script := `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(15)
s.connect((sys.argv[1], int(sys.argv[2])))
got = b''
def until(want):
    global got
    while want.encode('gbk') not in got:
        data = s.recv(1024)
        if not data:
            sys.exit('closed before ' + want)
        got += data
until('HELLO')
s.send('py\n'.encode('gbk'))
until('JOIN lobby py')
s.send('你好\n'.encode('gbk'))
until('MSG lobby gopher 世界')
s.send('byebye\n'.encode('gbk'))
for line in got.decode('gbk').splitlines():
    if line.startswith('MSG '):
        print(line)
`
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script, host, port)
	out := make(chan string, 1)
	go func() {
		b, err := cmd.CombinedOutput()
		if err != nil {
			b = append(b, []byte("python3: "+err.Error())...)
		}
		out <- string(b)
	}()
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "py", Text: "你好"})
	if err := gopher.c.Say(ctx, "世界"); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(<-out), "\n")
	if d := cmp.Diff([]string{"MSG lobby py 你好", "MSG lobby gopher 世界"}, got); d != "" {
		t.Errorf("python3 read (-want +got):\n%s", d)
	}
}

func TestCharsetSetting(t *testing.T) {
	t.Parallel()
	s := &Server{Charset: "klingon"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(context.Background(), l); err == nil || !strings.Contains(err.Error(), "Charset") {
		t.Errorf("Serve with Charset klingon: %v, want an error naming Charset", err)
	}
}

// utf8Pipe is a connection whose client speaks UTF-8 whatever the
// server's charset, as a WebSocket's does.
type utf8Pipe struct{ net.Conn }

func (utf8Pipe) utf8Only() {}

func TestUTF8Conn(t *testing.T) {
	t.Parallel()
	s := &Server{Charset: "gbk"}
	s.init()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if cs := newSession(s, stillServing(t), a).cs; cs.name != "GBK" {
		t.Errorf("a session on a plain connection starts in %s, want GBK", cs.name)
	}
	if cs := newSession(s, stillServing(t), utf8Pipe{b}).cs; cs != utf8Charset {
		t.Errorf("a session on a UTF-8 connection starts in %s", cs.name)
	}
}

// deliverSession returns a session of s in the named charset whose queue
// nobody writes: the caller empties it.
func deliverSession(tb testing.TB, s *Server, name string) *session {
	tb.Helper()
	s.init()
	a, b := net.Pipe()
	tb.Cleanup(func() { a.Close(); b.Close() })
	ss := newSession(s, stillServing(tb), a)
	cs, err := lookupCharset(name)
	if err != nil {
		tb.Fatal(err)
	}
	ss.setCharset(cs)
	return ss
}

// Delivering a room's line costs no allocation, for a UTF-8 recipient
// (the line is copied as it is) and for a GBK one (encoded into a buffer
// the session keeps).
func TestDeliverAllocs(t *testing.T) {
	line := []byte("MSG lobby alice 你好, world 😀\n")
	for _, tt := range []struct{ charset, want string }{
		{"UTF-8", string(line)},
		{"GBK", gbk(t, "MSG lobby alice 你好, world ?\n")},
	} {
		ss := deliverSession(t, new(Server), tt.charset)
		ss.Deliver(line)
		if got := string(ss.out); got != tt.want {
			t.Errorf("%s: queued %q, want %q", tt.charset, got, tt.want)
		}
		n := testing.AllocsPerRun(100, func() {
			ss.Deliver(line)
			ss.mu.Lock()
			ss.out = ss.out[:0]
			ss.mu.Unlock()
		})
		if n != 0 {
			t.Errorf("%s: %v allocations per line, want 0", tt.charset, n)
		}
	}
}

// BenchmarkDeliver measures what handing one room line to one member
// costs, by the member's charset.
func BenchmarkDeliver(b *testing.B) {
	line := []byte("MSG lobby alice 你好, this is a line of a usual length for a chat room\n")
	for _, name := range []string{"UTF-8", "GBK", "Latin-1"} {
		b.Run(name, func(b *testing.B) {
			ss := deliverSession(b, new(Server), name)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				ss.Deliver(line)
				ss.mu.Lock()
				ss.out = ss.out[:0]
				ss.mu.Unlock()
			}
		})
	}
}

// A browser speaks UTF-8 on a server whose charset for others is GBK,
// and cannot be made to speak anything else.
func TestCharsetBrowser(t *testing.T) {
	t.Parallel()
	w, stop := startWeb(t, &Server{Charset: "GBK"}, nil)
	defer stop()
	bob := login(t, w.tcp, "bob")
	ann := mustDialWS(t, w.wsURL())
	ann.line() // HELLO
	ann.send("/nick ann\n")
	ann.until("JOIN lobby ann")
	bob.expect("JOIN lobby ann")

	ann.send("你好\n")
	ann.expect("MSG lobby ann 你好")
	bob.expect(gbk(t, "MSG lobby ann 你好"))
	bob.send(gbk(t, "世界") + "\n")
	ann.expect("MSG lobby bob 世界")
	ann.send("/charset gbk\n")
	ann.expect("ERR usage this connection carries UTF-8 only")
	ann.send("/charset\n")
	ann.expect("INFO your charset is UTF-8; /charset NAME changes it to one of " + charsetNames())
}

// FuzzCharset decodes arbitrary bytes from every charset, as a session
// decodes a client's line, and encodes the text back, as a recipient
// gets it: the text is UTF-8, and neither way adds or loses a line end.
func FuzzCharset(f *testing.F) {
	for _, s := range []string{
		"\xc4\xe3\xba\xc3", "caf\xe9 \xff", "\x81\x30\x81\x30", "\x8e\xa1 \x8f\xa1\xa1", "a\nb\r\n", "\xff\xfd\x06",
		"😀 你好 é", "\x82\xa0\x83\x41", "\xa4\x40",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, cs := range charsets[1:] {
			text := appendTransform(nil, cs.enc.NewDecoder(), in, "\uFFFD")
			if !utf8.Valid(text) {
				t.Fatalf("%s: %q decodes to invalid UTF-8 %q", cs.name, in, text)
			}
			if bytes.Count(text, []byte("\n")) != bytes.Count(in, []byte("\n")) {
				t.Fatalf("%s: %q decodes to %q", cs.name, in, text)
			}
			for _, src := range [][]byte{text, in} { // what the server has, and anything
				out := appendTransform(nil, cs.enc.NewEncoder(), src, "?")
				if bytes.Count(out, []byte("\n")) != bytes.Count(src, []byte("\n")) ||
					bytes.Count(out, []byte("\r")) != bytes.Count(src, []byte("\r")) {
					t.Fatalf("%s: %q encodes to %q", cs.name, src, out)
				}
			}
		}
	})
}
