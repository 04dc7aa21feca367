package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/cli"
)

// fileServer serves data with ranges and an ETag, and records the
// headers of each request.
func fileServer(t *testing.T, data []byte) (url string, seen func() []http.Header) {
	t.Helper()
	var mu sync.Mutex
	var hs []http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hs = append(hs, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("ETag", `"f"`)
		http.ServeContent(w, r, "f.bin", time.Unix(1700000000, 0), bytes.NewReader(data))
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/f.bin", func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return hs
	}
}

// getIn runs "httpfetch get -o DIR/f.bin args... url" and returns the
// destination, the outputs and the error.
func getIn(t *testing.T, url string, args ...string) (dest, stdout, stderr string, err error) {
	t.Helper()
	dest = filepath.Join(t.TempDir(), "f.bin")
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(append([]string{"get", "-o", dest}, args...), url), &out, &errOut)
	return dest, out.String(), errOut.String(), err
}

// inspectClient runs get with args and returns the client it made, which
// downloads nothing (the URL is refused).
func inspectClient(t *testing.T, args ...string) *httpfetch.Client {
	t.Helper()
	var c *httpfetch.Client
	inspect = func(cl *httpfetch.Client) { c = cl }
	defer func() { inspect = nil }()
	getIn(t, "http://"+refusedAddr(t)+"/x", args...)
	if c == nil {
		t.Fatalf("%q: no client made", args)
	}
	return c
}

