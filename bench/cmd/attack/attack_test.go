package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/udpcolor"
)

// TestMain lets the test binary be the server process too: startChild
// runs it as "TESTBINARY serve ...".
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serveCmd(context.Background(), os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestVerdict(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Result
		want string
	}{
		{"all legit served", Result{Legit: 3, LegitOK: 3, LegitTarget: 1}, "PASS"},
		{"one legit attempt failed", Result{Legit: 3, LegitOK: 2, LegitTarget: 1}, "FAIL"},
		{"80 % of 20", Result{Legit: 20, LegitOK: 16, LegitTarget: 0.8}, "PASS"},
		{"75 % of 20", Result{Legit: 20, LegitOK: 15, LegitTarget: 0.8}, "FAIL"},
		{"no legit attempt though one was wanted", Result{LegitTarget: 1}, "FAIL"},
		{"no legit client wanted", Result{}, "PASS"},
		{"a listed failure", Result{Fails: []string{"x"}}, "FAIL"},
		{"reflection at exactly 3x", Result{Reflect: &Wire{In: 100, Out: 300}}, "PASS"},
		{"reflection past 3x", Result{Reflect: &Wire{In: 100, Out: 301}}, "FAIL"},
		{"skipped", Result{Skip: "needs root", Fails: []string{"x"}}, "SKIP"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Verdict(); got != tt.want {
				t.Errorf("Verdict() = %s, want %s (problems: %q)", got, tt.want, tt.r.problems())
			}
		})
	}
}

func TestLine(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Result
		want []string // fields in order
	}{
		{"pass", Result{Name: "echo-drip", Legit: 100, LegitOK: 100, LegitTarget: 1, RSS: 12 << 20, PeakRSS: 13 << 20, Notes: []string{"500 held"}},
			[]string{"echo-drip", "100/100", "100%", "(>=100%)", "-", "12.0MiB", "(13.0MiB)", "PASS", "500", "held"}},
		{"reflection", Result{Name: "reflect-echo", Reflect: &Wire{In: 1000, Out: 2500}, Settings: []string{"Rate=-1"}},
			[]string{"reflect-echo", "-", "2.50", "(<=3)", "-", "PASS", "non-default", "settings:", "Rate=-1"}},
		{"fail", Result{Name: "chat-register", Legit: 10, LegitOK: 9, LegitTarget: 1, Fails: []string{"held 52"}},
			[]string{"chat-register", "9/10", "90%", "(>=100%)", "-", "-", "FAIL", "MISSED:", "held", "52;", "MISSED:", "legitimate", "client:", "9", "of", "10,", "below", "100%"}},
		{"skip", Result{Name: "ratelimit-fill", Skip: "needs root"},
			[]string{"ratelimit-fill", "-", "-", "-", "SKIP", "needs", "root"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Fields(tt.r.Line())
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("Line() fields\n got %q\nwant %q", got, tt.want)
			}
		})
	}
	// The header names as many columns as a line has before its details.
	if n := len(strings.Fields(strings.Split(Header, "details")[0])); n < 6 {
		t.Errorf("Header has %d column words before details", n)
	}
}

func TestFooter(t *testing.T) {
	rs := []*Result{{Name: "a"}, {Name: "b", Fails: []string{"x"}}, {Name: "c", Skip: "needs root"}, {Name: "d"}}
	line, failed := Footer(rs)
	if line != "attack: 2 passed, 1 failed (1 skipped)" || failed != 1 {
		t.Errorf("Footer = %q, %d", line, failed)
	}
	line, failed = Footer(rs[:1])
	if line != "attack: 1 passed, 0 failed" || failed != 0 {
		t.Errorf("Footer = %q, %d", line, failed)
	}
}

