package httpfetch

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rangeCase is one Range request and the answer RFC 9110 asks for.
type rangeCase struct {
	file    string // "f.bin" (1000 bytes) or "empty.bin"
	rng     string
	ifRange string
	status  int
	cr      string // Content-Range; "multipart" for a multipart/byteranges answer
	// nginx, if not empty, is why nginx answers otherwise (and what it
	// answers); the interop test checks that it still does.
	nginx string
}

// rangeCases are the edge cases of byte ranges, for our server and
// (TestRangesLikeNginx) for nginx.
var rangeCases = []rangeCase{
	{file: "f.bin", rng: "bytes=-0", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=-0", ifRange: `"not-the-etag"`, status: 200},
	{file: "f.bin", rng: "bytes=-0,-0", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=-0,0-1", status: 206, cr: "bytes 0-1/1000"},
	{file: "f.bin", rng: "bytes=0-1,-0", status: 206, cr: "bytes 0-1/1000"},
	{file: "f.bin", rng: "bytes=0-0", status: 206, cr: "bytes 0-0/1000"},
	{file: "f.bin", rng: "bytes=-1", status: 206, cr: "bytes 999-999/1000"},
	{file: "f.bin", rng: "bytes=999-", status: 206, cr: "bytes 999-999/1000"},
	{file: "f.bin", rng: "bytes=1000-", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=1000-1010", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=-2000", status: 206, cr: "bytes 0-999/1000"},
	{file: "f.bin", rng: "bytes=0-5000", status: 206, cr: "bytes 0-999/1000"},
	{file: "f.bin", rng: "bytes=01-02", status: 206, cr: "bytes 1-2/1000"},
	{file: "f.bin", rng: "bytes= 0-1", status: 206, cr: "bytes 0-1/1000"},
	{file: "f.bin", rng: "Bytes=0-1", status: 206, cr: "bytes 0-1/1000"},
	{file: "f.bin", rng: "bytes=5-2", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=abc", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=-", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=1-2,1000-", status: 206, cr: "bytes 1-2/1000"},
	{file: "f.bin", rng: "bytes=1000-,1-2", status: 206, cr: "bytes 1-2/1000"},
	{file: "f.bin", rng: "bytes=1-2,4-5", status: 206, cr: "multipart"},
	{file: "f.bin", rng: "bytes=0-1, 3-4", status: 206, cr: "multipart"},
	{file: "f.bin", rng: "items=0-1", status: 200},
	{file: "f.bin", rng: "bytes=99999999999999999999-", status: 416, cr: "bytes */1000"},
	{file: "f.bin", rng: "bytes=,0-1", status: 206, cr: "bytes 0-1/1000",
		nginx: "416 bytes */1000: it rejects the empty list element that RFC 9110 section 5.6.1 says to ignore"},
	{file: "f.bin", rng: "bytes=0-99999999999999999999", status: 206, cr: "bytes 0-999/1000",
		nginx: "416 bytes */1000: it rejects a last-pos past int64 instead of clamping it (RFC 9110 section 14.1.1)"},
	{file: "f.bin", rng: "bytes=-99999999999999999999", status: 206, cr: "bytes 0-999/1000",
		nginx: "416 bytes */1000: it rejects a suffix-length past int64 instead of sending the whole (RFC 9110 section 14.1.1)"},
	{file: "empty.bin", rng: "bytes=0-", status: 200},
	{file: "empty.bin", rng: "bytes=-1", status: 200},
	{file: "empty.bin", rng: "bytes=-0", status: 200},
	{file: "empty.bin", rng: "bytes=0-0,-1", status: 200},
	{file: "empty.bin", rng: "bytes=5-2", status: 200,
		nginx: "416 bytes */0: it rejects an invalid range of an empty file; we send any empty file whole"},
}

// rangeDir writes the files of rangeCases into a new directory.
func rangeDir(t *testing.T) string {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f.bin"), testData(1000, 51), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "empty.bin"), nil, 0o644))
	return dir
}

// checkRange sends c's request to base and fails t unless the answer
// has the status and Content-Range wanted (want: "STATUS CONTENT-RANGE"),
// and a body that fits them.
func checkRange(t *testing.T, base string, c rangeCase, want string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/"+c.file, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Range", c.rng)
	if c.ifRange != "" {
		req.Header.Set("If-Range", c.ifRange)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Header.Get("Content-Range")
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "multipart/byteranges" && cr == "" {
		cr = "multipart"
	}
	if got := strings.TrimSpace(fmt.Sprint(resp.StatusCode, " ", cr)); got != want {
		t.Errorf("Range %q: got %q, want %q", c.rng, got, want)
	}
	if resp.StatusCode == http.StatusPartialContent && cr != "multipart" {
		parsed, err := parseContentRange(cr)
		if err != nil || int64(len(b)) != parsed.Last-parsed.First+1 {
			t.Errorf("Range %q: %d body bytes for %q", c.rng, len(b), cr)
		}
	}
	if n := resp.Header.Get("Content-Length"); n != "" && n != strconv.Itoa(len(b)) {
		t.Errorf("Range %q: Content-Length %s, body %d bytes", c.rng, n, len(b))
	}
}

func (c rangeCase) want() string { return strings.TrimSpace(fmt.Sprint(c.status, " ", c.cr)) }

// TestServeRangeEdges: the server answers every edge case as RFC 9110
// says, where http.ServeContent alone does not (see normalizeRange).
func TestServeRangeEdges(t *testing.T) {
	t.Parallel()
	base := startServer(t, &Server{Dir: rangeDir(t)})
	for _, c := range rangeCases {
		t.Run(c.file+" "+c.rng+" "+c.ifRange, func(t *testing.T) {
			checkRange(t, base, c, c.want())
		})
	}
}

func FuzzNormalizeRange(f *testing.F) {
	for _, c := range rangeCases {
		f.Add(c.rng, int64(1000))
	}
	f.Add("bytes=0-", int64(0))
	f.Add("bytes="+strings.Repeat("0-0,", 100), int64(10))
	f.Fuzz(func(t *testing.T, v string, size int64) {
		h := http.Header{"Range": {v}}
		normalizeRange(h, size)
		out := h.Get("Range")
		if out == "" {
			return
		}
		set, ok := strings.CutPrefix(out, "bytes=")
		if !ok || size <= 0 {
			t.Fatalf("%q (size %d) became %q", v, size, out)
		}
		specs := strings.Split(set, ",")
		if len(specs) > maxRanges {
			t.Fatalf("%q became %d ranges", v, len(specs))
		}
		if out == fmt.Sprintf("bytes=%d-", size) {
			return // unsatisfiable: net/http answers 416 bytes */size
		}
		for _, s := range specs {
			r, ok, valid := satisfiable(s, size)
			if !ok || !valid || r != s {
				t.Fatalf("%q became %q, whose %q is not a canonical satisfiable range", v, out, s)
			}
		}
	})
}
