package httpfetch

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testData returns n bytes that differ with seed.
func testData(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13+i>>9) ^ seed
	}
	return b
}

// testClient is a Client with short waits and small parts.
func testClient() *Client {
	return &Client{
		Parallel:     4,
		MinPartSize:  64 << 10,
		RetryWait:    time.Millisecond,
		MaxRetryWait: 2 * time.Second,
		StallTimeout: 2 * time.Second,
		NoSync:       true,
	}
}

// serveBytes answers like a good file server, with ranges, ETag and
// Last-Modified.
func serveBytes(w http.ResponseWriter, r *http.Request, data []byte, etag string) {
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	http.ServeContent(w, r, "file.bin", time.Unix(1700000000, 0), bytes.NewReader(data))
}

// fetchFile fetches into a fresh directory and returns the dest path.
func fetchFile(t *testing.T, c *Client, url string) (string, *Result, error) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "out.bin")
	res, err := c.Fetch(context.Background(), url, dest)
	return dest, res, err
}

// mustFetch fetches url with c into a fresh directory and fails t unless
// the download succeeds with exactly want and leaves nothing behind.
func mustFetch(t *testing.T, c *Client, url string, want []byte) (string, *Result) {
	t.Helper()
	dest, res, err := fetchFile(t, c, url)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, want)
	return dest, res
}

func checkFile(t *testing.T, dest string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: %d bytes, not the %d expected", dest, len(got), len(want))
	}
	for _, suffix := range []string{".part", ".part.state", ".part.lock", ".part.state.tmp", ".part.lock.tmp"} {
		if _, err := os.Stat(dest + suffix); err == nil {
			t.Errorf("%s%s left behind", dest, suffix)
		}
	}
}

// checkNothing checks that a failed download left no file at all.
func checkNothing(t *testing.T, dest string) {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Dir(dest))
	for _, e := range entries {
		t.Errorf("failed download left %s", e.Name())
	}
}

func TestFetchFromServer(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := testData(1<<20+123, 1)
	must(t, os.WriteFile(filepath.Join(root, "f.bin"), data, 0o644))
	base := startServer(t, &Server{Dir: root})
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprint("parallel=", parallel), func(t *testing.T) {
			c := testClient()
			c.Parallel = parallel
			var last Progress
			c.Progress = func(p Progress) { last = p }
			defer c.CloseIdleConnections()
			dest, res, err := fetchFile(t, c, base+"/f.bin")
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, dest, data)
			if res.Parts != parallel || res.Size != int64(len(data)) || res.Validator == "" {
				t.Errorf("result %+v", res)
			}
			if last.Done != int64(len(data)) || last.Total != int64(len(data)) {
				t.Errorf("last progress %+v", last)
			}
		})
	}
}

func TestFetchTo(t *testing.T) {
	t.Parallel()
	data := testData(300000, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	var buf bytes.Buffer
	sum := sha256.Sum256(data)
	res, err := c.Download(context.Background(), Request{URL: ts.URL, Writer: &buf, SHA256: hex.EncodeToString(sum[:])})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) || res.Parts != 1 || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("FetchTo: %d bytes, result %+v", buf.Len(), res)
	}
}

func TestFetchIgnoresRange(t *testing.T) {
	t.Parallel()
	data := testData(500000, 3)
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Accept-Ranges", "bytes") // a lie
		w.Write(data)
	}))
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL, data)
	if res.Parts != 1 || requests.Load() != 1 {
		t.Errorf("parts %d, requests %d; want one stream", res.Parts, requests.Load())
	}

	// A partial file whose server now ignores Range: start over safely.
	dest := filepath.Join(t.TempDir(), "out.bin")
	must(t, os.WriteFile(dest+".part", bytes.Repeat([]byte{'?'}, 1000), 0o644))
	must(t, saveState(dest+".part.state", &state{URL: ts.URL, Validator: `"v1"`, Size: int64(len(data)), Ranges: true,
		Parts: []*part{{First: 0, Last: int64(len(data)) - 1, Next: 1000}}}, false))
	res, err := c.Fetch(context.Background(), ts.URL, dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", res.Restarts)
	}
}

