package chat

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// messages returns a next func for wsLines over msgs, each read a byte
// at a time when slow, and then end.
func messages(msgs []string, slow bool, end error) func() (io.Reader, error) {
	return func() (io.Reader, error) {
		if len(msgs) == 0 {
			return nil, end
		}
		var r io.Reader = strings.NewReader(msgs[0])
		if slow {
			r = iotest.OneByteReader(r)
		}
		msgs = msgs[1:]
		return r, nil
	}
}

// wantLines is the stream wsLines must make of msgs.
func wantLines(msgs []string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString(m)
		if m != "" && !strings.HasSuffix(m, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func TestWSLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		msgs []string
		want string
	}{
		{"none", nil, ""},
		{"one", []string{"hi"}, "hi\n"},
		{"ended", []string{"hi\n", "telnet\r\n"}, "hi\ntelnet\r\n"},
		{"empty", []string{"", "a", ""}, "a\n"},
		{"several lines", []string{"a\nb", "c"}, "a\nb\nc\n"},
		{"only newline", []string{"\n"}, "\n"},
		{"binary bytes", []string{"\x00\xff"}, "\x00\xff\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, slow := range []bool{false, true} {
				end := errors.New("the end")
				got, err := io.ReadAll(&wsLines{next: messages(tc.msgs, slow, end)})
				if !errors.Is(err, end) {
					t.Errorf("slow=%v: error %v, want the source's", slow, err)
				}
				if diff := cmp.Diff(tc.want, string(got)); diff != "" {
					t.Errorf("slow=%v: stream (-want +got):\n%s", slow, diff)
				}
			}
		})
	}
}

// TestWSLinesLineReader checks wsLines under the session's line reader:
// a message is one line whatever its length, and an over-long one is
// dropped alone.
func TestWSLinesLineReader(t *testing.T) {
	t.Parallel()
	msgs := []string{"short", strings.Repeat("x", 100), "after", "a\r\n", "b"}
	lr := newLineReader(&wsLines{next: messages(msgs, false, io.EOF)}, 16)
	var got []string
	for {
		l, err := lr.next()
		if err == errLineTooLong {
			got = append(got, "(too long)")
			continue
		}
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got = append(got, string(l))
	}
	want := []string{"short", "(too long)", "after", "a", "b"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}

// FuzzWSLines checks the decoder of browser input: the input is split
// into messages at each 0x00, read through buffers of every size, and
// must come out as the messages, each ended by one "\n" unless it had
// one, and nothing else.
func FuzzWSLines(f *testing.F) {
	for _, s := range []string{"", "hi", "hi\n", "a\x00b", "\x00\x00", "a\nb\x00c\r\n", "\n\x00\n", "\xff\xfe\x00x"} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, in string, size uint8) {
		msgs := strings.Split(in, "\x00")
		s := &wsLines{next: messages(msgs, size%2 == 1, io.EOF)}
		buf := make([]byte, int(size)%7+1)
		var out bytes.Buffer
		for {
			n, err := s.Read(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("Read returned %d for a buffer of %d", n, len(buf))
			}
			out.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if want := wantLines(msgs); out.String() != want {
			t.Fatalf("stream %q, want %q", out.String(), want)
		}
	})
}
