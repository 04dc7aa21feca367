package chat

import (
	"errors"
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
