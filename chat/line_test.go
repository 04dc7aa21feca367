package chat

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll reads every line from in with a lineReader of limit max and
// returns them, with "<too-long>" for each over-long line, and the final
// error.
func readAll(in io.Reader, max int) ([]string, error) {
	lr := newLineReader(in, max)
	var out []string
	for {
		b, err := lr.next()
		switch {
		case err == errLineTooLong:
			out = append(out, "<too-long>")
		case err != nil:
			return out, err
		default:
			if len(b) > max {
				return out, errors.New("line over the limit returned")
			}
			out = append(out, string(b))
		}
	}
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"lines", "a\nbb\n\nccc\n", []string{"a", "bb", "", "ccc"}, io.EOF},
		{"crlf", "a\r\nb\r\n", []string{"a", "b"}, io.EOF},
		{"lone cr kept inside", "a\rb\n", []string{"a\rb"}, io.EOF},
		{"exact limit", strings.Repeat("y", 20) + "\n", []string{strings.Repeat("y", 20)}, io.EOF},
		{"exact limit crlf", strings.Repeat("y", 20) + "\r\n", []string{strings.Repeat("y", 20)}, io.EOF},
		{"one over", strings.Repeat("y", 21) + "\nok\n", []string{"<too-long>", "ok"}, io.EOF},
		{"long then short", "a\n" + long + "\nb\n", []string{"a", "<too-long>", "b"}, io.EOF},
		{"two long", long + "\n" + long + "\n", []string{"<too-long>", "<too-long>"}, io.EOF},
		{"partial at end", "a\nhalf", []string{"a"}, io.ErrUnexpectedEOF},
		{"long at end", "a\n" + long, []string{"a", "<too-long>"}, io.EOF},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.in)
			if oneByte {
				r = iotest.OneByteReader(r)
			}
			got, err := readAll(r, 20)
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("%s (one byte %v): lines (-want +got):\n%s", tt.name, oneByte, d)
			}
			if err != tt.err {
				t.Errorf("%s (one byte %v): error %v, want %v", tt.name, oneByte, err, tt.err)
			}
		}
	}
}

func TestParseInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want input
	}{
		{"hello", input{arg: "hello"}},
		{"  spaced ", input{arg: "  spaced "}},
		{"/nick bob", input{cmd: "nick", arg: "bob"}},
		{"/NICK  bob  ", input{cmd: "nick", arg: "bob"}},
		{"/msg bob hi there", input{cmd: "msg", arg: "bob hi there"}},
		{"/quit", input{cmd: "quit"}},
		{"//slash", input{arg: "/slash"}},
		{"/", input{cmd: ""}},
	}
	for _, tt := range tests {
		if got := parseInput(tt.line); got != tt.want {
			t.Errorf("parseInput(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

// FuzzLineReader feeds arbitrary client input, as the server reads it,
// through the line reader and the command parser: no crash, no line over
// the limit, no line ending inside a line.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{
		"alice\n", "/nick bob\r\nhi\n", strings.Repeat("z", 40) + "\nok\n", "half",
		"/msg a b\n//x\n\n", "\xff\xfe\n", "\x1b[2Jhi\n", "/ME  waves\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		lr := newLineReader(iotest.HalfReader(strings.NewReader(in)), 32)
		for {
			b, err := lr.next()
			if err == errLineTooLong {
				continue
			}
			if err != nil {
				return
			}
			if len(b) > 32 || strings.Contains(string(b), "\n") {
				t.Fatalf("bad line %q", b)
			}
			p := parseInput(string(b))
			if p.cmd != "" && p.cmd != strings.ToLower(p.cmd) {
				t.Fatalf("command %q not lower case", p.cmd)
			}
		}
	})
}

// readTelnet reads every line from in with a telnet-aware lineReader of
// limit max, as readAll does, and returns the replies it sent as well.
func readTelnet(in io.Reader, max int) (lines []string, replies []byte, err error) {
	lr := newLineReader(in, max)
	lr.tn = &telnet{send: func(b []byte) { replies = append(replies, b...) }}
	for {
		b, err := lr.next()
		switch {
		case err == errLineTooLong:
			lines = append(lines, "<too-long>")
		case err != nil:
			return lines, replies, err
		default:
			if len(b) > max {
				return lines, replies, errors.New("line over the limit returned")
			}
			lines = append(lines, string(b))
		}
	}
}

