package chat

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseIRC(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p ", 20)
	tests := []struct {
		name string
		line string
		want ircMessage
		err  error
	}{
		{"bare command", "QUIT", ircMessage{Command: "QUIT"}, nil},
		{"lower case", "nick alice", ircMessage{Command: "NICK", Params: []string{"alice"}}, nil},
		{"trailing", "PRIVMSG #go :hi there", ircMessage{Command: "PRIVMSG", Params: []string{"#go", "hi there"}, Trailing: true}, nil},
		{"empty trailing", "TOPIC #go :", ircMessage{Command: "TOPIC", Params: []string{"#go", ""}, Trailing: true}, nil},
		{"colon inside a middle", "USER a:b 0 * :Real Name", ircMessage{Command: "USER", Params: []string{"a:b", "0", "*", "Real Name"}, Trailing: true}, nil},
		{"prefix skipped", ":alice!a@h PRIVMSG bob :yo", ircMessage{Command: "PRIVMSG", Params: []string{"bob", "yo"}, Trailing: true}, nil},
		{"tags skipped", "@time=x;id=1 :p PING :tok", ircMessage{Command: "PING", Params: []string{"tok"}, Trailing: true}, nil},
		{"runs of spaces", "  JOIN   #a,#b   key ", ircMessage{Command: "JOIN", Params: []string{"#a,#b", "key"}}, nil},
		{"numeric", "001 x :hi", ircMessage{Command: "001", Params: []string{"x", "hi"}, Trailing: true}, nil},
		{"fifteenth parameter takes the rest", "CMD " + long, ircMessage{Command: "CMD",
			Params: append(strings.Fields(strings.Repeat("p ", 14)), "p p p p p p "), Trailing: true}, nil},
		{"CTCP", "PRIVMSG #go :\x01ACTION waves\x01", ircMessage{Command: "PRIVMSG", Params: []string{"#go", "\x01ACTION waves\x01"}, Trailing: true}, nil},
		{"empty", "", ircMessage{}, errIRCEmpty},
		{"only spaces", "   ", ircMessage{}, errIRCEmpty},
		{"only a prefix", ":server", ircMessage{}, errIRCEmpty},
		{"only tags", "@a=b", ircMessage{}, errIRCEmpty},
		{"digits and letters", "1A2 x", ircMessage{Command: "1A2"}, errIRCCommand},
		{"four digits", "0001 x", ircMessage{Command: "0001"}, errIRCCommand},
		{"punctuation", "PRIV-MSG x", ircMessage{Command: "PRIV-MSG"}, errIRCCommand},
		{"NUL", "PRIVMSG #a\x00 :x\x00y", ircMessage{Command: "PRIVMSG", Params: []string{"#a\x00", "x\x00y"}, Trailing: true}, nil},
		{"CR inside", "PRIVMSG #a :x\ry", ircMessage{Command: "PRIVMSG", Params: []string{"#a", "x\ry"}, Trailing: true}, nil},
		{"control in the command", "PRIV\x1bMSG x", ircMessage{Command: "PRIV\x1bMSG"}, errIRCCommand},
		{"too long a command", strings.Repeat("A", 33), ircMessage{Command: strings.Repeat("A", 33)}, errIRCCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIRC(tt.line)
			if err != tt.err {
				t.Fatalf("parseIRC(%q) error %v, want %v", tt.line, err, tt.err)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("parseIRC(%q) (-want +got):\n%s", tt.line, d)
			}
		})
	}
}

func TestAppendIRC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"numeric", appendIRC(nil, "srv", "001", "alice", "Welcome home"), ":srv 001 alice :Welcome home\r\n"},
		{"no prefix", appendIRC(nil, "", "PING", "srv"), "PING :srv\r\n"},
		{"empty trailing", appendIRC(nil, "srv", "CAP", "*", "LS", ""), ":srv CAP * LS :\r\n"},
		{"words", appendIRCWords(nil, "a!a@h", "JOIN", "#go"), ":a!a@h JOIN #go\r\n"},
		{"line breaks removed", appendIRC(nil, "srv", "NOTICE", "a b", "x\r\nQUIT\x00 :y"), ":srv NOTICE ab :xQUIT :y\r\n"},
		{"empty middle", appendIRC(nil, "srv", "401", "", "x"), ":srv 401 * :x\r\n"},
		{"leading colon in a middle", appendIRC(nil, "srv", "401", "::x", "y"), ":srv 401 x :y\r\n"},
		{"appends", appendIRC([]byte("before\r\n"), "", "PONG", "x"), "before\r\nPONG :x\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}

	t.Run("cut to 512 bytes on a character boundary", func(t *testing.T) {
		b := appendIRC(nil, "srv", "NOTICE", "a", strings.Repeat("é", 400))
		if len(b) > ircMaxLine || !strings.HasSuffix(string(b), "é\r\n") || !utf8.Valid(b) {
			t.Errorf("%d bytes, ends %q", len(b), b[len(b)-6:])
		}
	})
}

func TestAppendPrivmsgSplits(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("word ", 300) // 1500 bytes
	for _, action := range []bool{false, true} {
		b := appendPrivmsg(nil, "alice!alice@sockkit", "#lobby", text, action)
		var got strings.Builder
		for _, l := range strings.SplitAfter(string(b), "\r\n") {
			if l == "" {
				continue
			}
			if len(l) > ircMaxLine || !strings.HasSuffix(l, "\r\n") {
				t.Fatalf("line of %d bytes: %q", len(l), l)
			}
			m, err := parseIRC(strings.TrimSuffix(l, "\r\n"))
			if err != nil || m.Command != "PRIVMSG" || m.arg(0) != "#lobby" {
				t.Fatalf("line %q: %+v %v", l, m, err)
			}
			body := m.arg(1)
			if action {
				cmd, arg, ok := ctcp(body)
				if !ok || cmd != "ACTION" || !strings.HasSuffix(body, "\x01") {
					t.Fatalf("action line %q", l)
				}
				body = arg
			}
			if strings.HasPrefix(body, " ") {
				t.Errorf("split inside a word: %q", body)
			}
			got.WriteString(body)
		}
		if got.String() != text {
			t.Errorf("action %v: the pieces do not add up to the text", action)
		}
	}
}

