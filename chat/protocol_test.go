package chat

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want Event
	}{
		{"HELLO choose a nickname", Event{Kind: KindHello, Text: "choose a nickname"}},
		{"HELLO", Event{Kind: KindHello}},
		{"WELCOME bob hi there", Event{Kind: KindWelcome, Nick: "bob", Text: "hi there"}},
		{"MSG lobby alice hello  world ", Event{Kind: KindMessage, Room: "lobby", Nick: "alice", Text: "hello  world "}},
		{"MSG lobby alice hi\r\n", Event{Kind: KindMessage, Room: "lobby", Nick: "alice", Text: "hi"}},
		{"ME lobby alice waves", Event{Kind: KindAction, Room: "lobby", Nick: "alice", Text: "waves"}},
		{"PRIV alice bob psst", Event{Kind: KindPrivate, Nick: "alice", Target: "bob", Text: "psst"}},
		{"JOIN go alice", Event{Kind: KindJoin, Room: "go", Nick: "alice"}},
		{"PART go alice", Event{Kind: KindPart, Room: "go", Nick: "alice"}},
		{"QUIT go alice", Event{Kind: KindQuit, Room: "go", Nick: "alice"}},
		{"QUIT go alice gone to lunch", Event{Kind: KindQuit, Room: "go", Nick: "alice", Text: "gone to lunch"}},
		{"NICK go alice alicia", Event{Kind: KindNick, Room: "go", Nick: "alice", Target: "alicia"}},
		{"ROOMS go=1 lobby=3", Event{Kind: KindRooms, Text: "go=1 lobby=3"}},
		{"WHO lobby alice bob", Event{Kind: KindWho, Room: "lobby", Text: "alice bob"}},
		{"WHO lobby", Event{Kind: KindWho, Room: "lobby"}},
		{"INFO commands: /nick", Event{Kind: KindInfo, Text: "commands: /nick"}},
		{"ERR nick-taken bob is taken", Event{Kind: KindError, Code: "nick-taken", Text: "bob is taken"}},
		{"BYE shutdown server shutting down", Event{Kind: KindBye, Code: "shutdown", Text: "server shutting down"}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := ParseEvent(tt.line)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("ParseEvent(%q) (-want +got):\n%s", tt.line, d)
			}
			back := strings.TrimRight(tt.line, "\r\n")
			if got.String() != back {
				t.Errorf("String() = %q, want %q", got.String(), back)
			}
		})
	}
}

func TestParseEventErrors(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"", "msg lobby a b", "NOPE x", "MSG", "MSG lobby", "MSG  alice hi", "JOIN lobby",
		"JOIN lobby alice extra", "NICK lobby alice", "PRIV alice", "ERR", "BYE",
	} {
		if e, err := ParseEvent(line); err == nil {
			t.Errorf("ParseEvent(%q) = %+v, want an error", line, e)
		}
	}
}

func TestValidNames(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		nick bool
	}{
		{"alice", true}, {"Bob_2", true}, {"_x", true}, {"a-b", true}, {"0", true},
		{"", false}, {"-a", false}, {"a b", false}, {"é", false}, {"a.b", false},
		{strings.Repeat("a", MaxNickLen), true}, {strings.Repeat("a", MaxNickLen+1), false},
		{"\x1b[31m", false},
	} {
		if got := ValidNick(tt.s); got != tt.nick {
			t.Errorf("ValidNick(%q) = %v, want %v", tt.s, got, tt.nick)
		}
	}
	if !ValidRoom(strings.Repeat("r", MaxRoomLen)) || ValidRoom(strings.Repeat("r", MaxRoomLen+1)) {
		t.Error("ValidRoom length limit wrong")
	}
}

// FuzzParseEvent checks that no server line crashes the parser and that
// what it accepts comes back unchanged through String.
func FuzzParseEvent(f *testing.F) {
	for _, s := range []string{
		"HELLO hi", "MSG lobby alice hi there", "QUIT lobby bob", "NICK r a b", "WHO lobby a b",
		"ERR too-long line longer than 1024 bytes; dropped", "BYE slow x", "ROOMS a=1", "MSG a b ", "",
		"JOIN  x", "PRIV a b \x1b[2J",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := ParseEvent(line)
		if err != nil {
			return
		}
		if strings.ContainsAny(line, "\r\n") {
			return
		}
		e2, err := ParseEvent(e.String())
		if err != nil {
			t.Fatalf("ParseEvent(%q).String() = %q does not parse: %v", line, e.String(), err)
		}
		if e != e2 {
			t.Fatalf("round trip of %q: %+v != %+v", line, e, e2)
		}
	})
}
