package httpfetch

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// OnRetry hears of every retry, numbered out of Retries, with the error
// and the wait; the Logger then has it at Debug only.
func TestOnRetry(t *testing.T) {
	t.Parallel()
	data := testData(5000, 43)
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		serveBytes(w, r, data, `"r"`)
	}))
	defer ts.Close()
	var logs bytes.Buffer
	var got []Retry
	c := testClient()
	c.Retries = 3
	c.Logger = slog.New(slog.NewTextHandler(&logs, nil)) // Info and above
	c.OnRetry = func(r Retry) { got = append(got, r) }
	defer c.CloseIdleConnections()
	_, res := mustFetch(t, c, ts.URL+"/f", data)
	if res.Retries != 2 || len(got) != 2 {
		t.Fatalf("%d retries, %d OnRetry calls: %+v", res.Retries, len(got), got)
	}
	for i, r := range got {
		var se *StatusError
		if !errors.As(r.Err, &se) || se.StatusCode != 503 {
			t.Errorf("retry %d: Err %v, want the 503", i+1, r.Err)
		}
		if r.Wait <= 0 || r.Wait > c.MaxRetryWait {
			t.Errorf("retry %d: Wait %v", i+1, r.Wait)
		}
	}
	type count struct{ Attempt, Max int }
	want := []count{{1, 3}, {2, 3}}
	var counts []count
	for _, r := range got {
		counts = append(counts, count{r.Attempt, r.Max})
	}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), "retrying") {
		t.Errorf("retries logged at Info although OnRetry reported them:\n%s", logs.String())
	}
}

// refusedAddr returns a loopback address where nothing listens.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// A refused connection ends the download at its first attempt, unless
// RetryRefused; then it is retried as many times as Retries says, each
// retry reported.
func TestRefused(t *testing.T) {
	t.Parallel()
	addr := refusedAddr(t)
	for _, retryRefused := range []bool{false, true} {
		var dials atomic.Int64
		var retries []Retry
		c := testClient()
		c.Retries = 2
		c.RetryRefused = retryRefused
		c.Dial = func(ctx context.Context, network, a string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, a)
		}
		c.OnRetry = func(r Retry) { retries = append(retries, r) }
		_, err := c.FetchTo(context.Background(), "http://"+addr+"/f", io.Discard)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("RetryRefused=%v: err = %v, want connection refused", retryRefused, err)
		}
		wantDials, wantRetries := 1, 0
		if retryRefused {
			wantDials, wantRetries = 3, 2
		}
		if int(dials.Load()) != wantDials || len(retries) != wantRetries {
			t.Errorf("RetryRefused=%v: %d dials and %d retries, want %d and %d", retryRefused, dials.Load(), len(retries), wantDials, wantRetries)
		}
		for _, r := range retries {
			if !errors.Is(r.Err, syscall.ECONNREFUSED) || r.Max != 2 {
				t.Errorf("retry %+v", r)
			}
		}
	}
}

// A refused download to a file that can be resumed keeps its ".part",
// as any download stopped for a transient reason does.
func TestRefusedKeepsPart(t *testing.T) {
	t.Parallel()
	data := testData(300000, 44)
	var cut atomic.Bool
	cut.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cut.Load() && r.Header.Get("Range") == "bytes=0-" {
			// Half the file, then the connection is cut.
			w.Header().Set("ETag", `"k"`)
			w.Header().Set("Content-Range", "bytes 0-299999/300000")
			w.Header().Set("Content-Length", "300000")
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[:150000])
			panic(http.ErrAbortHandler)
		}
		serveBytes(w, r, data, `"k"`)
	}))
	defer ts.Close()
	c := testClient()
	c.Parallel = 1
	c.Retries = 3
	var server atomic.Bool // false once the server is "down"
	server.Store(true)
	c.Dial = func(ctx context.Context, network, a string) (net.Conn, error) {
		if !server.Load() {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		server.Store(false) // the first connection only
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	dest, _, err := fetchFile(t, c, ts.URL+"/f")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("err = %v, want connection refused", err)
	}
	if _, err := os.Stat(dest + ".part.state"); err != nil {
		t.Fatalf("no resume state after a refusal: %v", err)
	}
	cut.Store(false)
	server.Store(true)
	c2 := testClient()
	defer c2.CloseIdleConnections()
	res, err := c2.Fetch(context.Background(), ts.URL+"/f", dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Resumed == 0 {
		t.Errorf("resumed nothing")
	}
}