// versioned serves data that changes to the next version after a number
// of requests.
type versioned struct {
	mu       sync.Mutex
	versions [][]byte
	every    int // requests per version
	n        int
}

func (v *versioned) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	i := min(v.n/v.every, len(v.versions)-1)
	v.n++
	v.mu.Unlock()
	serveBytes(w, r, v.versions[i], fmt.Sprintf(`"v%d"`, i))
}

func TestFetchChangedMidDownload(t *testing.T) {
	t.Parallel()
	v1, v2 := testData(1<<20, 4), testData(1<<20+99, 5)
	// The probe sees v1; the other parts see v2 and get 200 to If-Range.
	ts := httptest.NewServer(&versioned{versions: [][]byte{v1, v2}, every: 1})
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL, v2)
	if res.Restarts < 1 {
		t.Errorf("restarts = %d, want at least 1", res.Restarts)
	}

	// A resource that changes all the time: ChangedError, nothing left.
	vs := make([][]byte, 50)
	for i := range vs {
		vs[i] = testData(1<<20, byte(i))
	}
	ts2 := httptest.NewServer(&versioned{versions: vs, every: 1})
	defer ts2.Close()
	c.Retries = 2
	dest, _, err := fetchFile(t, c, ts2.URL)
	var ce *ChangedError
	if !errors.As(err, &ce) || !errors.Is(err, ErrChanged) {
		t.Fatalf("err = %v, want a ChangedError", err)
	}
	checkNothing(t, dest)
}

// TestFetchDropped: the server cuts the connection half way, once.
func TestFetchDropped(t *testing.T) {
	t.Parallel()
	data := testData(700000, 6)
	var drops atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if drops.Add(1) == 1 {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	c.Parallel = 1
	_, res := mustFetch(t, c, ts.URL, data)
	if res.Retries != 1 {
		t.Errorf("retries = %d, want 1", res.Retries)
	}
}

// TestFetchResumeLater: a download cut with no retries left keeps its
// .part, and the next Fetch resumes it with Range and If-Range.
func TestFetchResumeLater(t *testing.T) {
	t.Parallel()
	data := testData(800000, 7)
	var cut atomic.Bool
	cut.Store(true)
	var ranges []string
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range")+" "+r.Header.Get("If-Range"))
		mu.Unlock()
		if cut.Load() {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(data)-1, len(data)))
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.WriteHeader(206)
			w.Write(data[:300000])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	c.Parallel = 1
	c.Retries = -1
	dest := filepath.Join(t.TempDir(), "out.bin")
	if _, err := c.Fetch(context.Background(), ts.URL, dest); err == nil {
		t.Fatal("first Fetch succeeded")
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("destination exists after a failed download")
	}
	if fi, err := os.Stat(dest + ".part"); err != nil || fi.Size() < 300000 {
		t.Fatalf("no .part kept: %v", err)
	}
	cut.Store(false)
	res, err := c.Fetch(context.Background(), ts.URL, dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Resumed != 300000 {
		t.Errorf("resumed %d bytes, want 300000", res.Resumed)
	}
	if last := ranges[len(ranges)-1]; last != `bytes=300000-799999 "v1"` {
		t.Errorf("resume request sent Range/If-Range %q", last)
	}
}

func TestFetchCancelKeepsPart(t *testing.T) {
	t.Parallel()
	data := testData(2<<20, 8)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	ctx, cancel := context.WithCancel(context.Background())
	c.Progress = func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}
	c.ProgressInterval = time.Nanosecond
	dest := filepath.Join(t.TempDir(), "out.bin")
	_, err := c.Fetch(ctx, ts.URL, dest)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(dest + ".part.state"); err != nil {
		t.Fatalf("no state kept after cancel: %v", err)
	}
	c.Progress = nil
	res, err := c.Fetch(context.Background(), ts.URL, dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Resumed == 0 {
		t.Errorf("nothing resumed")
	}
	// Cancelled at the first progress report, the first call stopped
	// there, not when the body it had buffered ran out.
	if res.Resumed >= int64(len(data)) {
		t.Errorf("resumed %d bytes of %d: the cancelled download went on to the end", res.Resumed, len(data))
	}
}

func TestFetchWrongContentLength(t *testing.T) {
	t.Parallel()
	data := testData(400000, 9)
	var lies atomic.Int32
	liar := func(always bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if always || lies.Add(1) == 1 {
				w.Header().Set("Content-Length", strconv.Itoa(len(data)+1000))
				w.Write(data)
				return // net/http closes the connection: the body is short
			}
			serveBytes(w, r, data, `"v1"`)
		})
	}
	ts := httptest.NewServer(liar(false))
	defer ts.Close()
	c := testClient()
	mustFetch(t, c, ts.URL, data)

	ts2 := httptest.NewServer(liar(true))
	defer ts2.Close()
	c.Retries = 2
	dest, _, err := fetchFile(t, c, ts2.URL)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want unexpected EOF", err)
	}
	checkNothing(t, dest) // no validator, no ranges: nothing to resume
}

