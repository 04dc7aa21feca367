package httpfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/opt"
)

// Every numeric setting: zero is the default, -1 is "no limit" only where
// the doc says so, anything out of range is an error naming the field.
func TestSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(s *Server, v int)
		bad  map[int]bool // values that must make Serve fail
	}{
		{"MaxConns", func(s *Server, v int) { s.MaxConns = v }, nil},
		{"MaxConnsPerSource", func(s *Server, v int) { s.MaxConnsPerSource = v }, nil},
		{"ReadHeaderTimeout", func(s *Server, v int) { s.ReadHeaderTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"IdleTimeout", func(s *Server, v int) { s.IdleTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"WriteTimeout", func(s *Server, v int) { s.WriteTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"MaxHeaderBytes", func(s *Server, v int) { s.MaxHeaderBytes = v }, map[int]bool{-1: true, 1 << 40: true}},
		{"ShutdownTimeout", func(s *Server, v int) { s.ShutdownTimeout = time.Duration(v) }, map[int]bool{-1: true}},
	}
	for _, tt := range tests {
		for _, v := range []int{-1, 0, 1, 1 << 40} {
			t.Run(fmt.Sprintf("%s=%d", tt.name, v), func(t *testing.T) {
				s := &Server{}
				tt.set(s, v)
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				go func() { errc <- s.Serve(context.Background(), l) }()
				if tt.bad[v] {
					if err := <-errc; err == nil || err == ErrServerClosed || !strings.HasPrefix(err.Error(), "httpfetch: "+tt.name+" ") {
						t.Fatalf("Serve = %v, want an error naming %s", err, tt.name)
					}
					return
				}
				s.Close()
				if err := <-errc; err != ErrServerClosed {
					t.Fatalf("Serve = %v, want it to run", err)
				}
			})
		}
	}
}

// Every Client setting out of range makes Check and Download fail, before
// any request, with an error naming the field; the values in range work.
func TestClientSettings(t *testing.T) {
	t.Parallel()
	data := testData(1000, 40)
	var requests atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		serveBytes(w, r, data, `"s"`)
	}))
	defer ts.Close()
	tests := []struct {
		name string
		set  func(c *Client)
		want string // error prefix; "" for a setting that works
	}{
		{"Parallel=MaxParallel", func(c *Client) { c.Parallel = MaxParallel }, ""},
		{"Parallel=1000", func(c *Client) { c.Parallel = 1000 }, "httpfetch: Parallel 1000: must be 1 to 32"},
		{"Parallel=-1", func(c *Client) { c.Parallel = -1 }, "httpfetch: Parallel -1: "},
		{"MinPartSize=-1", func(c *Client) { c.MinPartSize = -1 }, "httpfetch: MinPartSize -1: must be positive"},
		{"MaxSize=-1", func(c *Client) { c.MaxSize = -1 }, ""},
		{"MaxRedirects=-1", func(c *Client) { c.MaxRedirects = -1 }, ""},
		{"Retries=-1", func(c *Client) { c.Retries = -1 }, ""},
		{"RetryWait=-1", func(c *Client) { c.RetryWait = -1 }, "httpfetch: RetryWait -1ns: must be positive"},
		{"MaxRetryWait=-1", func(c *Client) { c.MaxRetryWait = -1 }, "httpfetch: MaxRetryWait -1ns: "},
		{"StallTimeout=-1", func(c *Client) { c.StallTimeout = -1 }, "httpfetch: StallTimeout -1ns: "},
		{"ProgressInterval=-1", func(c *Client) { c.ProgressInterval = -1 }, "httpfetch: ProgressInterval -1ns: "},
		{"RateLimit=1M", func(c *Client) { c.RateLimit = 1 << 20 }, ""},
		{"RateLimit=-1", func(c *Client) { c.RateLimit = -1 }, "httpfetch: RateLimit -1: must be positive"},
		{"Header=X-Token", func(c *Client) { c.Header = http.Header{"X-Token": {"t"}, "User-Agent": {"mine"}} }, ""},
		{"Header=Range", func(c *Client) { c.Header = http.Header{"Range": {"bytes=0-1"}} }, "httpfetch: Header Range: is set by the client itself"},
		{"Header=host", func(c *Client) { c.Header = http.Header{"host": {"example.org"}} }, "httpfetch: Header Host: is set by the client itself"},
		{"Header=Content-Length", func(c *Client) { c.Header = http.Header{"Content-Length": {"1"}} }, "httpfetch: Header Content-Length: "},
		{"Header=bad name", func(c *Client) { c.Header = http.Header{"Bad Name": {"v"}} }, `httpfetch: Header "Bad Name": is not a valid header name`},
		{"Header=bad value", func(c *Client) { c.Header = http.Header{"X-A": {"a\r\nX-B: b"}} }, "httpfetch: Header X-A: has a value with a control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testClient()
			tt.set(c)
			defer c.CloseIdleConnections()
			before := requests.Load()
			checkErr := c.Check()
			_, err := c.FetchTo(context.Background(), ts.URL+"/f", io.Discard)
			if tt.want == "" {
				if checkErr != nil || err != nil {
					t.Fatalf("Check = %v, FetchTo = %v; want both nil", checkErr, err)
				}
				return
			}
			for _, e := range []error{checkErr, err} {
				var se *opt.SettingError
				if e == nil || !strings.HasPrefix(e.Error(), tt.want) || !errors.As(e, &se) {
					t.Errorf("err = %v, want a SettingError %q", e, tt.want)
				}
			}
			if n := requests.Load() - before; n != 0 {
				t.Errorf("%d requests sent with a bad setting", n)
			}
		})
	}
}
