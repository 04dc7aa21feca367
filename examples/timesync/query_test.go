package main

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/timesync"
)

// lineShape is the line of query, as ntpdig prints it:
// "2026-12-02 13:40:01.123456 (+0000) +0.000123 +/- 0.000045 HOST [IP] s1 no-leap".
var lineShape = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \([+-]\d{4}\) [+-]\d+\.\d{6} \+/- \d+\.\d{6} \S+( \S+)? s\d+ (no-leap|add-leap|del-leap|unsync)\n$`)

// TestQueryOutputs: the line, the line with its detail (-v) and the JSON
// object (-json), with the server given each way.
func TestQueryOutputs(t *testing.T) {
	t.Parallel()
	addr := startServe(t, "-rate", "-1")
	_, port, _ := net.SplitHostPort(addr)

	// Positional, before or after the flags.
	for _, args := range [][]string{
		{"query", addr, "-samples", "2"},
		{"query", "-samples", "2", addr},
	} {
		out, _, err := runOut(t, args...)
		if err != nil || !lineShape.MatchString(out) || !strings.HasSuffix(out, " "+addr+" s1 no-leap\n") {
			t.Errorf("%q printed %q, %v", args, out, err)
		}
	}
	// A name: the address it resolved to follows it, as with ntpdig.
	out, _, err := runOut(t, "query", "-samples", "1", "localhost:"+port)
	if err != nil || !lineShape.MatchString(out) || !regexp.MustCompile(` localhost:\d+ \S+:\d+ s1 no-leap\n$`).MatchString(out) {
		t.Errorf("query localhost printed %q, %v", out, err)
	}

	out, _, err = runOut(t, "query", "-v", "-samples", "3", addr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfterN(out, "\n", 2)
	if !lineShape.MatchString(lines[0]) {
		t.Errorf("-v: first line %q", lines[0])
	}
	detail := regexp.MustCompile(`^server (\S+)\naddress (\S+)\noffset -?[0-9.]+[nµm]?s\ndelay [0-9.]+[nµm]?s\nerror [0-9.]+[nµm]?s\n` +
		`stratum 1\nrefid LOCL\nleap none\nprecision 2\^-20 s \(953ns\)\nroot delay 0s\nroot dispersion 0s\nreference time \S+\n` +
		`t1 \S+\nt2 \S+\nt3 \S+\nt4 \S+\nsamples 3\n$`)
	if m := detail.FindStringSubmatch(lines[1]); m == nil || m[1] != addr || m[2] != addr {
		t.Errorf("-v: detail %q", lines[1])
	}

	out, _, err = runOut(t, "query", "-json", "-samples", "3", addr)
	if err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("-json printed %q, %v", out, err)
	}
	var got jsonReport
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("-json: %v in %q", err, out)
	}
	want := jsonReport{Server: addr, Address: addr, Stratum: 1, RefID: "LOCL", Leap: "no-leap", Precision: -20, Samples: 3}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(jsonReport{}, "Time", "Offset", "Delay", "Error", "ReferenceTime")); diff != "" {
		t.Errorf("-json (-want +got):\n%s", diff)
	}
	if got.Delay < 0 || got.Error < got.Delay/2 {
		t.Errorf("-json: delay %v, error %v: the error is at least half the delay", got.Delay, got.Error)
	}
	for _, ts := range []string{got.Time, got.ReferenceTime} {
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("-json: time %q: %v", ts, err)
		}
	}
}

// TestQueryTimeout: -timeout bounds the whole query. A server that never
// answers fails it with a message naming the flag; one whose samples
// cannot all fit in the time gives the ones that did.
func TestQueryTimeout(t *testing.T) {
	t.Parallel()
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_, _, err = runOut(t, "query", "-timeout", "200ms", silent.LocalAddr().String())
	if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), "within 200ms (-timeout)") {
		t.Errorf("query of a silent server: %v", err)
	}

	// The second request would wait an hour: the query ends with the
	// first sample when the time is up.
	addr := startServe(t)
	out, _, err := runOut(t, "query", "-v", "-samples", "2", "-interval", "1h", "-timeout", "2s", addr)
	if err != nil || !strings.HasSuffix(out, "\nsamples 1\n") {
		t.Errorf("query of 2 samples an hour apart in 2s: %v\n%s", err, out)
	}
}

// TestQueryNothingListens: a port nobody serves fails at once (ICMP port
// unreachable), saying so, rather than waiting out -timeout.
func TestQueryNothingListens(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	_, _, err = runOut(t, "query", "-timeout", "1m", addr)
	if err == nil || !strings.Contains(err.Error(), "nothing answers NTP on "+addr+" (connection refused)") {
		t.Errorf("query of a closed port: %v", err)
	}
}

// TestReportLine checks the line against a response made up here, in a
// fixed zone: the digits the precision allows, truncated, the signs, and
// the error bound.
func TestReportLine(t *testing.T) {
	t.Parallel()
	t1 := time.Date(2026, 12, 2, 13, 40, 1, 0, time.UTC)
	base := timesync.Response{
		Offset: 123 * time.Microsecond, Delay: 40 * time.Microsecond, Stratum: 2, Precision: -20,
		T1: t1, T3: t1.Add(123456789 * time.Nanosecond), T4: t1.Add(100 * time.Microsecond),
	}
	zone := time.FixedZone("X", -(3*3600 + 30*60))
	for _, tc := range []struct {
		name string
		edit func(r *timesync.Response)
		peer net.Addr
		want string
	}{
		{"microseconds", func(*timesync.Response) {}, nil,
			"2026-12-02 10:10:01.123456 (-0330) +0.000123 +/- 0.000021 ntp.example s2 no-leap"},
		{"milliseconds", func(r *timesync.Response) { r.Precision = -10; r.Offset = -r.Offset }, nil,
			"2026-12-02 10:10:01.123 (-0330) -0.000123 +/- 0.000997 ntp.example s2 no-leap"},
		{"seconds", func(r *timesync.Response) { r.Precision = 0; r.Leap = timesync.LeapAddSecond }, nil,
			"2026-12-02 10:10:01 (-0330) +0.000123 +/- 1.000020 ntp.example s2 add-leap"},
		{"resolved", func(*timesync.Response) {}, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 123},
			"2026-12-02 10:10:01.123456 (-0330) +0.000123 +/- 0.000021 ntp.example 192.0.2.1 s2 no-leap"},
	} {
		r := base
		tc.edit(&r)
		if got := newReport("ntp.example", tc.peer, &r).line(zone); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// shape reduces a line of ntpdig or query to its form: each run of
// digits, with its sign if it has one, becomes 9 (ntpdig drops the
// leading zeros of the fraction of a second, and the two offsets may
// have different signs).
func shape(line string) string {
	return regexp.MustCompile(`[+-]?\d+`).ReplaceAllString(strings.TrimSpace(line), "9")
}

// TestLineLikeNtpdig asks one server with ntpdig (Debian package
// ntpsec-ntpdig) and with query: the two lines have the same shape, the
// same zone, host, stratum and leap, and offsets that agree within the
// error bounds they print. ntpdig has no port option, so the server runs
// on port 123 of a loopback address of its own, which needs root.
func TestLineLikeNtpdig(t *testing.T) {
	t.Parallel()
	ntpdig, err := exec.LookPath("ntpdig")
	if err != nil {
		t.Skip("ntpdig is not installed (Debian package ntpsec-ntpdig)")
	}
	if os.Geteuid() != 0 {
		t.Skip("ntpdig needs the server on port 123, which needs root")
	}
	const host = "127.0.12.3" // not timesync's interop test's 127.0.0.2, which may run at the same time
	pc, err := net.ListenPacket("udp", host+":123")
	if err != nil {
		t.Skipf("cannot bind %s:123: %v", host, err)
	}
	srv := &timesync.Server{}
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(context.Background(), pc) }()
	defer func() { srv.Close(); <-done }()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	theirs, err := exec.CommandContext(ctx, ntpdig, "-t", "5", host).Output()
	if err != nil {
		t.Fatalf("ntpdig: %v\n%s", err, theirs)
	}
	ours, _, err := runOut(t, "query", "-samples", "1", host) // NTP's port 123, as ntpdig
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	t.Logf("ntpdig: %s", strings.TrimSpace(string(theirs)))
	t.Logf("query:  %s", strings.TrimSpace(ours))
	if shape(ours) != shape(string(theirs)) {
		t.Errorf("shapes differ:\nntpdig %s\nquery  %s", shape(string(theirs)), shape(ours))
	}
	fields := func(line string) []string { return strings.Fields(line) }
	a, b := fields(string(theirs)), fields(ours)
	if len(a) != len(b) {
		t.Fatalf("%d fields from ntpdig, %d from query", len(a), len(b))
	}
	for _, i := range []int{2, 4, 6, 7, 8} { // zone, "+/-", host, stratum, leap
		if a[i] != b[i] {
			t.Errorf("field %d: ntpdig %q, query %q", i, a[i], b[i])
		}
	}
}

// TestReportAddress: the address queried follows the host only when it
// says something the host does not, with the port only when the host had
// one.
func TestReportAddress(t *testing.T) {
	t.Parallel()
	r := &timesync.Response{}
	v4 := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 123}
	v6 := &net.UDPAddr{IP: net.IPv6loopback, Port: 12300}
	for _, tc := range []struct {
		server string
		peer   net.Addr
		want   string
	}{
		{"127.0.0.1", v4, ""},
		{"127.0.0.1:123", v4, ""},
		{"localhost", v4, "127.0.0.1"},
		{"localhost:123", v4, "127.0.0.1:123"},
		{"[::1]:12300", v6, ""},
		{"[::1]", &net.UDPAddr{IP: net.IPv6loopback, Port: 123}, ""},
		{"localhost:12300", v6, "[::1]:12300"},
		{"localhost", nil, ""},
	} {
		if got := newReport(tc.server, tc.peer, r).ip; got != tc.want {
			t.Errorf("newReport(%q, %v): address %q, want %q", tc.server, tc.peer, got, tc.want)
		}
	}
}

// TestQueryHostOverEnvAddr: a HOST argument overrides -addr from the
// environment, as the command line overrides the environment everywhere;
// -addr given on the command line beside HOST is still a mistake.
func TestQueryHostOverEnvAddr(t *testing.T) {
	addr := startServe(t)
	t.Setenv("SOCKKIT_TIMESYNC_QUERY_ADDR", "127.0.0.1:1")
	if out, _, err := runOut(t, "query", "-samples", "1", addr); err != nil || !strings.Contains(out, addr[:strings.LastIndex(addr, ":")]) {
		t.Errorf("query HOST with -addr in the environment: %v\n%s", err, out)
	}
	if _, _, err := runOut(t, "query", "-addr", "127.0.0.1:2", addr); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("query -addr X HOST: %v, want a usage error", err)
	}
}