func TestFetchWrongRange(t *testing.T) {
	t.Parallel()
	data := testData(1<<20, 10)
	// Answers every range from byte 0, whatever was asked.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rng := r.Header.Get("Range"); rng != "" && rng != "bytes=0-" {
			r.Header.Set("Range", "bytes=0-"+strings.Split(rng, "-")[1])
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL, data)
	if res.Parts != 1 || res.Restarts != 1 {
		t.Errorf("parts %d restarts %d; want a fall back to one stream", res.Parts, res.Restarts)
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	data := testData(1000, 11)
	mux := http.NewServeMux()
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://127.0.0.1/file", http.StatusFound)
	})
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/file", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) { serveBytes(w, r, data, `"v1"`) })
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL+"/go", data)
	if res.URL != ts.URL+"/file" {
		t.Errorf("result URL %q", res.URL)
	}
	for _, p := range []string{"/loop", "/ftp"} {
		hits.Store(0)
		dest, _, err := fetchFile(t, c, ts.URL+p)
		var re *RedirectError
		if !errors.As(err, &re) {
			t.Errorf("%s: err = %v, want a RedirectError", p, err)
		}
		checkNothing(t, dest)
		if p == "/loop" && hits.Load() != DefaultMaxRedirects+1 {
			t.Errorf("loop: %d requests; redirects must not be retried", hits.Load())
		}
	}
}

func TestFetchStatus(t *testing.T) {
	t.Parallel()
	data := testData(5000, 12)
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/403":
			http.Error(w, "no", http.StatusForbidden)
		case "/busy":
			if k == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "later", http.StatusServiceUnavailable)
				return
			}
			if k == 2 {
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return
			}
			serveBytes(w, r, data, "")
		case "/long":
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "much later", http.StatusServiceUnavailable)
		}
	}))
	defer ts.Close()
	c := testClient()
	for _, p := range []string{"/404", "/403"} {
		n.Store(0)
		dest, _, err := fetchFile(t, c, ts.URL+p)
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != map[string]int{"/404": 404, "/403": 403}[p] {
			t.Errorf("%s: err = %v", p, err)
		}
		if n.Load() != 1 {
			t.Errorf("%s: %d requests; a 4xx must not be retried", p, n.Load())
		}
		checkNothing(t, dest)
	}
	n.Store(0)
	start := time.Now()
	_, res := mustFetch(t, c, ts.URL+"/busy", data)
	if res.Retries != 2 {
		t.Errorf("retries = %d, want 2", res.Retries)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("took %v: Retry-After: 1 was not honoured", el)
	}
	n.Store(0)
	_, _, err := fetchFile(t, c, ts.URL+"/long")
	var se *StatusError
	if !errors.As(err, &se) || se.RetryAfter != time.Hour || n.Load() != 1 {
		t.Errorf("Retry-After beyond MaxRetryWait: err %v after %d requests", err, n.Load())
	}
}

