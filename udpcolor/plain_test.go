package udpcolor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/termcolor"
	"github.com/sockkit/sockkit/internal/textsafe"
)

func TestParsePlain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		name, text string // empty name: not a plain line
	}{
		{"alex : 我要退学", "alex", "我要退学"},
		{"alex:hi", "alex", "hi"},
		{"alex: hi\n", "alex", "hi"},
		{"alex : hi\r\n", "alex", "hi"},
		{" alex\t:\tsee you at 10:30 ", "alex", "see you at 10:30"},
		{"a:b", "a", "b"},
		{"Bea_2.x-y : tab\tinside", "Bea_2.x-y", "tab\tinside"},
		{strings.Repeat("n", MaxName) + " : " + strings.Repeat("t", MaxText), strings.Repeat("n", MaxName), strings.Repeat("t", MaxText)},
		{"alex", "", ""},                                // no colon
		{"alex :", "", ""},                              // no text
		{"alex :  \t ", "", ""},                         // only blanks
		{": hi", "", ""},                                // no name
		{"al ex : hi", "", ""},                          // a space in the name
		{"zoë : hi", "", ""},                            // not ASCII
		{"14:05:09", "", ""},                            // a time of day, not a name
		{"2026-01-01T00:00:00Z", "", ""},                // a date
		{"_x : hi", "", ""},                             // starts with '_'
		{"alex : \x1b[31mred", "", ""},                  // an escape sequence
		{"alex : bell\a", "", ""},                       // a control character
		{"alex : a\nb", "", ""},                         // two lines
		{"alex : hi\n\n", "", ""},                       // two line feeds
		{"alex : \u202eevil", "", ""},                   // a bidirectional override
		{"\xff : x", "", ""},                            // not UTF-8
		{"alex : \xe6\x88", "", ""},                     // cut UTF-8
		{"alex : hi\x00", "", ""},                       // NUL
		{strings.Repeat("n", MaxName+1) + ":x", "", ""}, // name too long
		{"alex:" + strings.Repeat("t", MaxText+1), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in[:min(len(tt.in), 24)], func(t *testing.T) {
			name, text, err := parsePlain([]byte(tt.in))
			if tt.name == "" {
				if err == nil {
					t.Errorf("parsePlain(%q) = %q, %q; want an error", tt.in, name, text)
				} else if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if err != nil || name != tt.name || text != tt.text {
				t.Errorf("parsePlain(%q) = %q, %q, %v; want %q, %q", tt.in, name, text, err, tt.name, tt.text)
			}
		})
	}
}

func TestProtocolVerb(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"join/2 alice": true, "join alice": true, "join/9": true, "msg 1 x y": true, "ping\n": true,
		"leave": true, "cookie a b": true, "welcome": true, "relay a : b": true, "plain a : b": true,
		"bye a left": true, "error full": true,
		"alex : hi": false, "msg:hi": false, "error: bad": false, "Msg : hi": false, "joiner : hi": false, "": false,
	} {
		if got := protocolVerb([]byte(in)); got != want {
			t.Errorf("protocolVerb(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParsePlain(f *testing.F) {
	for _, s := range []string{
		"alex : 我要退学", "alex:hi", "alex: hi\r\n", " a\t:\tb ", "14:05:09", "alex : \x1b[31m", "\xff:x",
		": x", "a:", "a::b", "alex : hi\n\n", "a : \u202e", "x:" + strings.Repeat("y", MaxText),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		name, text, err := parsePlain(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !validPlainName(name) || strings.Contains(name, ":") {
			t.Fatalf("name %q", name)
		}
		if text == "" || len(text) > MaxText || !utf8.ValidString(text) || textsafe.Check(text) != nil {
			t.Fatalf("text %q", text)
		}
		if text != strings.Trim(text, " \t") {
			t.Fatalf("text %q has blanks at an end", text)
		}
		// It is what members are relayed, and it reads back the same.
		p := Packet{Kind: KindPlain, Name: name, Text: text}
		out, err := p.Append(nil)
		if err != nil {
			t.Fatalf("Append(%+v): %v", p, err)
		}
		if q, err := Parse(out); err != nil || q != p {
			t.Fatalf("Parse(%q) = %+v, %v", out, q, err)
		}
		if n2, t2, err := parsePlain([]byte(name + " : " + text)); err != nil || n2 != name || t2 != text {
			t.Fatalf("%q : %q reads back as %q, %q, %v", name, text, n2, t2, err)
		}
	})
}

var (
	alex = addr("10.0.0.10:50010")
	bea  = addr("10.0.0.11:50011")
)

// wire is the size of a datagram on the wire: its payload and the
// headers of admit.Overhead.
func wire(n int) int { return n + admit.Overhead }

// The tutorial's exchange: alex sends one plain datagram, the transcript
// shows it with alex's colour, alex gets an answer, and the members see
// it as unverified.
func TestServerPlain(t *testing.T) {
	t.Setenv("TERM", "xterm-256color")
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript, Color: ColorAlways, Palette: NewPalette(map[string]Color{"alex": 33, "alice": 64})})
	h.join(alice, "alice")
	h.send(alex, "alex : 我要退学")
	h.expect(h.drain(), dg(alex, "server : received"), dg(alice, "plain alex : 我要退学"))
	want := "* \x1b[38;5;64malice\x1b[0m joined\n\x1b[38;5;33malex\x1b[0m : 我要退学\n"
	if transcript.String() != want {
		t.Errorf("transcript %q, want %q", transcript.String(), want)
	}
	if st := h.s.Stats(); st.Plain != 1 || st.PlainReplies != 1 || st.Relayed != 1 {
		t.Errorf("Plain %d, PlainReplies %d, Relayed %d; want 1, 1, 1", st.Plain, st.PlainReplies, st.Relayed)
	}
}