func TestParseMemory(t *testing.T) {
	const status = "Name:\tattack\nVmPeak:\t 1252508 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t7\n"
	rss, peak, err := parseMemory(strings.NewReader(status))
	if err != nil || rss != 10<<20 || peak != 20<<20 {
		t.Errorf("parseMemory = %d, %d, %v; want %d, %d", rss, peak, err, 10<<20, 20<<20)
	}
	for _, bad := range []string{"", "Name:\tx\n", "VmRSS:\t10 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n", "VmRSS:\t1 kB\n"} {
		t.Run(fmt.Sprintf("%q", bad), func(t *testing.T) {
			if _, _, err := parseMemory(strings.NewReader(bad)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestParseRcvbufErrors(t *testing.T) {
	const snmp = "Ip: Forwarding DefaultTTL\nIp: 1 64\n" +
		"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdp: 5069989 103020 30208 5056730 30207 0\n" +
		"UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\nUdpLite: 0 0 0 0 7 0\n"
	if n, err := parseRcvbufErrors(strings.NewReader(snmp)); err != nil || n != 30207 {
		t.Errorf("parseRcvbufErrors = %d, %v; want 30207", n, err)
	}
	if _, err := parseRcvbufErrors(strings.NewReader("Ip: Forwarding\nIp: 1\n")); err == nil {
		t.Error("no error without a Udp line")
	}
}

func TestParseChildLine(t *testing.T) {
	for _, tt := range []struct{ line, verb, rest string }{
		{"listening udp 127.0.0.1:4000", "listening", "udp 127.0.0.1:4000"},
		{"ready", "ready", ""},
		{"ready\r", "ready", ""},
		{`stats {"Conns":1}`, "stats", `{"Conns":1}`},
	} {
		t.Run(tt.line, func(t *testing.T) {
			if verb, rest := parseChildLine(tt.line); verb != tt.verb || rest != tt.rest {
				t.Errorf("parseChildLine = %q, %q; want %q, %q", verb, rest, tt.verb, tt.rest)
			}
		})
	}
}

// The UDP checksum is right when the one's complement sum of the
// pseudo-header and the datagram, checksum included, is all ones.
func TestAppendUDP4(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.3:40000")
	to := netip.MustParseAddrPort("127.0.0.1:123")
	for _, size := range []int{0, 1, 2, 47, 48, 1200} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			payload := make([]byte, size)
			for i := range payload {
				payload[i] = byte(i*7 + 3)
			}
			p := appendUDP4([]byte("prefix"), from, to, payload)[len("prefix"):]
			if len(p) != 28+size || p[0] != 0x45 || p[9] != 17 || int(binary.BigEndian.Uint16(p[2:])) != len(p) {
				t.Fatalf("IP header % x", p[:20])
			}
			if netip.AddrFrom4([4]byte(p[12:16])) != from.Addr() || netip.AddrFrom4([4]byte(p[16:20])) != to.Addr() {
				t.Errorf("addresses % x", p[12:20])
			}
			u := p[20:]
			if binary.BigEndian.Uint16(u) != from.Port() || binary.BigEndian.Uint16(u[2:]) != to.Port() || int(binary.BigEndian.Uint16(u[4:])) != 8+size {
				t.Errorf("UDP header % x", u[:8])
			}
			if string(u[8:]) != string(payload) {
				t.Error("payload changed")
			}
			sum := uint32(17 + len(u))
			src, dst := from.Addr().As4(), to.Addr().As4()
			words := append(append(src[:], dst[:]...), u...)
			if len(words)%2 == 1 {
				words = append(words, 0)
			}
			for i := 0; i < len(words); i += 2 {
				sum += uint32(words[i])<<8 | uint32(words[i+1])
			}
			for sum > 0xffff {
				sum = sum&0xffff + sum>>16
			}
			if sum != 0xffff {
				t.Errorf("checksum %04x does not verify: sum %04x", binary.BigEndian.Uint16(u[6:]), sum)
			}
		})
	}
}

func TestSpoofedSources(t *testing.T) {
	srcs := spoofedSources(5000, rand.New(rand.NewPCG(1, 2)))
	seen := map[netip.Addr]bool{}
	for _, s := range srcs {
		a := s.Addr().As4()
		if a[0] != 127 || a[1] == 0 || s.Addr() == netip.MustParseAddr("127.255.255.255") || s.Port() < 1024 || seen[s.Addr()] {
			t.Fatalf("source %v: not a fresh one of 127.1-254.x.y with a port of 1024 or more", s)
		}
		seen[s.Addr()] = true
	}
	if len(srcs) != 5000 {
		t.Errorf("%d sources, want 5000", len(srcs))
	}
}

func TestChoose(t *testing.T) {
	all, err := choose("")
	if err != nil || len(all) != len(attacks) {
		t.Fatalf("choose(\"\") = %d attacks, %v", len(all), err)
	}
	two, err := choose("echo-drip, udpcolor-fill")
	if err != nil || len(two) != 2 || two[0].name != "echo-drip" || two[1].name != "udpcolor-fill" {
		t.Errorf("choose = %v, %v", two, err)
	}
	if _, err := choose("echo-drip,nope"); err == nil {
		t.Error("no error for an unknown attack")
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"-only", "nope"}, {"-bogus"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
				t.Error("no error")
			}
		})
	}
}

// The server process answers its line protocol: a udpcolor server serves,
// counts a member, and stops at the end of its input.
func TestServerProcess(t *testing.T) {
	c, err := startChild(context.Background(), os.Args[0], "-rate", "-1", "udpcolor")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.settings) != 1 || !strings.HasPrefix(c.settings[0], "Rate=-1 ") {
		t.Errorf("settings %q, want Rate=-1", c.settings)
	}
	server := c.addr["udp"]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := (&udpcolor.Client{}).Join(ctx, server, "tester")
	if err != nil {
		t.Fatal(err)
	}
	var st udpcolor.Stats
	if err := c.stats(&st); err != nil {
		t.Fatal(err)
	}
	if st.Conns != 1 || st.ConnsTotal != 1 {
		t.Errorf("stats: %d members, %d joined; want 1, 1", st.Conns, st.ConnsTotal)
	}
	if rss, peak := c.memory(); rss <= 0 || peak < rss {
		t.Logf("memory: %d, %d (no /proc here?)", rss, peak)
	}
	if err := c.stop(); err != nil {
		t.Error(err)
	}
	// A graceful shutdown says bye to the member.
	select {
	case <-m.Done():
		if m.Err() != udpcolor.ErrShutdown {
			t.Errorf("member's session ended with %v, want %v", m.Err(), udpcolor.ErrShutdown)
		}
	case <-ctx.Done():
		t.Error("the member heard no bye")
	}
	m.Close()
}

func TestServerProcessUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"nope"}, {"-echo", "nope", "echo"}, {"-bogus", "echo"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if _, err := startChild(context.Background(), os.Args[0], args...); err == nil {
				t.Error("no error")
			}
		})
	}
}

// The edge-range attack end to end: it floods nothing.
func TestRangeAttack(t *testing.T) {
	r := &Result{Name: "httpfetch-range"}
	e := &env{exe: os.Args[0], log: io.Discard}
	if err := rangeHTTP(context.Background(), e, r); err != nil {
		t.Fatal(err)
	}
	if r.Verdict() != "PASS" {
		t.Errorf("%s", r.Line())
	}
}