func TestTelnetLineReader(t *testing.T) {
	t.Parallel()
	nops := strings.Repeat("\xff\xf1", 30)
	tests := []struct {
		name    string
		in      string
		want    []string
		replies string
	}{
		{"ctrl-c as telnet sends it", "hi\r\n\xff\xf4\xff\xfd\x06there\r\n", []string{"hi", "there"}, "\xff\xfc\x06"},
		{"ctrl-c discards the line so far", "abc\xff\xf4def\n", []string{"def"}, ""},
		{"erase line too", "abc\xff\xf8d\n", []string{"d"}, ""},
		{"doubled 0xff is data", "a\xff\xffb\n", []string{"a\xffb"}, ""},
		{"every option refused", "\xff\xfb\x18\xff\xfd\x01\xff\xfe\x03\xff\xfc\x1fx\n", []string{"x"}, "\xff\xfe\x18\xff\xfc\x01"},
		{"option byte 0x0a is no line end", "\xff\xfd\x0ahi\n", []string{"hi"}, "\xff\xfc\x0a"},
		{"subnegotiation with a newline inside", "a\xff\xfa\x1f\x00\x50\x00\x0a\xff\xf0b\n", []string{"ab"}, ""},
		{"subnegotiation with a doubled 0xff", "\xff\xfa\x18\xff\xff\n\xff\xf0c\n", []string{"c"}, ""},
		{"subnegotiation cut short", "\xff\xfa\x18\x01\xff\xf4x\n", []string{"x"}, ""},
		{"other commands ignored", "a\xff\xf1\xff\xf6\xff\xf9\xff\xf2\xff\xf3\xff\xf5\xff\xf7\xff\xf0b\n", []string{"ab"}, ""},
		{"0xff before a byte that is no command", "\xffa\n\xff\n", []string{"\xffa", "\xff"}, ""},
		{"commands do not count against the limit", nops + strings.Repeat("n", 20) + nops + "\r\n", []string{strings.Repeat("n", 20)}, ""},
		{"ctrl-c in an over-long line", strings.Repeat("x", 30) + "\xff\xf4ok\nnext\n", []string{"<too-long>", "ok", "next"}, ""},
		{"doubled 0xff over the limit", strings.Repeat("x", 21) + "\xff\xff\nok\n", []string{"<too-long>", "ok"}, ""},
		{"one over with a command inside", strings.Repeat("y", 10) + "\xff\xf1" + strings.Repeat("y", 11) + "\nok\n", []string{"<too-long>", "ok"}, ""},
	}
	for _, tt := range tests {
		for _, oneByte := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/one byte %v", tt.name, oneByte), func(t *testing.T) {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, replies, err := readTelnet(r, 20)
				if d := cmp.Diff(tt.want, got); d != "" {
					t.Errorf("lines (-want +got):\n%s", d)
				}
				if string(replies) != tt.replies {
					t.Errorf("replies %q, want %q", replies, tt.replies)
				}
				if err != io.EOF {
					t.Errorf("error %v, want EOF", err)
				}
			})
		}
	}

	// Without telnet (a client reading its server), 0xff is data.
	got, err := readAll(strings.NewReader("\xff\xf4x\n"), 20)
	if d := cmp.Diff([]string{"\xff\xf4x"}, got); d != "" || err != io.EOF {
		t.Errorf("without telnet: %v, lines (-want +got):\n%s", err, d)
	}
}

// A read error other than the end (a deadline) keeps the half line.
func TestLineReaderKeepsHalfLine(t *testing.T) {
	t.Parallel()
	errAgain := errors.New("again")
	lr := newLineReader(io.MultiReader(strings.NewReader("half "), &failOnce{err: errAgain}, strings.NewReader("line\n")), 20)
	if _, err := lr.next(); err != errAgain {
		t.Fatalf("first next: %v, want the read error", err)
	}
	if b, err := lr.next(); err != nil || string(b) != "half line" {
		t.Fatalf("second next: %q, %v; want the whole line", b, err)
	}
}

// failOnce fails its first Read with err, then reports its end.
type failOnce struct {
	err  error
	done bool
}

func (f *failOnce) Read([]byte) (int, error) {
	if f.done {
		return 0, io.EOF
	}
	f.done = true
	return 0, f.err
}

