package natshub

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const id1 = "0123456789abcdef"

func TestParseOrigin(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want origin
		ok   bool
	}{
		{id1 + " 1", origin{id1, 1}, true},
		{id1 + " 18446744073709551615", origin{id1, 1<<64 - 1}, true},
		{id1 + " 0", origin{}, false},
		{id1 + " 01", origin{}, false},
		{id1 + " +1", origin{}, false},
		{id1 + " 18446744073709551616", origin{}, false},
		{id1 + "  1", origin{}, false},
		{id1 + " 1 ", origin{}, false},
		{id1, origin{}, false},
		{"0123456789ABCDEF 1", origin{}, false},
		{"0123456789abcde 1", origin{}, false},
		{"", origin{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseOrigin(tc.in)
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, errBadWire) {
				t.Fatalf("parseOrigin(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(origin{})); diff != "" {
				t.Errorf("parseOrigin(%q) (-want +got):\n%s", tc.in, diff)
			}
			if tc.ok && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestParseEntry(t *testing.T) {
	for _, tc := range []struct {
		key, in string
		want    entry
		ok      bool
	}{
		{"ann", id1 + " lobby ann", entry{id1, "lobby", "ann"}, true},
		{"bob", id1 + " - Bob", entry{id1, "", "Bob"}, true},
		{"bob", id1 + " go-1 BOB", entry{id1, "go-1", "BOB"}, true},
		{"ann", id1 + " lobby bob", entry{}, false},   // not the key's
		{"ann", id1 + " Lobby ann", entry{}, false},   // rooms are folded
		{"ann", id1 + " -x ann", entry{}, false},      // no room starts with -
		{"ann", id1 + " lobby ann x", entry{}, false}, // a field too many
		{"ann", id1 + "  ann", entry{}, false},
		{"ann", "server lobby ann", entry{}, false},
		{"a b", id1 + " lobby a b", entry{}, false},
		{"ann", "", entry{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseEntry(tc.key, []byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("parseEntry(%q, %q) error %v, want ok=%v", tc.key, tc.in, err, tc.ok)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(entry{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if tc.ok && string(got.encode()) != tc.in {
				t.Errorf("encode() = %q, want %q", got.encode(), tc.in)
			}
		})
	}
}

func TestCheckRoomLine(t *testing.T) {
	for _, tc := range []struct {
		name, room, line string
		ok               bool
	}{
		{"message", "lobby", "MSG lobby ann hi there\n", true},
		{"spaces kept", "lobby", "MSG lobby ann   hi  \n", true},
		{"action", "go", "ME go ann waves\n", true},
		{"join", "go", "JOIN go ann\n", true},
		{"part", "go", "PART go ann\n", true},
		{"quit", "go", "QUIT go ann\n", true},
		{"quit reason", "go", "QUIT go ann lunch time\n", true},
		{"nick", "go", "NICK go ann anna\n", true},
		{"unicode", "go", "MSG go ann héllo, 世界\n", true},
		{"other room", "lobby", "MSG go ann hi\n", false},
		{"space without text", "lobby", "MSG lobby ann \n", false},
		{"two spaces", "lobby", "JOIN lobby  ann\n", false},
		{"no newline", "lobby", "MSG lobby ann hi", false},
		{"two lines", "lobby", "MSG lobby ann hi\nMSG lobby ann x\n", false},
		{"carriage return", "lobby", "MSG lobby ann hi\r\n", false},
		{"escape", "lobby", "MSG lobby ann \x1b[2Jgotcha\n", false},
		{"bidi", "lobby", "MSG lobby ann abc\u202edef\n", false},
		{"bad utf8", "lobby", "MSG lobby ann \xff\n", false},
		{"bad nick", "lobby", "MSG lobby a.n hi\n", false},
		{"upper room", "Lobby", "MSG Lobby ann hi\n", false},
		{"nick without new", "go", "NICK go ann\n", false},
		{"not a room kind", "lobby", "BYE quit goodbye\n", false},
		{"private", "lobby", "PRIV ann bob hi\n", false},
		{"unknown", "lobby", "HACK lobby ann\n", false},
		{"empty", "lobby", "", false},
		{"too long", "lobby", "MSG lobby ann " + strings.Repeat("x", maxLineBytes) + "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRoomLine(tc.room, []byte(tc.line))
			if (err == nil) != tc.ok || err != nil && !errors.Is(err, errBadWire) {
				t.Errorf("checkRoomLine(%q, %q) = %v, want ok=%v", tc.room, tc.line, err, tc.ok)
			}
		})
	}
}

func FuzzParseOrigin(f *testing.F) {
	for _, s := range []string{id1 + " 1", id1 + " 42", id1 + " 0", "x 1", "", id1 + " -1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseOrigin(s)
		if err != nil {
			return
		}
		if !validID(o.server) || o.seq == 0 || o.String() != s {
			t.Fatalf("parseOrigin(%q) = %+v, which does not print back", s, o)
		}
	})
}

func FuzzParseEntry(f *testing.F) {
	f.Add("ann", []byte(id1+" lobby ann"))
	f.Add("bob", []byte(id1+" - Bob"))
	f.Add("x", []byte("garbage"))
	f.Fuzz(func(t *testing.T, key string, b []byte) {
		e, err := parseEntry(key, b)
		if err != nil {
			return
		}
		if string(e.encode()) != string(b) {
			t.Fatalf("parseEntry(%q, %q) = %+v, encoded %q", key, b, e, e.encode())
		}
	})
}

func FuzzCheckLine(f *testing.F) {
	for _, s := range []string{"MSG lobby ann hi\n", "NICK go a b\n", "PRIV a b hi\n", "QUIT lobby a\n", "MSG lobby a \x1b]0;x\x07\n", "JOIN x y z\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := checkLine(b, roomKinds)
		if err != nil {
			return
		}
		// What passes is exactly what a chat.Server would send: it prints
		// back the same, and has no control character but its "\n".
		if e.String()+"\n" != string(b) {
			t.Fatalf("checkLine(%q) passed, but it prints back as %q", b, e.String())
		}
		for _, c := range string(b[:len(b)-1]) {
			if c < 0x20 && c != '\t' || c == 0x7f {
				t.Fatalf("checkLine(%q) passed a control character", b)
			}
		}
	})
}
