package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/metrics"
)

func runNoStdin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, args, nil, stdout, stderr)
}

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	clitest.CheckCommon(t, "chat", runNoStdin)
}

// SOCKKIT_CHAT_SERVE_QUIT_WORDS is -quit-words; -metrics serves the
// counters of the session; -log json logs its start and end (with its
// duration) and the summary as JSON.
func TestServeMetricsLogsEnvironment(t *testing.T) {
	t.Setenv("SOCKKIT_CHAT_SERVE_QUIT_WORDS", "adieu")
	p := clitest.Start(t, runNoStdin, "serve", "-addr", "127.0.0.1:0", "-metrics", "127.0.0.1:0", "-v", "-log", "json")
	addr := clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+)`)
	url := clitest.WaitFor(t, &p.Stdout, `chat: metrics on (http://\S+/metrics)`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := chat.Dial(ctx, addr, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Send(ctx, "adieu"); err != nil {
		t.Fatal(err)
	}
	for range conn.Events() {
	}
	if se, ok := conn.Err().(*chat.ServerError); !ok || se.Code != chat.ByeQuit {
		t.Fatalf("the session ended with %v, want the quit word's BYE", conn.Err())
	}
	clitest.WaitFor(t, &p.Stderr, `"msg":"chat: session ended"`)
	fams, err := metrics.Scrape(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := fams.Value("sockkit_connections_accepted_total", "server", "chat"); v != 1 {
		t.Errorf("sockkit_connections_accepted_total = %v, want 1", v)
	}
	if v, _ := fams.Value("sockkit_requests_total", "server", "chat"); v < 1 {
		t.Errorf("sockkit_requests_total = %v, want at least 1", v)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	recs := clitest.Records(t, p.Stderr.String())
	if s := clitest.Find(t, recs, "chat: session started"); s["nick"] != "ann" || s["remote"] == nil || s["level"] != "INFO" {
		t.Errorf("start record %v", s)
	}
	if e := clitest.Find(t, recs, "chat: session ended"); e["nick"] != "ann" || e["reason"] != "quit" || e["duration"] == nil {
		t.Errorf("end record %v", e)
	}
	clitest.Find(t, recs, "chat: summary")
}
