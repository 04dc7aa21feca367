package udpcolor

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	pad := func(s string) string { return s + strings.Repeat(" ", MinJoin-len(s)) }
	tests := []struct {
		name string
		in   string
		want Packet
		err  bool
	}{
		{"join", pad("join alice"), Packet{Kind: KindJoin, Name: "alice"}, false},
		{"join unpadded", "join alice", Packet{Kind: KindJoin, Name: "alice"}, false},
		{"join echo", pad("join alice AbC-_9"), Packet{Kind: KindJoin, Name: "alice", Cookie: "AbC-_9"}, false},
		{"join lf", "join bob\n", Packet{Kind: KindJoin, Name: "bob"}, false},
		{"join crlf", "join bob\r\n", Packet{Kind: KindJoin, Name: "bob"}, false},
		{"join no name", pad("join"), Packet{}, true},
		{"join bad name", pad("join al\x1bice"), Packet{}, true},
		{"join name starts with dot", pad("join .x"), Packet{}, true},
		{"join name too long", pad("join " + strings.Repeat("a", MaxName+1)), Packet{}, true},
		{"join name max", "join " + strings.Repeat("a", MaxName), Packet{Kind: KindJoin, Name: strings.Repeat("a", MaxName)}, false},
		{"join bad cookie", pad("join alice co/okie"), Packet{}, true},
		{"join three fields", pad("join alice c d"), Packet{}, true},
		{"cookie", "cookie alice xyz", Packet{Kind: KindCookie, Name: "alice", Cookie: "xyz"}, false},
		{"cookie missing", "cookie alice", Packet{}, true},
		{"welcome", "welcome alice", Packet{Kind: KindWelcome, Name: "alice"}, false},
		{"msg", "msg hello, world", Packet{Kind: KindMsg, Text: "hello, world"}, false},
		{"msg spaces kept", "msg  two  spaces ", Packet{Kind: KindMsg, Text: " two  spaces "}, false},
		{"msg escape allowed on wire", "msg \x1b[2Jhi", Packet{Kind: KindMsg, Text: "\x1b[2Jhi"}, false},
		{"msg empty", "msg ", Packet{}, true},
		{"msg none", "msg", Packet{}, true},
		{"msg two lines", "msg a\nb", Packet{}, true},
		{"msg max", "msg " + strings.Repeat("x", MaxText), Packet{Kind: KindMsg, Text: strings.Repeat("x", MaxText)}, false},
		{"msg too long", "msg " + strings.Repeat("x", MaxText+1), Packet{}, true},
		{"relay", "relay alice : hi : there", Packet{Kind: KindRelay, Name: "alice", Text: "hi : there"}, false},
		{"relay no sep", "relay alice hi", Packet{}, true},
		{"ping", "ping", Packet{Kind: KindPing}, false},
		{"ping lf", "ping\n", Packet{Kind: KindPing}, false},
		{"ping arg", "ping x", Packet{}, true},
		{"leave", "leave", Packet{Kind: KindLeave}, false},
		{"bye", "bye alice expired", Packet{Kind: KindBye, Name: "alice", Text: "expired"}, false},
		{"error", "error name-taken alice", Packet{Kind: KindError, Code: "name-taken", Text: "alice"}, false},
		{"error no detail", "error full", Packet{Kind: KindError, Code: "full"}, false},
		{"unknown", "hello", Packet{}, true},
		{"upper verb", "MSG hi", Packet{}, true},
		{"empty", "", Packet{}, true},
		{"not utf8", "msg \xff", Packet{}, true},
		{"oversize", "msg " + strings.Repeat("x", MaxDatagram), Packet{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if tt.err {
				if err == nil {
					t.Fatalf("Parse(%q) = %+v, want error", tt.in, got)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Parse(%q) (-want +got):\n%s", tt.in, d)
			}
		})
	}
}

