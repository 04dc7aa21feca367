package main

import (
	"context"
	"net"
	"testing"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/timesync"
)

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	clitest.CheckCommon(t, "timesync", run)
}

// SOCKKIT_TIMESYNC_SERVE_METRICS is -metrics; the scrape sees the
// answers and the drops; -v -log json logs the drop as a JSON debug
// record, and the summary.
func TestServeMetricsLogsEnvironment(t *testing.T) {
	t.Setenv("SOCKKIT_TIMESYNC_SERVE_METRICS", "127.0.0.1:0")
	p := clitest.Start(t, run, "serve", "-addr", "127.0.0.1:0", "-v", "-log", "json")
	addr := clitest.WaitFor(t, &p.Stdout, `serving NTP and the format service on (\S+)`)
	url := clitest.WaitFor(t, &p.Stdout, `timesync: metrics on (http://\S+/metrics)`)
	ctx := context.Background()
	if _, err := (&timesync.Client{Samples: 1}).Query(ctx, addr); err != nil {
		t.Fatal(err)
	}
	// An NTP client request without its transmit timestamp: malformed.
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	bad := make([]byte, 48)
	bad[0] = 0x23 // version 4, client mode
	c.Write(bad)
	c.Close()
	clitest.WaitFor(t, &p.Stderr, `"level":"DEBUG","msg":"timesync: datagram dropped`)

	fams, err := metrics.Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fams.Value("sockkit_requests_total", "server", "timesync"); v != 1 {
		t.Errorf("sockkit_requests_total = %v, want 1", v)
	}
	if v, _ := fams.Value("sockkit_dropped_total", "server", "timesync", "reason", "malformed"); v != 1 {
		t.Errorf("sockkit_dropped_total{reason=malformed} = %v, want 1", v)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := clitest.Find(t, clitest.Records(t, p.Stderr.String()), "timesync: summary")
	if sum["requests"] != 1.0 || sum["dropped"].(map[string]any)["malformed"] != 1.0 {
		t.Errorf("summary %v", sum)
	}
}