func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// -q: the file, and nothing on either output.
func TestGetQuiet(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("quiet "), 10000)
	url, _ := fileServer(t, data)
	dest, out, errOut, err := getIn(t, url, "-q")
	if err != nil || out != "" || errOut != "" {
		t.Fatalf("get -q: %v, stdout %q, stderr %q", err, out, errOut)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Errorf("file differs")
	}
	// Errors still show (cli.Main prints the error returned).
	if _, _, _, err := getIn(t, "http://"+refusedAddr(t)+"/x", "-q"); err == nil {
		t.Errorf("get -q of a refused URL succeeded")
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{
		"0": 0, "500": 500, "100K": 100 << 10, "100k": 100 << 10, "1M": 1 << 20,
		"2.5M": 5 << 19, "1G": 1 << 30, "1t": 1 << 40, "0.5K": 512,
	} {
		if got, err := parseRate(in); err != nil || got != want {
			t.Errorf("parseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "-1K", "1X", "NaN", "Inf", "0.1", "2000T", "1 M"} {
		if got, err := parseRate(in); err == nil {
			t.Errorf("parseRate(%q) = %d, want an error", in, got)
		}
	}
}

// -limit-rate reaches the client as bytes per second, and a limited
// download completes (the library's tests measure the limit itself).
func TestGetLimitRate(t *testing.T) {
	if c := inspectClient(t, "-limit-rate", "2.5M"); c.RateLimit != 5<<19 {
		t.Errorf("-limit-rate 2.5M: RateLimit %d", c.RateLimit)
	}
	if c := inspectClient(t); c.RateLimit != 0 {
		t.Errorf("no -limit-rate: RateLimit %d", c.RateLimit)
	}
	data := bytes.Repeat([]byte("limited "), 4096) // 32 KiB: about half a second
	url, _ := fileServer(t, data)
	dest, _, errOut, err := getIn(t, url, "-limit-rate", "64K")
	if err != nil {
		t.Fatalf("get -limit-rate: %v\n%s", err, errOut)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Errorf("file differs")
	}
}

// -H goes with every request; the headers the client sets are refused
// as a usage error, as is a malformed -H.
func TestGetHeader(t *testing.T) {
	t.Parallel()
	data := []byte("with headers\n")
	url, seen := fileServer(t, data)
	_, _, errOut, err := getIn(t, url, "-H", "X-Token: abc", "-H", "User-Agent: mine/1", "-H", "X-Token:  def ")
	if err != nil {
		t.Fatalf("get -H: %v\n%s", err, errOut)
	}
	hs := seen()
	if len(hs) != 1 {
		t.Fatalf("%d requests", len(hs))
	}
	if tok := hs[0].Values("X-Token"); len(tok) != 2 || tok[0] != "abc" || tok[1] != "def" || hs[0].Get("User-Agent") != "mine/1" {
		t.Errorf("headers sent: %v", hs[0])
	}
	for h, want := range map[string]string{
		"Range: bytes=0-1":  "-H Range: is set by the client itself",
		"host: example.org": "-H Host: is set by the client itself",
		"Content-Length: 1": "-H Content-Length: is set by the client itself",
		"Bad Name: x":       `-H "Bad Name": is not a valid header name`,
		"no colon":          "want 'Name: value'",
		"X-Empty:":          "X-Empty has no value",
	} {
		_, _, errOut, err := getIn(t, url, "-H", h)
		if !errors.Is(err, cli.ErrUsage) || !strings.Contains(errOut, want) {
			t.Errorf("-H %q: %v, stderr %q; want a usage error saying %q", h, err, errOut, want)
		}
	}
	if n := len(seen()); n != 1 {
		t.Errorf("%d requests sent with bad headers", n-1)
	}
}

// flakyServer answers 503 to the first fails requests, then serves data.
func flakyServer(t *testing.T, data []byte, fails int64) (url string, requests *atomic.Int64) {
	t.Helper()
	requests = new(atomic.Int64)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= fails {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/f.bin", requests
}

// -retries N: each retry said before its wait, numbered out of N; 0: the
// first failure ends the download.
func TestGetRetries(t *testing.T) {
	data := []byte("eventually\n")
	url, requests := flakyServer(t, data, 2)
	_, _, errOut, err := getIn(t, url, "-retries", "3")
	if err != nil {
		t.Fatalf("get -retries 3: %v\n%s", err, errOut)
	}
	want := `^httpfetch: 503 Service Unavailable, retrying in \d+ms \(1/3\)\n` +
		`httpfetch: 503 Service Unavailable, retrying in [0-9.]+m?s \(2/3\)\n$`
	if !regexp.MustCompile(want).MatchString(errOut) {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}

	url, requests = flakyServer(t, data, 1)
	_, _, errOut, err = getIn(t, url, "-retries", "0")
	var se *httpfetch.StatusError
	if !errors.As(err, &se) || se.StatusCode != 503 || requests.Load() != 1 || errOut != "" {
		t.Errorf("get -retries 0: %v after %d requests, stderr %q", err, requests.Load(), errOut)
	}
	if c := inspectClient(t); c.Retries != httpfetch.DefaultRetries || c.RetryRefused {
		t.Errorf("default: Retries %d, RetryRefused %v", c.Retries, c.RetryRefused)
	}
}

// A refused connection fails at the first attempt, without a retry
// message; with -retry-refused it is retried, each retry said.
func TestGetRefused(t *testing.T) {
	t.Parallel()
	url := "http://" + refusedAddr(t) + "/x"
	_, out, errOut, err := getIn(t, url)
	if !errors.Is(err, syscall.ECONNREFUSED) || out != "" || errOut != "" {
		t.Errorf("refused: %v, stdout %q, stderr %q", err, out, errOut)
	}
	_, _, errOut, err = getIn(t, url, "-retry-refused", "-retries", "2")
	want := `^httpfetch: connection refused, retrying in \d+ms \(1/2\)\n` +
		`httpfetch: connection refused, retrying in [0-9.]+m?s \(2/2\)\n$`
	if !errors.Is(err, syscall.ECONNREFUSED) || !regexp.MustCompile(want).MatchString(errOut) {
		t.Errorf("-retry-refused: %v, stderr %q, want %q", err, errOut, want)
	}
}

// -timeout ends the whole download, saying so; -connect-timeout is the
// dialer's (a black hole to test it against would not be on loopback).
func TestGetTimeout(t *testing.T) {
	data := bytes.Repeat([]byte("timeout "), 50000)
	url, _, release := gatedServer(t, data) // holds the download at half
	defer release()
	_, _, errOut, err := getIn(t, url, "-timeout", "100ms")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "gave up after -timeout 100ms: ") {
		t.Errorf("get -timeout: %v\n%s", err, errOut)
	}
	if c := inspectClient(t, "-connect-timeout", "2s"); c.Dial == nil {
		t.Errorf("-connect-timeout: no dialer")
	}
}

// Out-of-range numbers are usage errors, not silently changed.
func TestGetUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-parallel", "1000"}, "-parallel 1000: must be 1 to 32"},
		{[]string{"-parallel", "0"}, "-parallel 0: must be 1 to 32"},
		{[]string{"-retries", "-1"}, "-retries -1: must be 0 or more"},
		{[]string{"-timeout", "-1s"}, "-timeout -1s: must be 0"},
		{[]string{"-connect-timeout", "0"}, "-connect-timeout 0s: must be more than 0"},
		{[]string{"-limit-rate", "fast"}, "want bytes per second"},
		{[]string{"-limit-rate", "-1K"}, "cannot be negative"},
	} {
		_, _, errOut, err := getIn(t, "http://"+refusedAddr(t)+"/x", tt.args...)
		if !errors.Is(err, cli.ErrUsage) || !strings.Contains(errOut, tt.want) {
			t.Errorf("%q: %v, stderr %q; want a usage error saying %q", tt.args, err, errOut, tt.want)
		}
	}
	if c := inspectClient(t, "-parallel", "32"); c.Parallel != 32 {
		t.Errorf("-parallel 32: Parallel %d", c.Parallel)
	}
}

// When standard error is not a terminal, a slow download prints a plain
// progress line now and then (every 5 s; here as often as progress comes).
func TestGetPlainProgress(t *testing.T) {
	defer func(d time.Duration) { plainEvery = d }(plainEvery)
	plainEvery = time.Nanosecond
	data := bytes.Repeat([]byte("slowly "), 4096) // 28 KiB at 32 KiB/s
	url, _ := fileServer(t, data)
	_, out, errOut, err := getIn(t, url, "-limit-rate", "32K")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, errOut)
	}
	line := regexp.MustCompile(`^f\.bin: [0-9.]+ (B|KiB) of 28\.0 KiB \(\d+%\), [0-9.]+ (B|KiB)/s(, ETA \d+s)?$`)
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	if errOut == "" || len(lines) < 2 {
		t.Fatalf("stderr %q: want progress lines", errOut)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("progress line %q", l)
		}
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "\x1b") {
		t.Errorf("terminal controls in a plain log: %q", errOut)
	}
	if !strings.HasPrefix(out, "saved ") {
		t.Errorf("stdout %q", out)
	}
}
