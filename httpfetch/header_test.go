package httpfetch

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Client.Header goes with every request of a download, the parts of a
// split one included, and may replace the User-Agent; Range stays the
// client's.
func TestHeaderSent(t *testing.T) {
	t.Parallel()
	data := testData(300000, 45)
	var mu sync.Mutex
	var seen []http.Header
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		serveBytes(w, r, data, `"h"`)
	}))
	defer ts.Close()
	c := testClient()
	c.Header = http.Header{"X-Token": {"secret"}, "User-Agent": {"mine/2"}, "Accept": {"a/b", "c/d"}}
	defer c.CloseIdleConnections()
	_, res := mustFetch(t, c, ts.URL+"/f", data)
	if res.Parts != 4 || len(seen) != 4 {
		t.Fatalf("%d parts, %d requests; want 4 of each", res.Parts, len(seen))
	}
	ranges := map[string]bool{}
	for _, h := range seen {
		if h.Get("X-Token") != "secret" || h.Get("User-Agent") != "mine/2" || len(h.Values("Accept")) != 2 {
			t.Errorf("request headers %v", h)
		}
		ranges[h.Get("Range")] = true
	}
	if len(ranges) != 4 || ranges[""] {
		t.Errorf("ranges asked: %v", ranges)
	}
}
