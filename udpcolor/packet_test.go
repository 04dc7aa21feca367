package udpcolor

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A key and a MAC for tests (the bytes 0, 1, 2, ...) and their base64url.
var (
	testKey   = Key{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}
	testKey64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
	testMAC   = [MACSize]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	testMAC64 = "AAECAwQFBgcICQoLDA0ODw"
)

func TestParse(t *testing.T) {
	t.Parallel()
	pad := func(s string) string { return s + strings.Repeat(" ", MinJoin-len(s)) }
	tests := []struct {
		name string
		in   string
		want Packet
		err  bool
	}{
		{"join", pad("join/2 alice"), Packet{Kind: KindJoin, Name: "alice"}, false},
		{"join unpadded", "join/2 alice", Packet{Kind: KindJoin, Name: "alice"}, false},
		{"join echo", pad("join/2 alice AbC-_9"), Packet{Kind: KindJoin, Name: "alice", Cookie: "AbC-_9"}, false},
		{"join lf", "join/2 bob\n", Packet{Kind: KindJoin, Name: "bob"}, false},
		{"join crlf", "join/2 bob\r\n", Packet{Kind: KindJoin, Name: "bob"}, false},
		{"join no name", pad("join/2"), Packet{}, true},
		{"join bad name", pad("join/2 al\x1bice"), Packet{}, true},
		{"join name starts with dot", pad("join/2 .x"), Packet{}, true},
		{"join name too long", pad("join/2 " + strings.Repeat("a", MaxName+1)), Packet{}, true},
		{"join name max", "join/2 " + strings.Repeat("a", MaxName), Packet{Kind: KindJoin, Name: strings.Repeat("a", MaxName)}, false},
		{"join bad cookie", pad("join/2 alice co/okie"), Packet{}, true},
		{"join three fields", pad("join/2 alice c d"), Packet{}, true},
		{"join first version", pad("join alice"), Packet{}, true},
		{"join other version", pad("join/3 alice"), Packet{}, true},
		{"cookie", "cookie alice xyz", Packet{Kind: KindCookie, Name: "alice", Cookie: "xyz"}, false},
		{"cookie missing", "cookie alice", Packet{}, true},
		{"welcome", "welcome alice " + testKey64, Packet{Kind: KindWelcome, Name: "alice", Key: testKey}, false},
		{"welcome no key", "welcome alice", Packet{}, true},
		{"welcome short key", "welcome alice " + testKey64[1:], Packet{}, true},
		{"welcome long key", "welcome alice " + testKey64 + "A", Packet{}, true},
		{"welcome key not base64url", "welcome alice +" + testKey64[1:], Packet{}, true},
		{"welcome key padded", "welcome alice " + testKey64[:42] + "=", Packet{}, true},
		{"welcome key two words", "welcome alice " + testKey64 + " x", Packet{}, true},
		{"msg", "msg 1 " + testMAC64 + " hello, world", Packet{Kind: KindMsg, Seq: 1, MAC: testMAC, Text: "hello, world"}, false},
		{"msg spaces kept", "msg 7 " + testMAC64 + "  two  spaces ", Packet{Kind: KindMsg, Seq: 7, MAC: testMAC, Text: " two  spaces "}, false},
		{"msg escape allowed on wire", "msg 2 " + testMAC64 + " \x1b[2Jhi", Packet{Kind: KindMsg, Seq: 2, MAC: testMAC, Text: "\x1b[2Jhi"}, false},
		{"msg lf", "msg 3 " + testMAC64 + " hi\n", Packet{Kind: KindMsg, Seq: 3, MAC: testMAC, Text: "hi"}, false},
		{"msg largest counter", "msg 18446744073709551615 " + testMAC64 + " hi", Packet{Kind: KindMsg, Seq: 1<<64 - 1, MAC: testMAC, Text: "hi"}, false},
		{"msg counter overflows", "msg 18446744073709551616 " + testMAC64 + " hi", Packet{}, true},
		{"msg counter 0", "msg 0 " + testMAC64 + " hi", Packet{}, true},
		{"msg counter leading 0", "msg 01 " + testMAC64 + " hi", Packet{}, true},
		{"msg counter signed", "msg +1 " + testMAC64 + " hi", Packet{}, true},
		{"msg counter hex", "msg 0x1 " + testMAC64 + " hi", Packet{}, true},
		{"msg no MAC", "msg 1 hello", Packet{}, true},
		{"msg MAC truncated", "msg 1 " + testMAC64[:21] + " hi", Packet{}, true},
		{"msg MAC too long", "msg 1 " + testMAC64 + "A hi", Packet{}, true},
		{"msg MAC not canonical", "msg 1 " + testMAC64[:21] + "x hi", Packet{}, true},
		{"msg MAC not base64url", "msg 1 " + testMAC64[:21] + "/ hi", Packet{}, true},
		{"msg first version", "msg hello, world", Packet{}, true},
		{"msg empty", "msg 1 " + testMAC64 + " ", Packet{}, true},
		{"msg no text", "msg 1 " + testMAC64, Packet{}, true},
		{"msg none", "msg", Packet{}, true},
		{"msg two lines", "msg 1 " + testMAC64 + " a\nb", Packet{}, true},
		{"msg max", "msg 1 " + testMAC64 + " " + strings.Repeat("x", MaxText), Packet{Kind: KindMsg, Seq: 1, MAC: testMAC, Text: strings.Repeat("x", MaxText)}, false},
		{"msg too long", "msg 1 " + testMAC64 + " " + strings.Repeat("x", MaxText+1), Packet{}, true},
		{"relay", "relay alice : hi : there", Packet{Kind: KindRelay, Name: "alice", Text: "hi : there"}, false},
		{"relay no sep", "relay alice hi", Packet{}, true},
		{"plain", "plain alex : 我要退学", Packet{Kind: KindPlain, Name: "alex", Text: "我要退学"}, false},
		{"plain bad name", "plain al ex : hi", Packet{}, true},
		{"ping", "ping 5 " + testMAC64, Packet{Kind: KindPing, Seq: 5, MAC: testMAC}, false},
		{"ping lf", "ping 5 " + testMAC64 + "\n", Packet{Kind: KindPing, Seq: 5, MAC: testMAC}, false},
		{"ping first version", "ping", Packet{}, true},
		{"ping arg", "ping 5 " + testMAC64 + " x", Packet{}, true},
		{"ping no MAC", "ping 5", Packet{}, true},
		{"ping trailing space", "ping 5 " + testMAC64 + " ", Packet{}, true},
		{"leave", "leave 9 " + testMAC64, Packet{Kind: KindLeave, Seq: 9, MAC: testMAC}, false},
		{"leave first version", "leave", Packet{}, true},
		{"bye", "bye alice expired", Packet{Kind: KindBye, Name: "alice", Text: "expired"}, false},
		{"error", "error name-taken alice", Packet{Kind: KindError, Code: "name-taken", Text: "alice"}, false},
		{"error no detail", "error full", Packet{Kind: KindError, Code: "full"}, false},
		{"unknown", "hello", Packet{}, true},
		{"upper verb", "MSG hi", Packet{}, true},
		{"empty", "", Packet{}, true},
		{"not utf8", "msg 1 " + testMAC64 + " \xff", Packet{}, true},
		{"oversize", "msg 1 " + testMAC64 + " " + strings.Repeat("x", MaxDatagram), Packet{}, true},
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
	t.Parallel()
	ps := []Packet{
		{Kind: KindJoin, Name: "alice"},
		{Kind: KindJoin, Name: "alice", Cookie: "abc"},
		{Kind: KindCookie, Name: "alice", Cookie: "abc"},
		{Kind: KindWelcome, Name: "a.b-c_d", Key: testKey},
		{Kind: KindMsg, Seq: 1, MAC: testMAC, Text: "hello"},
		{Kind: KindMsg, Seq: 1<<64 - 1, Text: strings.Repeat("x", MaxText)},
		{Kind: KindRelay, Name: "bob", Text: strings.Repeat("é", MaxText/2)},
		{Kind: KindPlain, Name: "alex", Text: "我要退学"},
		{Kind: KindPing, Seq: 2, MAC: testMAC},
		{Kind: KindLeave, Seq: 3},
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
	t.Parallel()
	ps := []Packet{
		{},
		{Kind: KindJoin, Name: "a b"},
		{Kind: KindJoin, Name: "alice", Cookie: "a b"},
		{Kind: KindMsg, Seq: 1},
		{Kind: KindMsg, Text: "no counter"},
		{Kind: KindPing},
		{Kind: KindLeave},
		{Kind: KindMsg, Seq: 1, Text: "a\nb"},
		{Kind: KindMsg, Seq: 1, Text: "\xff"},
		{Kind: KindMsg, Seq: 1, Text: strings.Repeat("x", MaxText+1)},
		{Kind: KindRelay, Name: "", Text: "x"},
		{Kind: KindPlain, Name: "a b", Text: "x"},
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
	t.Parallel()
	for _, k := range []Kind{KindRelay, KindPlain} {
		p := Packet{Kind: k, Name: strings.Repeat("n", MaxName), Text: strings.Repeat("t", MaxText)}
		b, err := p.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > MaxDatagram {
			t.Fatalf("largest %v is %d bytes, more than %d", k, len(b), MaxDatagram)
		}
	}
	p := Packet{Kind: KindMsg, Seq: 1<<64 - 1, Text: strings.Repeat("t", MaxText)}
	if b, err := p.Append(nil); err != nil || len(b) > MaxDatagram {
		t.Fatalf("largest msg: %d bytes, %v", len(b), err)
	}
	// The largest answer to a join must fit in the smallest join.
	for _, p := range []Packet{
		{Kind: KindCookie, Name: strings.Repeat("n", MaxName), Cookie: strings.Repeat("c", 27)},
		{Kind: KindError, Code: CodeNameTaken, Text: strings.Repeat("n", MaxName)},
		{Kind: KindError, Code: CodeAddrFull, Text: "at most 9223372036854775807 members per address"},
		{Kind: KindError, Code: CodeVersion, Text: "this server speaks " + joinVerb},
	} {
		b, _ := p.Append(nil)
		if len(b) > MinJoin {
			t.Errorf("%v answer is %d bytes, more than MinJoin", p.Kind, len(b))
		}
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
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
		"join/2 alice", "join/2 alice " + strings.Repeat(" ", 240), "join/2 alice Y29va2ll\n",
		"cookie alice abc", "welcome alice " + testKey64, "msg 1 " + testMAC64 + " hi",
		"msg 18446744073709551615 " + testMAC64 + " \x1b]0;pwned\x07x", "msg 1 " + testMAC64 + "  ",
		"relay alice : hi", "plain alex : 我要退学", "ping 1 " + testMAC64, "leave 2 " + testMAC64 + "\r\n", "ping 1 " + testMAC64[:21] + "x",
		"bye alice left", "error full", "error name-taken bob", "join alice", "msg hi", "ping", "leave",
		"", "\xff", "msg 3 " + testMAC64 + " \u202eevil", "relay a :  : ", "join/2 a b c",
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

func TestJoinVerbCarriesVersion(t *testing.T) {
	t.Parallel()
	if want := "join/" + strconv.Itoa(Version); joinVerb != want || KindJoin.String() != want {
		t.Errorf("join verb %q (Kind %q), want %q", joinVerb, KindJoin, want)
	}
}
