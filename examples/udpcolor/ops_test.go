package main

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/udpcolor"
)

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	clitest.CheckCommon(t, "udpcolor", run)
}

// SOCKKIT_UDPCOLOR_SERVE_LOG=json is -log json: a member's join and leave
// are JSON records with its name and address, a datagram of no protocol a
// debug record with -v; the scrape counts the join and the message.
func TestServeMetricsLogsEnvironment(t *testing.T) {
	t.Setenv("SOCKKIT_UDPCOLOR_SERVE_LOG", "json")
	p := clitest.Start(t, run, "serve", "-addr", "127.0.0.1:0", "-console=false", "-color", "never", "-metrics", "127.0.0.1:0", "-v")
	addr := clitest.WaitFor(t, &p.Stderr, `udpcolor: serving on (\S+)\n`)
	url := clitest.WaitFor(t, &p.Stderr, `udpcolor: metrics on (http://\S+/metrics)`)
	ctx := context.Background()
	alice, err := (&udpcolor.Client{}).Join(ctx, addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Send(ctx, "hi"); err != nil {
		t.Fatal(err)
	}
	clitest.WaitFor(t, &p.Stdout, `alice : hi`)
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte{0xff, 0xfe})
	c.Close()
	clitest.WaitFor(t, &p.Stderr, `"level":"DEBUG","msg":"udpcolor: dropped`)

	fams, err := metrics.Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		want float64
	}{{"sockkit_connections", 1}, {"sockkit_connections_accepted_total", 1}, {"sockkit_requests_total", 1}} {
		if v, _ := fams.Value(tt.name, "server", "udpcolor"); v != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, v, tt.want)
		}
	}
	alice.Leave(ctx)
	alice.Close()
	clitest.WaitFor(t, &p.Stderr, `udpcolor: member left`)
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	recs := clitest.Records(t, p.Stderr.String())
	if j := clitest.Find(t, recs, "udpcolor: member joined"); j["name"] != "alice" || !strings.HasPrefix(j["from"].(string), "127.0.0.1:") || j["level"] != "INFO" {
		t.Errorf("join record %v, want alice from 127.0.0.1", j)
	}
	if l := clitest.Find(t, recs, "udpcolor: member left"); l["name"] != "alice" || l["duration"] == nil {
		t.Errorf("leave record %v", l)
	}
	clitest.Find(t, recs, "udpcolor: summary")
}
