package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
)

// startServe runs "timesync serve" in-process and returns its address.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	p := clitest.Start(t, run, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	return clitest.WaitFor(t, &p.Stdout, `serving NTP and the format service on (\S+)`)
}

func runOut(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestServeQueryFormat(t *testing.T) {
	t.Parallel()
	addr := startServe(t, "-rate", "-1")

	out, _, err := runOut(t, "query", "-addr", addr, "-samples", "3")
	if err != nil {
		t.Fatal(err)
	}
	if !lineShape.MatchString(out) || !strings.Contains(out, " "+addr+" s1 no-leap\n") {
		t.Errorf("query printed %q", out)
	}

	out, _, err = runOut(t, "format", "-addr", addr, "%H:%M:%S")
	if err != nil || !regexp.MustCompile(`^\d\d:\d\d:\d\d\n$`).MatchString(out) {
		t.Errorf("format printed %q, %v", out, err)
	}

	// A GBK console: the format arrives in GBK, the reply goes back in it.
	gbkFormat := string([]byte{0xc8, 0xd5, 0xc6, 0xda, ' ', '%', 'F'}) // "日期 %F" in GBK
	out, _, err = runOut(t, "format", "-addr", addr, "-charset", "gbk", gbkFormat)
	if err != nil || !strings.HasPrefix(out, string([]byte{0xc8, 0xd5, 0xc6, 0xda, ' '})) || !regexp.MustCompile(`\d{4}-\d\d-\d\d
$`).MatchString(out) {
		t.Errorf("format -charset gbk printed %q, %v", out, err)
	}

	_, _, err = runOut(t, "format", "-addr", addr, "%Q")
	if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), "unknown conversion %Q") {
		t.Errorf("format %%Q: %v", err)
	}
}

// TestDefaults runs the commands as the README shows them: a default
// serve, a query of 17 samples (more than the server's burst of 16, so
// it works only because the client paces its samples), and the formats
// the tutorials ask for.
func TestDefaults(t *testing.T) {
	t.Parallel()
	addr := startServe(t)
	out, _, err := runOut(t, "query", "-v", "-addr", addr, "-samples", "17")
	if err != nil {
		t.Fatalf("query -samples 17: %v\n%s", err, out)
	}
	if !strings.HasSuffix(out, "samples 17\n") {
		t.Errorf("query printed %q", out)
	}
	for _, tc := range []struct{ format, shape string }{
		{"%Y-%m-%d %H:%M:%S", `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$`},
		{"%F %T", `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n$`},
		{"%c", `^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}\n$`},
		{"%G-W%V-%u%n%s", `^\d{4}-W\d\d-[1-7]\n\d+\n$`},
	} {
		out, _, err := runOut(t, "format", "-addr", addr, tc.format)
		if err != nil || !regexp.MustCompile(tc.shape).MatchString(out) {
			t.Errorf("format %q printed %q, %v", tc.format, out, err)
		}
	}
}

// TestQueryRateLimited: a server that allows fewer requests than the
// query wants answers "RATE"; query prints the samples it has and fails.
func TestQueryRateLimited(t *testing.T) {
	t.Parallel()
	addr := startServe(t, "-rate", "0.001")
	out, _, err := runOut(t, "query", "-v", "-addr", addr, "-samples", "40", "-interval", "0")
	if err == nil || !strings.Contains(err.Error(), `Kiss-o'-Death "RATE"`) {
		t.Errorf("query: %v", err)
	}
	if !regexp.MustCompile(`(?m)^samples 16$`).MatchString(out) {
		t.Errorf("query printed %q, want the samples of the burst of 16", out)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"serve", "-nope"},
		{"serve", "extra"},
		{"query", "-samples", "0"},
		{"query", "-timeout", "0"},
		{"query", "-timeout", "-1s"},
		{"query", "-addr", "127.0.0.1:12300", "127.0.0.1:12300"},
		{"query", "127.0.0.1:12300", "-addr", "127.0.0.1:12300"},
		{"query", "127.0.0.1", "127.0.0.2"},
		{"query", "-json", "-v"},
		{"format"},
		{"format", "a", "b"},
	} {
		_, errOut, err := runOut(t, args...)
		if !errors.Is(err, cli.ErrUsage) || !strings.Contains(errOut, "usage") && !strings.Contains(errOut, "Usage") && !strings.Contains(errOut, "want") {
			t.Errorf("run(%q): %v, stderr %q", args, err, errOut)
		}
	}
	// -h prints the flags and is not a mistake: main exits 0 for it.
	_, errOut, err := runOut(t, "query", "-h")
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "-samples") {
		t.Errorf("query -h: %v (%q)", err, errOut)
	}
}

func TestQueryFails(t *testing.T) {
	t.Parallel()
	// A closed port: the query fails with one clear error.
	_, _, err := runOut(t, "query", "-addr", "127.0.0.1:1", "-samples", "1")
	if err == nil || errors.Is(err, cli.ErrUsage) {
		t.Errorf("query of a closed port: %v", err)
	}
	// The server address is taken.
	addr := startServe(t)
	if _, _, err := runOut(t, "serve", "-addr", addr); err == nil {
		t.Error("serve on a busy address succeeded")
	}
}
