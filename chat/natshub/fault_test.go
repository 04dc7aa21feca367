package natshub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sockkit/sockkit/chat"
)

var (
	localLine  = "INFO " + infoLocal
	sharedLine = "INFO " + infoShared
)

// TestNATSGoesAway kills NATS in the middle of a burst and starts it again,
// with the embedded server and with Debian's nats-server (killed with
// SIGKILL): rooms go local-only with one INFO line, no line is lost
// without an ERR to its sender, and the rooms and nicknames join up again.
func TestNATSGoesAway(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(*testing.T) natsPeer
	}{
		{"embedded", func(t *testing.T) natsPeer { return startEmbedded(t) }},
		{"nats-server", func(t *testing.T) natsPeer { return startDebianNATS(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			noLeaks(t)
			testNATSGoesAway(t, tc.start(t))
		})
	}
}

func testNATSGoesAway(t *testing.T, ns natsPeer) {
	// ann's server reads her burst at 300 lines a second, so that NATS
	// dies while some of it is on its way.
	a := startNode(t, ns.URL(), testOptions(), func(s *chat.Server) { s.LineRate, s.LineBurst = 300, 10 })
	b := startNode(t, ns.URL(), testOptions())
	ann := dial(t, a.addr, "ann")
	amy := dial(t, a.addr, "amy")
	bob := dial(t, b.addr, "bob")
	ann.until("JOIN lobby bob")
	amy.until("JOIN lobby bob")

	// ann sends a burst; NATS dies in its middle.
	const burst = 200
	go func() {
		var sb strings.Builder
		for i := range burst {
			fmt.Fprintf(&sb, "m%d\n", i)
		}
		ann.c.Write([]byte(sb.String()))
	}()
	amy.until("MSG lobby ann m20")
	ns.Stop()

	// Every user hears once that the room is local-only, and the rooms of
	// each server go on by themselves.
	annSaw := ann.until(localLine)
	amySaw := append([]string{"MSG lobby ann m20"}, amy.until(localLine)...)
	bob.until(localLine)
	ann.send("end")
	annSaw = append(annSaw, ann.until("MSG lobby ann end")...)
	amySaw = append(amySaw, amy.until("MSG lobby ann end")...)
	bob.send("alone on b")
	bob.until("MSG lobby bob alone on b")

	// Nothing lost in silence: each line of the burst reached amy, or ann
	// heard that nobody got it.
	got, nobody, drained := 0, 0, 0
	for _, l := range amySaw {
		if strings.HasPrefix(l, "MSG lobby ann m") {
			got++
		}
	}
	for _, l := range annSaw {
		switch {
		case strings.HasPrefix(l, "ERR "+chat.CodeNotDelivered+" ") && strings.Contains(l, "nobody got"):
			nobody++
		case strings.HasPrefix(l, "ERR "+chat.CodeNotDelivered+" "):
			drained++
		}
	}
	got += 20 // m0..m19, read before
	if got+nobody != burst {
		t.Errorf("amy got %d lines of %d and ann heard of %d lost: %d missing without a word", got, burst, nobody, burst-got-nobody)
	}
	t.Logf("burst of %d: %d delivered (%d of them here alone, with an ERR), %d refused", burst, got, drained, nobody)

	ns.Restart()
	for _, u := range []*user{ann, amy, bob} {
		for _, l := range u.until(sharedLine) {
			if l == localLine {
				t.Errorf("%s: a second %q", u.nick, l)
			}
		}
	}
	ann.send("after")
	bob.until("MSG lobby ann after")
	// NATS forgot the directory: the servers wrote it again.
	bob.eventually("/who", "WHO ", "WHO lobby amy ann bob")
	cy := connect(t, b.addr)
	cy.send("ann")
	cy.untilPrefix("ERR nick-taken ")
}