// What is answered, and what is not.
func TestServerPlainAnswers(t *testing.T) {
	t.Parallel()
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript})
	h.join(alice, "alice")
	for _, tt := range []struct {
		name, in string
		want     []datagram
	}{
		{"a member's name", "ALICE : it is me", []datagram{dg(alex, "server : the name ALICE is a member's; choose another")}},
		{"the operator's name", "server : received", nil},
		{"the operator's name in capitals", "SERVER : RECEIVED", nil},
		{"garbage", "hello?", nil},
		{"a time of day", "14:05:09", nil},
		{"an escape", "alex : \x1b[2J", nil},
		{"a server verb", "relay alex : hi", nil},
		{"a client verb", "msg : hi", nil}, // a malformed msg; its error would be larger
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.send(alex, tt.in)
			h.expect(h.drain(), tt.want...)
		})
	}
	if want := "* alice joined\n"; transcript.String() != want {
		t.Errorf("transcript %q, want %q", transcript.String(), want)
	}
	if st := h.s.Stats(); st.Plain != 0 {
		t.Errorf("Plain = %d, want 0", st.Plain)
	}
}

// The same datagram from the same source is answered three times in a
// row, no more: a service that answers everything with the same line
// cannot keep a loop going with the server.
func TestServerPlainRepeats(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	for range 5 {
		h.send(alex, "bot : what?")
	}
	h.send(bea, "bot : what?") // another source counts for itself
	h.send(alex, "bot : what now?")
	h.send(alex, "bot : what?")
	ack := "server : received"
	h.expect(h.drain(), dg(alex, ack), dg(alex, ack), dg(alex, ack), dg(bea, ack), dg(alex, ack), dg(alex, ack))
	if st := h.s.Stats(); st.Plain != 8 || st.PlainReplies != 6 {
		t.Errorf("Plain %d, PlainReplies %d; want 8 taken, 6 answered", st.Plain, st.PlainReplies)
	}
}