func TestFetchMaxSize(t *testing.T) {
	t.Parallel()
	data := testData(100000, 13)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			for i := 0; i < len(data); i += 1000 {
				w.Write(data[i : i+1000])
				w.(http.Flusher).Flush()
			}
			return
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	c.MaxSize = 50000
	for _, p := range []string{"/", "/chunked"} {
		dest, _, err := fetchFile(t, c, ts.URL+p)
		var se *SizeError
		if !errors.As(err, &se) || se.Limit != 50000 {
			t.Errorf("%s: err = %v, want a SizeError", p, err)
		}
		checkNothing(t, dest)
	}
	c = testClient() // the fields of a Client are resolved once
	c.MaxSize = -1
	_, res := mustFetch(t, c, ts.URL+"/chunked", data)
	if res.Size != int64(len(data)) {
		t.Errorf("size %d", res.Size)
	}
}

func TestFetchChecksum(t *testing.T) {
	t.Parallel()
	data := testData(300000, 14)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	c := testClient()
	c.MinPartSize = 50000
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	dest := filepath.Join(t.TempDir(), "out.bin")
	res, err := c.Download(context.Background(), Request{URL: ts.URL, Dest: dest, SHA256: strings.ToUpper(good)})
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.SHA256 != good || res.Parts != 4 {
		t.Errorf("result %+v", res)
	}
	bad := strings.Repeat("00", 32)
	dest = filepath.Join(t.TempDir(), "out.bin")
	_, err = c.Download(context.Background(), Request{URL: ts.URL, Dest: dest, SHA256: bad})
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Got != good || ce.Want != bad {
		t.Fatalf("err = %v, want a ChecksumError", err)
	}
	checkNothing(t, dest)
	if _, err := c.Download(context.Background(), Request{URL: ts.URL, Dest: dest, SHA256: "xyz"}); err == nil {
		t.Errorf("a malformed digest was accepted")
	}
}

func TestFetchGzip(t *testing.T) {
	t.Parallel()
	data := bytes.Repeat([]byte("compressible "), 50000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/polite": // compresses only when asked
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(gz.Bytes())
				return
			}
			serveBytes(w, r, data, `"v1"`)
		case "/rude": // always compresses, and ranges the compressed bytes
			w.Header().Set("Content-Encoding", "gzip")
			serveBytes(w, r, gz.Bytes(), `"gz1"`)
		}
	}))
	defer ts.Close()
	c := testClient()
	c.MinPartSize = 1000
	_, res := mustFetch(t, c, ts.URL+"/polite", data)
	if res.Parts != 4 {
		t.Errorf("parts = %d", res.Parts)
	}
	// The bytes the server sent are stored as they are, in one stream.
	dest, res, err := fetchFile(t, c, ts.URL+"/rude")
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, gz.Bytes())
	if res.Parts != 1 {
		t.Errorf("parts = %d; an encoded response must not be split", res.Parts)
	}
}

func TestFetchStall(t *testing.T) {
	t.Parallel()
	data := testData(200000, 15)
	var n atomic.Int32
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:1000])
			w.(http.Flusher).Flush()
			<-release
			return
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	defer close(release)
	c := testClient()
	c.StallTimeout = 200 * time.Millisecond
	_, res := mustFetch(t, c, ts.URL, data)
	if res.Retries != 1 {
		t.Errorf("retries = %d", res.Retries)
	}
}

func TestFetchEmptyAndUnknownSize(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			serveBytes(w, r, nil, `"e"`)
		case "/chunked":
			w.Write([]byte("abc"))
			w.(http.Flusher).Flush()
			w.Write([]byte("def"))
		}
	}))
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL+"/empty", nil)
	if res.Size != 0 {
		t.Errorf("size %d", res.Size)
	}
	var sizes []int64
	c.Progress = func(p Progress) { sizes = append(sizes, p.Total) }
	dest, res, err := fetchFile(t, c, ts.URL+"/chunked")
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, []byte("abcdef"))
	if res.Size != 6 || len(sizes) == 0 || sizes[len(sizes)-1] != 6 {
		t.Errorf("size %d, progress totals %v", res.Size, sizes)
	}
}

