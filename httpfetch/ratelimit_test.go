package httpfetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when the rate limit sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps int
}

func (f *fakeClock) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.sleeps++
	return ctx.Err()
}

// The token bucket: a download of N bytes at R bytes per second with a
// burst of B waits, on the bucket's clock, at least (N-B)/R, all parts
// together; in one stream it waits exactly that (each read waits for
// its own tokens and no more). The clock is fake, so the figures are
// exact whatever the machine's speed.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	const size = 512 << 10
	data := testData(size, 41)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, r, data, `"rl"`)
	}))
	defer ts.Close()
	const limit = 64 << 10 // bytes per second
	const burst = limit / 8
	minWait := time.Duration(float64(size-burst) / limit * float64(time.Second))
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) {
			start := time.Unix(1700000000, 0)
			clk := &fakeClock{t: start}
			c := testClient()
			c.Parallel = parallel
			c.RateLimit = limit
			c.now, c.sleep = clk.now, clk.sleep
			defer c.CloseIdleConnections()
			_, res := mustFetch(t, c, ts.URL+"/f", data)
			if res.Parts != parallel {
				t.Fatalf("%d parts, want %d", res.Parts, parallel)
			}
			waited := clk.now().Sub(start)
			if waited < minWait-time.Millisecond {
				t.Errorf("waited %v for %d bytes at %d B/s, want at least %v", waited, size, limit, minWait)
			}
			if parallel == 1 && waited > minWait+time.Millisecond {
				t.Errorf("one stream waited %v, want %v", waited, minWait)
			}
			if clk.sleeps < size/burst-1 {
				t.Errorf("%d waits for %d reads of at most %d bytes", clk.sleeps, size/burst, burst)
			}
		})
	}
}

// The bucket's burst, and so the largest read, is an eighth of a second
// of the rate, from 1 byte to 1 MiB.
func TestRateLimitBurst(t *testing.T) {
	t.Parallel()
	for rate, want := range map[int64]int{1: 1, 7: 1, 8: 1, 800: 100, 64 << 10: 8 << 10, 1 << 40: bufSize} {
		s := clientSettings{rateLimit: rate}
		lim, burst := s.limiter()
		if burst != want || lim.Burst() != want {
			t.Errorf("rate %d: burst %d (limiter %d), want %d", rate, burst, lim.Burst(), want)
		}
	}
	if lim, burst := (&clientSettings{}).limiter(); lim != nil || burst != 0 {
		t.Errorf("no RateLimit: limiter %v, burst %d", lim, burst)
	}
}

// A download waiting for the bucket ends with its context.
func TestRateLimitCancel(t *testing.T) {
	t.Parallel()
	data := testData(64<<10, 42)
	ctx, cancel := context.WithCancel(context.Background())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "65536")
		w.Write(data)
		w.(http.Flusher).Flush()
		cancel() // the client is reading or waiting for the bucket
	}))
	defer ts.Close()
	c := testClient()
	c.RateLimit = 1 // a byte a second: the download would take 18 hours
	defer c.CloseIdleConnections()
	var out bytes.Buffer
	_, err := c.FetchTo(ctx, ts.URL+"/f", &out)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
