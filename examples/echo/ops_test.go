package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/metrics"
)

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	clitest.CheckCommon(t, "echo", run)
}

// SOCKKIT_ECHO_SERVE_UPPER=true is -upper.
func TestServeFlagFromEnvironment(t *testing.T) {
	t.Setenv("SOCKKIT_ECHO_SERVE_UPPER", "true")
	_, p := startServeProgram(t)
	if !strings.Contains(p.Stdout.String(), "TCP echoes in upper case") {
		t.Errorf("the variable did not set -upper:\n%s", p.Stdout.String())
	}
}

// -metrics serves the counters the traffic moves; -v -log json logs the
// debug records as JSON, and the summary at the end.
func TestServeMetricsAndLogs(t *testing.T) {
	t.Parallel()
	addr, p := startServeProgram(t, "-metrics", "127.0.0.1:0", "-v", "-log", "json")
	url := clitest.WaitFor(t, &p.Stdout, `echo: metrics on (http://\S+/metrics)`)
	ctx := context.Background()
	for _, network := range []string{"tcp", "udp"} {
		if _, _, err := sendOut("-addr", addr, "-udp="+map[string]string{"tcp": "false", "udp": "true"}[network], "hello"); err != nil {
			t.Fatalf("send over %s: %v", network, err)
		}
	}
	// A client that resets its connection: a debug record.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("x"))
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	clitest.WaitFor(t, &p.Stderr, `"level":"DEBUG"`)

	fams, err := metrics.Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sockkit_requests_total", "sockkit_connections_accepted_total", "sockkit_sent_bytes_total", "sockkit_received_bytes_total"} {
		if v, ok := fams.Value(name, "server", "echo"); !ok || v < 1 {
			t.Errorf("%s = %v (%v), want at least 1", name, v, ok)
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	recs := clitest.Records(t, p.Stderr.String())
	sum := clitest.Find(t, recs, "echo: summary")
	if sum["conns_total"].(float64) < 2 || sum["requests"].(float64) < 1 {
		t.Errorf("summary %v", sum)
	}
	if _, err := metrics.Scrape(ctx, url); err == nil {
		t.Error("metrics still served after the program stopped")
	}
}
