package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/cli"
)

// counters are a server's counters that the test moves.
type counters struct {
	mu sync.Mutex
	c  sockkit.Counters
}

func (c *counters) load() sockkit.Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c
}

func (c *counters) add(f func(*sockkit.Counters)) {
	c.mu.Lock()
	f(&c.c)
	c.mu.Unlock()
}

func start(t *testing.T, args ...string) (url string, stop func(), log *bytes.Buffer, c *counters) {
	t.Helper()
	fs := cli.FlagSet("prog", "serve", "usage:\n  prog serve\n", io.Discard)
	f := Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	log = new(bytes.Buffer)
	c = &counters{}
	stop, err := f.Start("prog", &out, f.Logger(log), c.load)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`prog: metrics on (http://\S+/metrics)`).FindStringSubmatch(out.String())
	if m == nil {
		stop()
		t.Fatalf("no address in %q", out.String())
	}
	return m[1], stop, log, c
}

func TestScrapeSeesCountersMove(t *testing.T) {
	url, stop, log, moving := start(t, "-metrics", "127.0.0.1:0", "-log", "json")
	ctx := context.Background()
	before, err := Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"sockkit_connections", "sockkit_connections_accepted_total", "sockkit_requests_total",
		"sockkit_received_bytes_total", "sockkit_sent_bytes_total", "sockkit_dropped_total", "go_goroutines", "process_open_fds"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if v, ok := before.Value("sockkit_requests_total", "server", "prog"); !ok || v != 0 {
		t.Errorf("requests before: %v %v", v, ok)
	}
	moving.add(func(c *sockkit.Counters) {
		c.Conns, c.ConnsTotal, c.Requests, c.BytesIn, c.BytesOut = 2, 3, 5, 7, 11
		c.Dropped.Rate, c.Dropped.Slow = 13, 17
	})
	after, err := Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"sockkit_connections", nil, 2},
		{"sockkit_connections_accepted_total", nil, 3},
		{"sockkit_requests_total", nil, 5},
		{"sockkit_received_bytes_total", nil, 7},
		{"sockkit_sent_bytes_total", nil, 11},
		{"sockkit_dropped_total", []string{"reason", "rate"}, 13},
		{"sockkit_dropped_total", []string{"reason", "slow"}, 17},
		{"sockkit_dropped_total", []string{"reason", "full"}, 0},
	} {
		if got, ok := after.Value(tt.name, append([]string{"server", "prog"}, tt.labels...)...); !ok || got != tt.want {
			t.Errorf("%s%q = %v (%v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	if n := len(after["sockkit_dropped_total"].GetMetric()); n != 9 {
		t.Errorf("%d drop reasons, want 9", n)
	}
	stop()
	var rec struct {
		Msg      string `json:"msg"`
		Requests int64  `json:"requests"`
	}
	if err := json.Unmarshal(log.Bytes(), &rec); err != nil || rec.Msg != "prog: summary" || rec.Requests != 5 {
		t.Errorf("summary %q: %v %+v", log.String(), err, rec)
	}
	if _, err := Scrape(ctx, url); err == nil {
		t.Error("still serving after stop")
	}
}

func TestPprof(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"-metrics", "127.0.0.1:0"}, http.StatusNotFound},
		{[]string{"-metrics", "127.0.0.1:0", "-pprof"}, http.StatusOK},
	} {
		url, stop, _, _ := start(t, tt.args...)
		resp, err := http.Get(strings.TrimSuffix(url, "/metrics") + "/debug/pprof/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		stop()
		if resp.StatusCode != tt.want {
			t.Errorf("%q: /debug/pprof/ answered %s, want %d", tt.args, resp.Status, tt.want)
		}
	}
}

func TestStartMistakes(t *testing.T) {
	fs := cli.FlagSet("prog", "serve", "usage:\n  prog serve\n", io.Discard)
	f := Register(fs)
	cli.Parse(fs, []string{"-pprof"}, 0, 0)
	if _, err := f.Start("prog", io.Discard, nil, func() sockkit.Counters { return sockkit.Counters{} }); !errors.Is(err, cli.ErrUsage) {
		t.Errorf("-pprof alone: %v, want a usage error", err)
	}
	fs = cli.FlagSet("prog", "serve", "usage:\n  prog serve\n", io.Discard)
	f = Register(fs)
	cli.Parse(fs, []string{"-metrics", "127.0.0.1:notaport"}, 0, 0)
	if _, err := f.Start("prog", io.Discard, nil, nil); err == nil || errors.Is(err, cli.ErrUsage) {
		t.Errorf("a bad address: %v, want a failure", err)
	}
	// Without -metrics: nothing served, the summary still logged.
	fs = cli.FlagSet("prog", "serve", "usage:\n  prog serve\n", io.Discard)
	f = Register(fs)
	cli.Parse(fs, nil, 0, 0)
	var out, log bytes.Buffer
	stop, err := f.Start("prog", &out, f.Logger(&log), func() sockkit.Counters { return sockkit.Counters{Requests: 1} })
	if err != nil {
		t.Fatal(err)
	}
	stop()
	if out.Len() != 0 || !strings.Contains(log.String(), "prog: summary") {
		t.Errorf("stdout %q, log %q", out.String(), log.String())
	}
}
