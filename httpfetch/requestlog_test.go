package httpfetch

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/sockkit/sockkit/internal/clitest"
)

// Every request gets one info record: who asked what, and the answer.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	var logs clitest.Buffer
	s := &Server{
		FS:     fstest.MapFS{"a.txt": {Data: []byte("0123456789")}},
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	}
	base := startServer(t, s)
	get := func(path string, hdr ...string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get("/a.txt")
	get("/a.txt", "Range", "bytes=2-4")
	get("/missing")
	s.Close()
	type record struct {
		Msg, Method, Path, Range string
		Status                   int
		Bytes                    int64
		Remote                   string
	}
	var recs []record
	for line := range strings.Lines(logs.String()) {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r.Msg == "httpfetch: request" {
			recs = append(recs, r)
		}
	}
	want := []record{
		{Method: "GET", Path: "/a.txt", Status: 200, Bytes: 10},
		{Method: "GET", Path: "/a.txt", Range: "bytes=2-4", Status: 206, Bytes: 3},
		{Method: "GET", Path: "/missing", Status: 404},
	}
	if len(recs) != len(want) {
		t.Fatalf("%d request records, want %d:\n%s", len(recs), len(want), logs.String())
	}
	for i, r := range recs {
		w := want[i]
		if r.Method != w.Method || r.Path != w.Path || r.Range != w.Range || r.Status != w.Status || w.Bytes > 0 && r.Bytes != w.Bytes || !strings.HasPrefix(r.Remote, "127.0.0.1:") {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
}