func TestIRCText(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"\x02bold\x02 \x1ditalic\x1d \x1funder\x1f \x1estrike\x1e \x11mono\x11 \x16rev\x16 \x0freset", "bold italic under strike mono rev reset"},
		{"\x0304red\x03 \x034,12on blue\x03 \x03,5comma kept", "red on blue ,5comma kept"},
		{"\x03123 three digits", "3 three digits"},
		{"\x0304,text after a comma", ",text after a comma"},
		{"\x04ff0000hex\x04 \x04FF0000,00ff00both", "hex both"},
		{"\x1b[31mansi\x1b[0m \u202eevil", "ansi evil"},
		{"trailing \x03", "trailing "},
		{"tab\tkept", "tab\tkept"},
	}
	for _, tt := range tests {
		if got := ircText(tt.in); got != tt.want {
			t.Errorf("ircText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCTCP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, cmd, arg string
		ok             bool
	}{
		{"\x01ACTION waves\x01", "ACTION", "waves", true},
		{"\x01action waves", "ACTION", "waves", true},
		{"\x01VERSION\x01", "VERSION", "", true},
		{"\x01PING 12345\x01", "PING", "12345", true},
		{"hello", "", "", false},
	}
	for _, tt := range tests {
		cmd, arg, ok := ctcp(tt.text)
		if cmd != tt.cmd || arg != tt.arg || ok != tt.ok {
			t.Errorf("ctcp(%q) = %q, %q, %v; want %q, %q, %v", tt.text, cmd, arg, ok, tt.cmd, tt.arg, tt.ok)
		}
	}
}

func TestIRCFirstLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		irc  bool
	}{
		{"CAP LS 302", true},
		{"NICK alice", true},
		{"nick alice", true},
		{"USER a 0 * :A", true},
		{"PASS secret", true},
		{"alice", false},           // a nickname
		{"user", false},            // a nickname, too
		{"CAP", false},             // and so is this
		{"NICK ", false},           // nothing after the space
		{"/nick alice", false},     // the plain command
		{"PRIVMSG #a :hi", false},  // IRC, but not a way to begin
		{"hello there", false},     // a bad nickname, refused as one
		{"\x01NICK alice", false},  // not the word
		{"nickname alice", false},  // nor this
		{"NICK\talice", false},     // IRC separates with spaces only
		{"pass the salt", true},    // the price of the rule
		{"CAP LS 302\r", true},     // a stray CR does not matter
		{"JOIN #lobby", false},     // IRC, but not a first line
		{"USER  a 0 * :A", true},   // runs of spaces
		{"nick a b c", true},       // IRC will say what is wrong
		{"NICK :alice", true},      // a trailing parameter
		{"PASS :with space", true}, // and here
	}
	for _, tt := range tests {
		if got := ircFirstLine([]byte(tt.line)); got != tt.irc {
			t.Errorf("ircFirstLine(%q) = %v, want %v", tt.line, got, tt.irc)
		}
	}
}

// FuzzParseIRC checks that no line crashes the IRC parser, that what it
// accepts is well formed, and that appendIRC writes it back so that it
// parses to the same command and parameters.
func FuzzParseIRC(f *testing.F) {
	for _, s := range []string{
		"CAP LS 302", "NICK alice", "USER a 0 * :Real Name", "PRIVMSG #go :\x01ACTION waves\x01",
		":pre PING :x", "@t=1 PRIVMSG a :b", "JOIN #a,#b k1,k2", "CMD " + strings.Repeat("x ", 20),
		"", " ", ":", "@", "1234", "PRIVMSG #a :\x00", "TOPIC #go :", "MODE #go +b", "privmsg  a   :b  c ",
		"QUIT :\xff\xfe", strings.Repeat("A", 600),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseIRC(line)
		if err != nil {
			return
		}
		if !validIRCCommand(m.Command) || m.Command != strings.ToUpper(m.Command) {
			t.Fatalf("bad command %q from %q", m.Command, line)
		}
		if len(m.Params) > ircMaxArgs {
			t.Fatalf("%d parameters from %q", len(m.Params), line)
		}
		for i, p := range m.Params {
			if i < len(m.Params)-1 && (p == "" || strings.Contains(p, " ") || p[0] == ':') {
				t.Fatalf("bad parameter %d %q from %q", i, p, line)
			}
		}
		b := appendIRC(nil, "", m.Command, m.Params...)
		if len(b) > ircMaxLine || !strings.HasSuffix(string(b), "\r\n") {
			t.Fatalf("appendIRC wrote %q", b)
		}
		if len(b) == ircMaxLine || strings.ContainsAny(line, "\x00\r\n") {
			return // cut or cleaned: it cannot round-trip
		}
		m2, err := parseIRC(strings.TrimSuffix(string(b), "\r\n"))
		if err != nil {
			t.Fatalf("%q written as %q does not parse: %v", line, b, err)
		}
		if d := cmp.Diff(m.Params, m2.Params, cmpopts.EquateEmpty()); m2.Command != m.Command || d != "" {
			t.Fatalf("%q written as %q parses differently:\n%s", line, b, d)
		}
	})
}
