package main

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLoad runs a tiny load against an in-process server: it checks the
// tool works, not how fast anything is.
func TestLoad(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-load", "5:20", "-stall", "0.2", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"/sent ", "/delivered ", "/expected ", "/p50 ", "/p99 ", "/kicked ", "/mem_go "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// TestLoadTwoServers runs the two-server point in-process: two servers
// that share the lobby through an embedded NATS server.
func TestLoadTwoServers(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-servers", "2", "-load", "6:20", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"chat/n6/r20/servers2/delivered ", "chat/n6/r20/servers2/p99 "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-load", "x"}, {"-load", "10:0"}, {"-stall", "1"}, {"-servers", "3"}, {"-nope"}, {"-mix", "0:0:0"}, {"-hold", "-1"}, {"-load", "none"}} {
		if err := run(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}

// TestLoadMixed runs a tiny load with a third of the clients on each of
// TCP, the WebSocket and IRC, in-process: every dialect must have
// received messages and timed them.
func TestLoadMixed(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-mix", "1:1:1", "-load", "6:20", "-probes", "6", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	figs := figures(out.String())
	for _, d := range []string{"tcp", "ws", "irc"} {
		name := "chat/n6/r20/mix1:1:1/" + d
		if figs[name+"/delivered"] <= 0 {
			t.Errorf("%s clients received nothing:\n%s", d, out.String())
		}
		if figs[name+"/max"] <= 0 {
			t.Errorf("%s probes timed nothing:\n%s", d, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// TestHold holds a few idle clients beside a tiny load, in-process: the
// server must count them all, parked where parking exists.
func TestHold(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-hold", "30", "-per-source", "10", "-load", "4:10", "-warm", "100ms", "-dur", "200ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	figs := figures(out.String())
	if got := figs["chat/hold/n30/conns"]; got != 30 {
		t.Errorf("conns with 30 held = %v, want 30", got)
	}
	if got := figs["chat/hold/n30/sources"]; got != 3 {
		t.Errorf("sources = %v, want 3", got)
	}
	if got, ok := figs["chat/n4/r10/hold30/hold_lost"]; !ok || got != 0 {
		t.Errorf("hold_lost = %v (reported: %v), want 0", got, ok)
	}
	if figs["chat/n4/r10/hold30/delivered"] <= 0 {
		t.Errorf("nothing delivered beside the held clients")
	}
	t.Logf("\n%s", out.String())
}

// TestHoldTooMany asks for more clients than the limit of open files
// allows: it must fail at once, saying so.
func TestHoldTooMany(t *testing.T) {
	_, hard := raiseNoFile()
	if hard <= 0 || hard > 1<<30 {
		t.Skip("no limit of open files here")
	}
	err := run(context.Background(), []string{"-hold", strconv.Itoa(hard), "-load", "none"}, nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "hard limit is "+strconv.Itoa(hard)) {
		t.Errorf("run -hold %d = %v, want the hard limit error", hard, err)
	}
}

func TestParseMix(t *testing.T) {
	m, err := parseMix("1:1:1")
	if err != nil {
		t.Fatal(err)
	}
	var got []dialect
	for i := range 6 {
		got = append(got, m.of(i))
	}
	if want := []dialect{plain, webSocket, irc, plain, webSocket, irc}; !slices.Equal(got, want) {
		t.Errorf("1:1:1 gives %v, want %v", got, want)
	}
	if m, _ := parseMix("2:0:1"); m.of(0) != plain || m.of(1) != plain || m.of(2) != irc || m.plainOnly() {
		t.Errorf("2:0:1 gives %v %v %v", m.of(0), m.of(1), m.of(2))
	}
	for _, bad := range []string{"", "1", "1:1", "0:0:0", "1:-1:1", "a:b:c", "1:1:1:1"} {
		if _, err := parseMix(bad); err == nil {
			t.Errorf("parseMix(%q) accepted", bad)
		}
	}
}

// TestMessage reads the latency stamp out of a lobby message in each
// dialect, and nothing out of other lines.
func TestMessage(t *testing.T) {
	for _, tc := range []struct {
		d    dialect
		line string
		want string // "" for no message
	}{
		{plain, "MSG lobby c1 t123...", "t123..."},
		{webSocket, "MSG lobby c1 t123...", "t123..."},
		{irc, ":c1!c1@sockkit PRIVMSG #lobby :t123...", "t123..."},
		{plain, "MSG other c1 t123", ""},
		{plain, "JOIN lobby c1", ""},
		{irc, ":sockkit 353 c1 = #lobby :c1 c2", ""},
		{irc, "PRIVMSG #lobby :t1", ""},
		{irc, ":c1!c1@sockkit PRIVMSG #other :t1", ""},
	} {
		cl := &client{dialect: tc.d}
		text, ok := cl.message([]byte(tc.line))
		if ok != (tc.want != "") || string(text) != tc.want {
			t.Errorf("%v %q: got %q, %v; want %q", tc.d, tc.line, text, ok, tc.want)
		}
	}
}

// figures reads "NAME VALUE UNIT" lines.
func figures(s string) map[string]float64 {
	m := make(map[string]float64)
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			if v, err := strconv.ParseFloat(f[1], 64); err == nil {
				m[f[0]] = v
			}
		}
	}
	return m
}