// Nothing sent to a plain sender, answers and the operator's lines
// together, is more than three times what it sent, counted on the wire.
func TestServerPlainBudget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	h.send(alex, "a:b") // 3 bytes, 31 on the wire: 93 may go back
	h.expect(h.drain(), dg(alex, "server : received"))
	owed := admit.Factor*wire(3) - wire(len("server : received")) // 48
	long := strings.Repeat("x", owed-admit.Overhead-len("server : ")+1)
	var be *BudgetError
	if err := h.s.Say(long); !errors.Is(err, ErrOverBudget) || !errors.As(err, &be) {
		t.Errorf("Say of %d bytes: %v, want a BudgetError", len(long), err)
	} else if want := (BudgetError{Name: "a", Size: 21, Room: 20}); *be != want {
		t.Errorf("BudgetError %+v, want %+v", *be, want)
	}
	if err := h.s.Say(long[1:]); err != nil {
		t.Errorf("Say of %d bytes: %v", len(long)-1, err)
	}
	if err := h.s.Say("x"); !errors.Is(err, ErrOverBudget) {
		t.Errorf("Say with nothing owed: %v, want ErrOverBudget", err)
	}
	got := h.drain()
	h.expect(got, dg(alex, "server : "+long[1:]))
	if st := h.s.Stats(); st.Dropped.Amplification != 2 {
		t.Errorf("Dropped.Amplification = %d, want 2", st.Dropped.Amplification)
	}

	// Many short lines and long answers: never more than 3x in total.
	sent, back := 0, 0
	count := func(got []datagram) {
		for _, d := range got {
			if d.addr == bea {
				back += wire(len(d.b))
			}
		}
	}
	for i := range 40 {
		line := fmt.Sprintf("bea:%d", i)
		h.send(bea, line)
		sent += wire(len(line))
		if i%4 == 3 {
			count(h.drain())
			h.s.Say(strings.Repeat("y", 100)) // to the last plain sender: bea
		}
	}
	count(h.drain())
	if back == 0 || back > admit.Factor*sent {
		t.Errorf("bea sent %d bytes on the wire and got %d back: want some, at most 3x", sent, back)
	}
}

// The operator's lines go to the members and to the last plain sender
// whose line was shown, and are written to the transcript.
func TestServerSay(t *testing.T) {
	t.Parallel()
	var transcript bytes.Buffer
	h := newHarness(t, &Server{Transcript: &transcript, Operator: true})
	h.join(alice, "alice")
	if err := h.s.Say("no plain sender yet"); err != nil {
		t.Fatal(err)
	}
	h.expect(h.drain(), dg(alice, "relay server : no plain sender yet"))
	h.send(alex, "alex : 我要退学") // no automatic answer: the operator answers
	h.send(bea, "alice : me")   // a member's name: not the last plain sender
	h.expect(h.drain(), dg(alice, "plain alex : 我要退学"), dg(bea, "server : the name alice is a member's; choose another"))
	if err := h.s.Say("为什么? \x1b[31m"); err != nil {
		t.Fatal(err)
	}
	h.expect(h.drain(), dg(alice, "relay server : 为什么?"), dg(alex, "server : 为什么?"))
	for _, bad := range []string{"", "\x1b[2J", "two\nlines", strings.Repeat("x", MaxText+1)} {
		if err := h.s.Say(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("Say(%q) = %v, want ErrMalformed", bad, err)
		}
	}
	// A plain sender silent for longer than MemberTimeout is forgotten.
	h.clock.Add(DefaultMemberTimeout + time.Second)
	h.ping(alice) // too late
	h.expect(h.drain(), dg(alice, "bye alice expired"))
	if err := h.s.Say("still there?"); err != nil {
		t.Fatal(err)
	}
	h.expect(h.drain())
	want := "* alice joined\nserver : no plain sender yet\nalex : 我要退学\nserver : 为什么?\n* alice expired\nserver : still there?\n"
	if transcript.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", transcript.String(), want)
	}
}

// Nobody may join as the operator.
func TestServerOperatorNameReserved(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{})
	for _, name := range []string{"server", "Server", "SERVER"} {
		h.sendPacket(alice, Packet{Kind: KindJoin, Name: name})
		h.expect(h.drain(), dg(alice, "error name-taken "+name))
	}
}

// Plain lines from all sources together are taken at PlainRate, and
// relayed at PlainRelayRate, each in bursts of five seconds' worth.
func TestServerPlainRates(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{PlainRate: 4, PlainRelayRate: 1})
	h.join(alice, "alice")
	for i := range 30 {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 2, 0, byte(i)}), 40000)
		h.send(from, fmt.Sprintf("p%d : hi", i))
	}
	relayed, acks := 0, 0
	for _, d := range h.drain() {
		if d.addr == alice {
			relayed++
		} else {
			acks++
		}
	}
	if relayed != 5 || acks != 20 {
		t.Errorf("%d relayed, %d answered; want the bursts, 5 and 20", relayed, acks)
	}
	if st := h.s.Stats(); st.Plain != 20 || st.Dropped.Rate != 10 {
		t.Errorf("Plain %d, Dropped.Rate %d; want 20, 10", st.Plain, st.Dropped.Rate)
	}
}

