package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/metrics"
)

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	clitest.CheckCommon(t, "httpfetch", run)
}

// SOCKKIT_HTTPFETCH_SERVE_DIR is -dir; -metrics serves the counters the
// requests move; -log json logs each request, and the summary, as JSON.
func TestServeMetricsLogsEnvironment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SOCKKIT_HTTPFETCH_SERVE_DIR", dir)
	p := clitest.Start(t, run, "serve", "-addr", "127.0.0.1:0", "-metrics", "127.0.0.1:0", "-log", "json", "-v")
	base := clitest.WaitFor(t, &p.Stdout, `serving \S+ on (http://[0-9.:]+/)`)
	url := clitest.WaitFor(t, &p.Stdout, `httpfetch: metrics on (http://\S+/metrics)`)
	for range 2 {
		resp, err := http.Get(base + "a.txt")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "0123456789" {
			t.Fatalf("GET a.txt: %s %q: the variable did not set -dir", resp.Status, body)
		}
	}
	fams, err := metrics.Scrape(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fams.Value("sockkit_requests_total", "server", "httpfetch"); v != 2 {
		t.Errorf("sockkit_requests_total = %v, want 2", v)
	}
	if v, _ := fams.Value("sockkit_sent_bytes_total", "server", "httpfetch"); v != 20 {
		t.Errorf("sockkit_sent_bytes_total = %v, want 20", v)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	recs := clitest.Records(t, p.Stderr.String())
	req := clitest.Find(t, recs, "httpfetch: request")
	if req["path"] != "/a.txt" || req["status"] != 200.0 || req["bytes"] != 10.0 || req["level"] != "INFO" {
		t.Errorf("request record %v", req)
	}
	if sum := clitest.Find(t, recs, "httpfetch: summary"); sum["requests"] != 2.0 {
		t.Errorf("summary %v", sum)
	}
}