func TestAppendRoundTrip(t *testing.T) {
	ps := []Packet{
		{Kind: KindJoin, Name: "alice"},
		{Kind: KindJoin, Name: "alice", Cookie: "abc"},
		{Kind: KindCookie, Name: "alice", Cookie: "abc"},
		{Kind: KindWelcome, Name: "a.b-c_d"},
		{Kind: KindMsg, Text: "hello"},
		{Kind: KindRelay, Name: "bob", Text: strings.Repeat("é", MaxText/2)},
		{Kind: KindPing},
		{Kind: KindLeave},
		{Kind: KindBye, Name: "bob", Text: ByeLeft},
		{Kind: KindError, Code: CodeFull},
		{Kind: KindError, Code: CodeNameTaken, Text: "bob"},
	}
	for _, p := range ps {
		b, err := p.Append([]byte("prefix"))
		if err != nil {
			t.Fatalf("Append(%+v): %v", p, err)
		}
		b = b[len("prefix"):]
		if len(b) > MaxDatagram {
			t.Errorf("%v datagram is %d bytes", p.Kind, len(b))
		}
		if p.Kind == KindJoin && len(b) != MinJoin {
			t.Errorf("join is %d bytes, want padding to %d", len(b), MinJoin)
		}
		got, err := Parse(b)
		if err != nil {
			t.Fatalf("Parse(Append(%+v)): %v", p, err)
		}
		if d := cmp.Diff(p, got); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
}

func TestAppendRejects(t *testing.T) {
	ps := []Packet{
		{},
		{Kind: KindJoin, Name: "a b"},
		{Kind: KindJoin, Name: "alice", Cookie: "a b"},
		{Kind: KindMsg},
		{Kind: KindMsg, Text: "a\nb"},
		{Kind: KindMsg, Text: "\xff"},
		{Kind: KindMsg, Text: strings.Repeat("x", MaxText+1)},
		{Kind: KindRelay, Name: "", Text: "x"},
		{Kind: KindBye, Name: "x", Text: "two words"},
		{Kind: KindError, Code: "full", Text: strings.Repeat("x", MaxDetail+1)},
	}
	for _, p := range ps {
		b, err := p.Append([]byte("keep"))
		if err == nil {
			t.Errorf("Append(%+v) = %q, want error", p, b)
		}
		if string(b) != "keep" {
			t.Errorf("Append(%+v) changed the buffer to %q", p, b)
		}
	}
}

func TestLargestRelayFits(t *testing.T) {
	p := Packet{Kind: KindRelay, Name: strings.Repeat("n", MaxName), Text: strings.Repeat("t", MaxText)}
	b, err := p.Append(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxDatagram {
		t.Fatalf("largest relay is %d bytes, more than %d", len(b), MaxDatagram)
	}
	// The largest answer to a join must fit in the smallest join.
	for _, p := range []Packet{
		{Kind: KindCookie, Name: strings.Repeat("n", MaxName), Cookie: strings.Repeat("c", 27)},
		{Kind: KindError, Code: CodeNameTaken, Text: strings.Repeat("n", MaxName)},
	} {
		b, _ := p.Append(nil)
		if len(b) > MinJoin {
			t.Errorf("%v answer is %d bytes, more than MinJoin", p.Kind, len(b))
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "Bob_2": true, "x": true, "9lives": true, "a.b-c": true,
		"": false, "-x": false, "_x": false, "a b": false, "zoë": false, "a:b": false,
		strings.Repeat("a", MaxName): true, strings.Repeat("a", MaxName+1): false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"join alice", "join alice " + strings.Repeat(" ", 240), "join alice Y29va2ll\n",
		"cookie alice abc", "welcome alice", "msg hi", "msg \x1b]0;pwned\x07x",
		"relay alice : hi", "ping", "leave", "bye alice left", "error full", "error name-taken bob",
		"", "\xff", "msg \u202eevil", "relay a :  : ", "join a b c",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		out, err := p.Append(nil)
		if err != nil {
			t.Fatalf("Append of parsed %+v: %v", p, err)
		}
		if len(out) > MaxDatagram {
			t.Fatalf("re-encoded datagram is %d bytes", len(out))
		}
		q, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Append(%+v)) = %v", p, err)
		}
		if p != q {
			t.Fatalf("round trip changed %+v into %+v", p, q)
		}
	})
}