func TestServerPlainModes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		mode PlainMode
		want []datagram
		line bool
	}{
		{"relayed", PlainRelayed, []datagram{dg(alex, "server : received"), dg(alice, "plain alex : hi")}, true},
		{"shown", PlainShown, []datagram{dg(alex, "server : received")}, true},
		{"off", PlainOff, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var transcript bytes.Buffer
			h := newHarness(t, &Server{Plain: tt.mode, Transcript: &transcript})
			h.join(alice, "alice")
			h.send(alex, "alex : hi")
			h.expect(h.drain(), tt.want...)
			if got := strings.Contains(transcript.String(), "alex : hi\n"); got != tt.line {
				t.Errorf("transcript %q", transcript.String())
			}
		})
	}
}

// A member's client hears plain senders as unverified, and the operator
// under its reserved name.
func TestClientHearsPlainAndOperator(t *testing.T) {
	t.Parallel()
	s := &Server{}
	addr, _ := startUDP(t, s)
	c, err := (&Client{}).Join(context.Background(), addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	plain, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	plain.Write([]byte("alex : 我要退学"))
	if d := cmp.Diff(Message{Name: "alex", Text: "我要退学", Unverified: true}, recv(t, c)); d != "" {
		t.Errorf("plain line (-want +got):\n%s", d)
	}
	buf := make([]byte, MaxDatagram)
	plain.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := plain.Read(buf); err != nil || string(buf[:n]) != "server : received" {
		t.Fatalf("the plain sender got %q, %v", buf[:n], err)
	}
	if err := s.Say("you are heard"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(Message{Name: OperatorName, Text: "you are heard"}, recv(t, c)); d != "" {
		t.Errorf("operator's line (-want +got):\n%s", d)
	}
	if n, err := plain.Read(buf); err != nil || string(buf[:n]) != "server : you are heard" {
		t.Fatalf("the plain sender got %q, %v", buf[:n], err)
	}
}

func TestRendererPrint(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := newRenderer(&buf, NewPalette(map[string]Color{"alex": 33}), termcolor.Colors256)
	r.Print(Message{Name: "alex", Text: "hi"})
	r.Print(Message{Name: "alex", Text: "我要退学", Unverified: true})
	want := "\x1b[38;5;33malex\x1b[0m : hi\n\x1b[38;5;33malex\x1b[0m (unverified) : 我要退学\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func BenchmarkParsePlain(b *testing.B) {
	line := []byte("alex : 我要退学")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parsePlain(line); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerPlain measures one plain line through the server: the
// gate, the parse, the table of plain senders, the transcript and the
// answer (no members).
func BenchmarkServerPlain(b *testing.B) {
	s := &Server{PacketsPerSecond: -1, PlainRate: -1, Transcript: io.Discard}
	c := newMemConn()
	errc := make(chan error, 1)
	go func() { errc <- s.ServePacket(context.Background(), c) }()
	defer func() {
		s.Close()
		<-errc
	}()
	from := netip.MustParseAddrPort("10.0.0.10:50010")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		c.in <- datagram{[]byte("alex : line " + strconv.Itoa(i)), from}
		<-c.out
	}
}

// Say runs in the operator's goroutine while the server takes lines from
// the same plain sender (run with -race).
func TestServerSayWhilePlainLinesArrive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &Server{Operator: true, PacketsPerSecond: -1, PlainRate: -1, Transcript: io.Discard})
	h.join(alice, "alice")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			h.s.Say(fmt.Sprintf("answer %d", i))
		}
	}()
	for i := range 200 {
		h.send(alex, fmt.Sprintf("alex : line %d", i))
	}
	<-done
	h.drain()
	if st := h.s.Stats(); st.Plain != 200 {
		t.Errorf("Plain = %d, want 200", st.Plain)
	}
}