// TestDeadServer: the nicknames of a server that dies without a word are
// free again after its lease runs out.
func TestDeadServer(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	o := testOptions()
	o.NickTTL = time.Second
	a := startNode(t, ns.URL(), o)
	b := startNode(t, ns.URL(), o)
	ann := dial(t, a.addr, "ann")
	dial(t, b.addr, "bob")
	ann.until("JOIN lobby bob")
	ann.eventually("/who", "WHO ", "WHO lobby ann bob")

	died := time.Now()
	b.hub.shutdown(false) // as a crash: nothing is taken out of NATS
	b.stop(t)
	ann.eventually("/who", "WHO ", "WHO lobby ann")
	left := time.Since(died)
	for {
		u := connect(t, a.addr)
		u.send("bob")
		if l := u.line(); strings.HasPrefix(l, "WELCOME bob ") {
			break
		} else if !strings.HasPrefix(l, "ERR nick-taken ") {
			t.Fatalf("claiming bob: %q", l)
		}
		u.c.Close()
		if time.Since(died) > bound {
			t.Fatal("bob's nickname was never released")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("with NickTTL %v: gone from /who after %v, nickname free after %v", o.NickTTL, left, time.Since(died))
}

// TestSlowLink: a link to NATS that stops moving never stalls a
// session: lines past MaxPendingBytes are refused at once, those on
// their way are delivered here once EchoTimeout has passed, and the rooms
// join up again when the link moves.
func TestSlowLink(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	px := startProxy(t, strings.TrimPrefix(ns.URL(), "nats://"))
	o := testOptions()
	o.MaxPendingBytes, o.EchoTimeout = 2048, time.Second
	a := startNode(t, px.URL(), o)
	b := startNode(t, ns.URL(), testOptions())
	ann := dial(t, a.addr, "ann")
	amy := dial(t, a.addr, "amy")
	bob := dial(t, b.addr, "bob")
	ann.until("JOIN lobby bob")
	amy.until("JOIN lobby bob")

	px.pause()
	const burst = 100
	var sb strings.Builder
	for i := range burst {
		fmt.Fprintf(&sb, "slow %03d %s\n", i, strings.Repeat(".", 40))
	}
	sb.WriteString("/who\n")
	ann.send(strings.TrimSuffix(sb.String(), "\n"))
	// The session is not held up: the answer comes while NATS hears nothing.
	var annSaw []string
	for l := ann.line(); !strings.HasPrefix(l, "WHO lobby "); l = ann.line() {
		annSaw = append(annSaw, l)
	}
	annSaw = append(annSaw, ann.until(localLine)...)
	amySaw := amy.until(localLine)
	ann.send("end")
	annSaw = append(annSaw, ann.until("MSG lobby ann end")...)
	amySaw = append(amySaw, amy.until("MSG lobby ann end")...)

	got, busy, drained := 0, 0, 0
	for _, l := range amySaw {
		if strings.HasPrefix(l, "MSG lobby ann slow ") {
			got++
		}
	}
	for _, l := range annSaw {
		switch {
		case l == "ERR "+errBusy.code+" "+errBusy.text:
			busy++
		case l == "ERR "+errDrained.code+" "+errDrained.text:
			drained++
		}
	}
	if busy == 0 || got != drained || got+busy != burst {
		t.Errorf("of %d lines, amy got %d, ann heard of %d refused and %d perhaps not shared", burst, got, busy, drained)
	}

	px.resume()
	ann.until(sharedLine)
	amy.until(sharedLine)
	ann.send("moving again")
	bob.until("MSG lobby ann moving again")
	if s := a.hub.Stats(); !s.Shared || s.NotDelivered != int64(busy+drained) {
		t.Errorf("stats %+v, want shared and %d not delivered", s, busy+drained)
	}
}

// TestMalformedFromNATS: what others publish on the chat's subjects
// reaches no user unless it is a line a chat server could have sent.
func TestMalformedFromNATS(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	a := startNode(t, ns.URL(), testOptions())
	ann := dial(t, a.addr, "ann")
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	withOrigin := func(subject, data string) *nats.Msg {
		return &nats.Msg{Subject: subject, Data: []byte(data), Header: nats.Header{originHeader: []string{id1 + " 1"}}}
	}
	bad := []*nats.Msg{
		withOrigin("sockkit.chat.room.lobby", "MSG lobby eve \x1b]0;owned\x07\n"),
		withOrigin("sockkit.chat.room.lobby", "MSG go eve wrong room\n"),
		withOrigin("sockkit.chat.room.lobby", "BYE quit fake\n"),
		withOrigin("sockkit.chat.room.lobby", "MSG lobby eve one\nMSG lobby eve two\n"),
		{Subject: "sockkit.chat.room.lobby", Data: []byte("MSG lobby eve no origin\n")},
		withOrigin("sockkit.chat.room.Lobby", "MSG Lobby eve hi\n"),
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for _, m := range bad {
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatalf("publishing %q: %v", m.Data, err)
		}
	}
	if _, err := js.PublishMsg(ctx, withOrigin("sockkit.chat.room.lobby", "MSG lobby eve a fine line\n")); err != nil {
		t.Fatal(err)
	}
	if saw := ann.until("MSG lobby eve a fine line"); len(saw) > 0 {
		t.Errorf("ann saw %q", saw)
	}
	if got := a.hub.Stats().Dropped; got != int64(len(bad)) {
		t.Errorf("%d dropped, want %d", got, len(bad))
	}

	// A private message that is not a PRIV line for one of this server's
	// users gets "no-such-nick", and reaches nobody.
	for _, data := range []string{"PRIV eve ann \x1b[31mred\n", "PRIV eve nobody hi\n", "MSG lobby eve hi\n"} {
		resp, err := nc.Request("sockkit.chat.priv."+a.hub.ServerID(), []byte(data), bound)
		if err != nil || string(resp.Data) != replyNoNick {
			t.Errorf("private %q: %v %v", data, err, resp)
		}
	}
	resp, err := nc.Request("sockkit.chat.priv."+a.hub.ServerID(), []byte("PRIV eve ann hello\n"), bound)
	if err != nil || string(resp.Data) != replyOK {
		t.Errorf("a good private message: %v %v", err, resp)
	}
	if saw := ann.until("PRIV eve ann hello"); len(saw) > 0 {
		t.Errorf("ann saw %q", saw)
	}
}

// TestNickCollision: two servers apart each give out the same nickname;
// when they join up again, NATS keeps one, and the other user is told.
func TestNickCollision(t *testing.T) {
	noLeaks(t)
	ns := startEmbedded(t)
	a := startNode(t, ns.URL(), testOptions())
	b := startNode(t, ns.URL(), testOptions())
	ann := dial(t, a.addr, "ann")
	dial(t, b.addr, "bob")
	ann.until("JOIN lobby bob")
	ns.Stop()
	ann.until(localLine)
	zedA := connect(t, a.addr)
	zedA.send("zed")
	zedA.until(localLine)
	zedB := connect(t, b.addr)
	zedB.send("zed")
	zedB.until(localLine)

	ns.Restart()
	zedA.until(sharedLine)
	zedB.until(sharedLine)
	state := func(n *node) (written, lost bool) {
		n.hub.mu.Lock()
		defer n.hub.mu.Unlock()
		st := n.hub.own["zed"]
		return st.rev != 0 && !n.hub.dirty["zed"], st.lost
	}
	deadline := time.Now().Add(bound)
	for {
		wa, la := state(a)
		wb, lb := state(b)
		if (wa || la) && (wb || lb) {
			if la == lb {
				t.Fatalf("zed lost on a: %v, on b: %v; want one of them", la, lb)
			}
			loser := zedA
			if lb {
				loser = zedB
			}
			loser.until("INFO " + lostText("zed"))
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the directory never settled")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