// telnetModel is what the telnet-aware line reader must do, written as
// plainly as possible, one byte at a time: the lines (with "<too-long>"),
// the replies and the final error.
func telnetModel(in []byte, max int) (lines []string, replies []byte, err error) {
	const (
		data = iota
		cmd
		opt
		sub
		subCmd
	)
	var line []byte
	skipping, state, verb := false, data, byte(0)
	put := func(c byte) {
		if skipping {
			return
		}
		line = append(line, c)
		if len(line) >= max+2 {
			lines, line, skipping = append(lines, "<too-long>"), nil, true
		}
	}
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch state {
		case data:
			switch c {
			case 0xff:
				state = cmd
			case '\n':
				if skipping {
					skipping = false
					continue
				}
				l := strings.TrimSuffix(string(line), "\r")
				if len(l) > max {
					l = "<too-long>"
				}
				lines, line = append(lines, l), nil
			default:
				put(c)
			}
		case cmd:
			state = data
			switch {
			case c == 0xff:
				put(0xff)
			case c < 0xf0:
				put(0xff)
				i--
			case c == 0xf4, c == 0xf8:
				line, skipping = nil, false
			case c == 0xfa:
				state = sub
			case c >= 0xfb:
				state, verb = opt, c
			}
		case opt:
			state = data
			switch verb {
			case 0xfd:
				replies = append(replies, 0xff, 0xfc, c)
			case 0xfb:
				replies = append(replies, 0xff, 0xfe, c)
			}
		case sub:
			if c == 0xff {
				state = subCmd
			}
		case subCmd:
			switch c {
			case 0xf0:
				state = data
			case 0xff:
				state = sub
			default:
				state = cmd
				i--
			}
		}
	}
	if len(line) > 0 && !skipping {
		return lines, replies, io.ErrUnexpectedEOF
	}
	return lines, replies, io.EOF
}

// FuzzTelnetLineReader checks the telnet-aware line reader against
// telnetModel, for input that arrives whole, in halves, and byte by byte.
func FuzzTelnetLineReader(f *testing.F) {
	for _, s := range []string{
		"hi\r\n\xff\xf4\xff\xfd\x06there\r\n", "a\xff\xffb\n", "\xff\xfb\x18\xff\xfd\x01x\n",
		"a\xff\xfa\x1f\x00\x50\x00\x0a\xff\xf0b\n", "\xff\xfa\x18\xff\xff\n\xff\xf0c\n", "\xff\xfa\x01\xff\xf4x\n",
		"\xffa\n\xff\n", strings.Repeat("x", 40) + "\xff\xf4ok\n", strings.Repeat("\xff\xf1", 30) + "n\n",
		"half\xff", "\xff\xfd", "\xff\xfa\x01\x02",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		const max = 16
		wantLines, wantReplies, wantErr := telnetModel(in, max)
		for _, r := range []io.Reader{
			bytes.NewReader(in), iotest.HalfReader(bytes.NewReader(in)), iotest.OneByteReader(bytes.NewReader(in)),
		} {
			lines, replies, err := readTelnet(r, max)
			if d := cmp.Diff(wantLines, lines); d != "" {
				t.Fatalf("lines of %q (-model +reader):\n%s", in, d)
			}
			if !bytes.Equal(wantReplies, replies) || err != wantErr {
				t.Fatalf("%q: replies %q and %v, model says %q and %v", in, replies, err, wantReplies, wantErr)
			}
		}
	})
}

// "/join #room" is the room, as IRC users type it, and /help says so.
func TestJoinHashRoom(t *testing.T) {
	t.Parallel()
	plain, irc, stop := startBoth(t, &Server{})
	defer stop()
	alice := login(t, plain, "alice")
	ivy := ircLogin(t, irc, "ivy")
	alice.expect("JOIN lobby ivy")
	ivy.send("JOIN #go\r\n")
	ivy.until(num("366", "ivy", "#go :End of /NAMES list"))
	alice.expect("PART lobby ivy")

	alice.send("/join #Go\n")
	alice.expect("PART lobby alice")
	alice.expect("JOIN go alice")
	ivy.expect(":alice!alice@sockkit JOIN #go")
	alice.send("/who #go\n/join #go\n/join ##go\n/join #\n")
	alice.expect("WHO go alice ivy")
	alice.expect("INFO you are already in go")
	alice.expect("ERR bad-room a room name is 1-24 letters, digits, _ or -, not starting with -")
	alice.expect("ERR bad-room a room name is 1-24 letters, digits, _ or -, not starting with -")
	alice.send("/help\n")
	if l := alice.line(); !strings.Contains(l, "/join ROOM (or #ROOM)") || !strings.Contains(l, "/charset [NAME]") {
		t.Errorf("help %q does not mention #ROOM and /charset", l)
	}
}

// BenchmarkLineReader reads the lines a busy client sends, many to a
// read, as the server does (with telnet on); run with -benchmem.
func BenchmarkLineReader(b *testing.B) {
	in := []byte(strings.Repeat("a line of a usual length for a chat room, with some words in it\r\n", 1000))
	r := bytes.NewReader(in)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(in)
		lr := newLineReader(r, DefaultMaxLineBytes)
		lr.tn = new(telnet)
		for {
			if _, err := lr.next(); err != nil {
				break
			}
		}
	}
}