func TestFetchBadURL(t *testing.T) {
	t.Parallel()
	c := testClient()
	for _, u := range []string{"ftp://127.0.0.1/x", "://", "file:///etc/passwd"} {
		if _, err := c.FetchTo(context.Background(), u, io.Discard); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
	if _, err := c.Download(context.Background(), Request{URL: "http://127.0.0.1/"}); err == nil {
		t.Errorf("a Request without Dest or Writer was accepted")
	}
}

func TestClientDialAndNoRedirects(t *testing.T) {
	t.Parallel()
	data := testData(1000, 16)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/", http.StatusFound)
			return
		}
		serveBytes(w, r, data, `"v1"`)
	}))
	defer ts.Close()
	var dials atomic.Int32
	c := testClient()
	c.MaxRedirects = -1
	c.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	var buf bytes.Buffer
	if _, err := c.FetchTo(context.Background(), ts.URL, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("FetchTo: %v", err)
	}
	if dials.Load() == 0 {
		t.Errorf("Dial hook not used")
	}
	if _, err := c.FetchTo(context.Background(), ts.URL+"/moved", io.Discard); !errors.Is(err, ErrRedirect) {
		t.Errorf("with MaxRedirects -1, a redirect gave %v", err)
	}
}

// TestFetchUnknownSizeResume: a server that honours ranges but never
// tells the size ("bytes N-M/*", chunked), cut once half way; then a
// resume of a download that already had every byte (416).
func TestFetchUnknownSizeResume(t *testing.T) {
	t.Parallel()
	data := testData(100000, 17)
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := 0
		if rng := r.Header.Get("Range"); rng != "" {
			v, _ := strings.CutPrefix(rng, "bytes=")
			v, _ = strings.CutSuffix(v, "-")
			first, _ = strconv.Atoi(v)
		}
		w.Header().Set("ETag", `"u1"`)
		if first >= len(data) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", len(data)))
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			return
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/*", first, len(data)-1))
		w.WriteHeader(http.StatusPartialContent)
		if n.Add(1) == 1 {
			w.Write(data[first : len(data)/2])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		w.Write(data[first:])
	}))
	defer ts.Close()
	c := testClient()
	_, res := mustFetch(t, c, ts.URL, data)
	if res.Retries != 1 || res.Parts != 1 || res.Size != int64(len(data)) {
		t.Errorf("result %+v", res)
	}

	dest := filepath.Join(t.TempDir(), "out.bin")
	must(t, os.WriteFile(dest+".part", data, 0o644))
	must(t, saveState(dest+".part.state", &state{URL: ts.URL, Validator: `"u1"`, Size: -1, Ranges: true,
		Parts: []*part{{First: 0, Last: -1, Next: int64(len(data))}}}, false))
	res, err := c.Fetch(context.Background(), ts.URL, dest)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, dest, data)
	if res.Resumed != int64(len(data)) || res.Size != int64(len(data)) {
		t.Errorf("result %+v", res)
	}
}

// Credentials in Client.Header go to the host asked for, not to a mirror
// it redirects to: net/http drops them on its own redirects, and the
// ranges and retries the client sends straight to the mirror must too.
func TestCredentialsStayWithTheOrigin(t *testing.T) {
	t.Parallel()
	data := testData(600000, 3)
	var mu sync.Mutex
	var leaked []string
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			leaked = append(leaked, r.Header.Get("Range")+" "+a)
		}
		mu.Unlock()
		serveBytes(w, r, data, `"v1"`)
	}))
	defer mirror.Close()
	sawAuth := false
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization") == "Bearer SECRET"
		http.Redirect(w, r, mirror.URL+"/file.bin", http.StatusFound)
	}))
	defer origin.Close()
	c := testClient()
	c.Header = http.Header{"Authorization": {"Bearer SECRET"}}
	c.MinPartSize = 100000
	dest, res, err := fetchFile(t, c, origin.URL+"/file.bin")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) || res.Parts < 2 {
		t.Fatalf("download: %d bytes in %d parts", len(got), res.Parts)
	}
	if !sawAuth {
		t.Error("the origin did not get the Authorization header")
	}
	if len(leaked) > 0 {
		t.Errorf("the mirror got the origin's credentials: %q", leaked)
	}
}
