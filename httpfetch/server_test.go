package httpfetch

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// startServer runs s on a loopback port and returns its base URL. The
// server is closed at the end of the test, and Serve must have returned
// ErrServerClosed by then.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return "http://" + l.Addr().String()
}

// rawGet sends one request line as is, and returns the response.
func rawGet(t *testing.T, base, target string, hdr ...string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	for _, h := range hdr {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestServeHello(t *testing.T) {
	t.Parallel()
	s := &Server{}
	base := startServer(t, s)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, resp); resp.StatusCode != 200 || !strings.Contains(b, "Hello World") {
		t.Fatalf("GET / = %s %q", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, path := range []string{"/nothing", "/a/b/c.txt", "/index.html?x=1", "/favicon.ico"} {
		resp = rawGet(t, base, path)
		if b := body(t, resp); resp.StatusCode != 200 || b != HelloPage || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s = %s, %q, %q", path, resp.Status, resp.Header.Get("Content-Type"), b)
		}
	}
	resp, err = http.Head(base + "/anywhere")
	if err != nil {
		t.Fatal(err)
	}
	if b := body(t, resp); resp.StatusCode != 200 || b != "" || resp.ContentLength != int64(len(HelloPage)) ||
		resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD /anywhere = %s, length %d, %q, headers %v", resp.Status, resp.ContentLength, b, resp.Header)
	}
	for _, path := range []string{"/../etc/passwd", "/a/../../b"} {
		resp = rawGet(t, base, path)
		if b := body(t, resp); resp.StatusCode != 400 || strings.Contains(b, "Hello") {
			t.Errorf("GET %s = %s %q, want 400", path, resp.Status, b)
		}
	}
	req, _ := http.NewRequest("POST", base+"/", strings.NewReader("x"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST / = %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
}

// writeTree makes a served directory with a secret file beside it.
func writeTree(t *testing.T) (root string) {
	t.Helper()
	top := t.TempDir()
	root = filepath.Join(top, "www")
	must(t, os.MkdirAll(filepath.Join(root, "sub"), 0o755))
	must(t, os.MkdirAll(filepath.Join(root, ".git"), 0o755))
	must(t, os.WriteFile(filepath.Join(top, "secret.txt"), []byte("secret"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello, world\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "sub", "page.html"), []byte("<p>page</p>"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, ".env"), []byte("TOKEN=1"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, ".git", "config"), []byte("[core]"), 0o644))
	must(t, os.Symlink(filepath.Join(top, "secret.txt"), filepath.Join(root, "out-abs")))
	must(t, os.Symlink("../secret.txt", filepath.Join(root, "out-rel")))
	must(t, os.Symlink("..", filepath.Join(root, "up")))
	must(t, os.Symlink("hello.txt", filepath.Join(root, "in")))
	return root
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestServeNoEscape(t *testing.T) {
	t.Parallel()
	root := writeTree(t)
	base := startServer(t, &Server{Dir: root})
	for _, tc := range []struct {
		target string
		code   int
		body   string
	}{
		{"/hello.txt", 200, "hello, world\n"},
		{"/in", 200, "hello, world\n"},
		{"/sub/page.html", 200, "<p>page</p>"},
		{"/sub/../hello.txt", 400, ""},
		{"/../secret.txt", 400, ""},
		{"/%2e%2e/secret.txt", 400, ""},
		{"/%2E%2E%2Fsecret.txt", 400, ""},
		{"/sub/..%2f..%2fsecret.txt", 400, ""},
		{"/..\\secret.txt", 404, ""},
		{"/out-abs", 404, ""},
		{"/out-rel", 404, ""},
		{"/up/secret.txt", 404, ""},
		{"/.env", 404, ""},
		{"/.git/config", 404, ""},
		{"/%2egit/config", 404, ""},
		{"/hello.txt%00.png", 400, ""},
		{"/hello.txt/", 404, ""},
		{"http://evil/../secret.txt", 400, ""},
	} {
		t.Run(tc.target, func(t *testing.T) {
			resp := rawGet(t, base, tc.target)
			b := body(t, resp)
			if resp.StatusCode != tc.code || tc.body != "" && b != tc.body {
				t.Errorf("GET %s = %s %q, want %d %q", tc.target, resp.Status, b, tc.code, tc.body)
			}
			if strings.Contains(b, "secret") && tc.code != 200 {
				t.Errorf("GET %s leaked the secret: %q", tc.target, b)
			}
		})
	}
}

func TestServeDotfilesAndListing(t *testing.T) {
	t.Parallel()
	root := writeTree(t)
	base := startServer(t, &Server{Dir: root})
	resp := rawGet(t, base, "/")
	b := body(t, resp)
	if resp.StatusCode != 200 || !strings.Contains(b, `href="hello.txt"`) || strings.Contains(b, ".env") || strings.Contains(b, ".git") {
		t.Errorf("listing = %s %q", resp.Status, b)
	}
	resp = rawGet(t, base, "/sub")
	resp.Body.Close()
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/sub/" {
		t.Errorf("GET /sub = %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}

	base2 := startServer(t, &Server{Dir: root, Dotfiles: true})
	resp = rawGet(t, base2, "/.env")
	if b := body(t, resp); resp.StatusCode != 200 || b != "TOKEN=1" {
		t.Errorf("with Dotfiles, GET /.env = %s %q", resp.Status, b)
	}
}

func TestServeRanges(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := make([]byte, 100000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	must(t, os.WriteFile(filepath.Join(root, "data.bin"), data, 0o644))
	base := startServer(t, &Server{Dir: root})

	resp := rawGet(t, base, "/data.bin")
	full := body(t, resp)
	etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	if full != string(data) || etag == "" || lm == "" || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET = %s, %d bytes, ETag %q, Last-Modified %q", resp.Status, len(full), etag, lm)
	}
	for _, tc := range []struct {
		name  string
		hdr   []string
		code  int
		want  string
		crang string
	}{
		{"range", []string{"Range: bytes=10-19"}, 206, string(data[10:20]), "bytes 10-19/100000"},
		{"suffix", []string{"Range: bytes=-5"}, 206, string(data[99995:]), "bytes 99995-99999/100000"},
		{"open", []string{"Range: bytes=99990-"}, 206, string(data[99990:]), "bytes 99990-99999/100000"},
		{"if-range etag", []string{"Range: bytes=0-3", "If-Range: " + etag}, 206, string(data[:4]), "bytes 0-3/100000"},
		{"if-range date", []string{"Range: bytes=0-3", "If-Range: " + lm}, 206, string(data[:4]), "bytes 0-3/100000"},
		{"if-range stale", []string{"Range: bytes=0-3", `If-Range: "other"`}, 200, string(data), ""},
		{"unsatisfiable", []string{"Range: bytes=100000-"}, 416, "", "bytes */100000"},
		{"not modified", []string{"If-None-Match: " + etag}, 304, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawGet(t, base, "/data.bin", tc.hdr...)
			b := body(t, resp)
			if resp.StatusCode != tc.code || tc.code != 416 && b != tc.want || resp.Header.Get("Content-Range") != tc.crang {
				t.Errorf("got %s, %d bytes, Content-Range %q; want %d, %d bytes, %q",
					resp.Status, len(b), resp.Header.Get("Content-Range"), tc.code, len(tc.want), tc.crang)
			}
		})
	}
	resp = rawGet(t, base, "/data.bin", "Range: bytes=0-1,5-6")
	if b := body(t, resp); resp.StatusCode != 206 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "multipart/byteranges") {
		t.Errorf("multi-range: %s %q", resp.Status, b)
	}
}

func TestServeFS(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"a.txt":       {Data: []byte("alpha"), ModTime: time.Unix(1e9, 0)},
		"d/b.json":    {Data: []byte(`{"b":1}`)},
		".hidden/c":   {Data: []byte("c")},
		"d/index.htm": {Data: []byte("not an index")},
	}
	base := startServer(t, &Server{FS: fsys})
	resp := rawGet(t, base, "/a.txt", "Range: bytes=1-2")
	if b := body(t, resp); resp.StatusCode != 206 || b != "lp" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("GET /a.txt = %s %q %q", resp.Status, b, resp.Header.Get("Content-Type"))
	}
	resp = rawGet(t, base, "/d/b.json")
	if b := body(t, resp); resp.StatusCode != 200 || b != `{"b":1}` || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /d/b.json = %s %q %q", resp.Status, b, resp.Header.Get("Content-Type"))
	}
	resp = rawGet(t, base, "/.hidden/c")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /.hidden/c = %s", resp.Status)
	}
}

// TestServeLargeSlowReader checks that a download much longer than
// WriteTimeout succeeds while it keeps moving, and that a client that
// stops reading is cut off.
func TestServeWriteProgress(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := bytes.Repeat([]byte("0123456789abcdef"), 2<<20) // 32 MiB
	must(t, os.WriteFile(filepath.Join(root, "big"), data, 0o644))
	s := &Server{Dir: root, WriteTimeout: 200 * time.Millisecond}
	base := startServer(t, s)

	start := time.Now()
	resp := rawGet(t, base, "/big")
	var got int
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		time.Sleep(time.Millisecond)
	}
	resp.Body.Close()
	if got != len(data) {
		t.Fatalf("read %d bytes, want %d", got, len(data))
	}
	t.Logf("steady slow download took %v with WriteTimeout %v", time.Since(start), s.WriteTimeout)

	// A client that stops reading: the server closes the connection.
	resp = rawGet(t, base, "/big")
	time.Sleep(time.Second) // nothing read: the server's writes stall
	_, err := io.Copy(io.Discard, resp.Body)
	if err == nil {
		t.Errorf("stalled client got the whole file; the server should have cut it off")
	}
}

func TestServeLimits(t *testing.T) {
	t.Parallel()
	s := &Server{MaxConns: 1, ReadHeaderTimeout: 100 * time.Millisecond}
	base := startServer(t, s)
	addr := strings.TrimPrefix(base, "http://")

	// Slowloris: half a request header, then nothing. The server hangs up.
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("slow header: %v (the server should have closed the connection)", err)
	}
	t.Logf("slow header answered %q", firstLine(b))

	// Connection limit: while one connection is open, the next gets 503.
	waitConns(t, s, 0)
	c1, err := net.Dial("tcp", addr)
	must(t, err)
	defer c1.Close()
	waitConns(t, s, 1)
	resp := rawGet(t, base, "/")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("over the limit: %s, want 503", resp.Status)
	}
}

func firstLine(b []byte) string {
	l, _, _ := strings.Cut(string(b), "\r\n")
	return l
}

func waitConns(t *testing.T, s *Server, n int64) {
	t.Helper()
	for i := 0; s.Stats().Conns != n; i++ {
		if i > 500 {
			t.Fatalf("Conns() = %d, want %d", s.Stats().Conns, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServeShutdown(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	data := bytes.Repeat([]byte("x"), 8<<20)
	must(t, os.WriteFile(filepath.Join(root, "big"), data, 0o644))
	s := &Server{Dir: root}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	base := "http://" + l.Addr().String()

	// An idle keep-alive connection, and a download in progress.
	idle, err := net.Dial("tcp", l.Addr().String())
	must(t, err)
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	must(t, err)
	resp.Body.Close()

	busy := rawGet(t, base, "/big")
	first := make([]byte, 1000)
	if _, err := io.ReadFull(busy.Body, first); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- s.Shutdown(ctx)
	}()
	rest, err := io.ReadAll(busy.Body)
	if err != nil || len(rest)+len(first) != len(data) {
		t.Errorf("download during shutdown: %d bytes, %v", len(rest)+len(first), err)
	}
	busy.Body.Close()
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := net.Dial("tcp", l.Addr().String()); err == nil {
		t.Errorf("listener still accepts after Shutdown")
	}
	if err := s.Serve(context.Background(), l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestServeContextCancel(t *testing.T) {
	t.Parallel()
	s := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	must(t, err)
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	must(t, err)
	resp.Body.Close()
	cancel()
	if err := <-done; err != ErrServerClosed {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("connection still open after the context was cancelled")
	}
	s.Close()
}

// TestCurlResume checks that curl resumes a partial download from our
// server with "curl -C -".
func TestCurlResume(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (Debian package curl)")
	}
	root := t.TempDir()
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(i*31 + i>>8)
	}
	must(t, os.WriteFile(filepath.Join(root, "file.bin"), data, 0o644))
	base := startServer(t, &Server{Dir: root})
	out := filepath.Join(t.TempDir(), "out.bin")
	must(t, os.WriteFile(out, data[:1<<20+5], 0o644))
	cmd := exec.Command(curl, "-sS", "-f", "-C", "-", "-o", out, base+"/file.bin")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	must(t, err)
	if !bytes.Equal(got, data) {
		t.Fatalf("curl -C - gave %d bytes, want the %d of the file", len(got), len(data))
	}
	// A resume when the file is already complete.
	cmd = exec.Command(curl, "-sS", "-C", "-", "-o", out, base+"/file.bin")
	b, _ := cmd.CombinedOutput()
	got, _ = os.ReadFile(out)
	if !bytes.Equal(got, data) {
		t.Fatalf("second curl -C - changed the file: %s", b)
	}
	fmt.Fprint(io.Discard, b)
}

// TestServeShutdownTimeout: a client that stops reading holds a download
// open; Shutdown gives up when its context ends and closes it.
func TestServeShutdownTimeout(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	must(t, os.WriteFile(filepath.Join(root, "big"), bytes.Repeat([]byte("y"), 64<<20), 0o644))
	s := &Server{Dir: root}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	resp := rawGet(t, "http://"+l.Addr().String(), "/big")
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if s.Stats().Conns != 0 {
		t.Errorf("%d connections left", s.Stats().Conns)
	}
	s.Close()
}

func TestServeMissingDir(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	s := &Server{Dir: filepath.Join(t.TempDir(), "nope")}
	if err := s.Serve(context.Background(), l); err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve with a missing Dir = %v", err)
	}
	if _, err := l.Accept(); err == nil {
		t.Errorf("listener left open")
	}
}

// A connection opened just before a graceful shutdown, whose request is
// on its way, is still answered; one that never sends anything is closed
// after newConnGrace.
func TestShutdownAnswersNewConnections(t *testing.T) {
	t.Parallel()
	s := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), l) }()
	late, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	for deadline := time.Now().Add(5 * time.Second); s.Stats().Conns < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("server never saw both connections")
		}
	}
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	time.Sleep(100 * time.Millisecond)
	io.WriteString(late, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	late.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(late), nil)
	if err != nil {
		t.Fatalf("request sent during shutdown: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if err := <-done; err != ErrServerClosed {
		t.Fatalf("Serve = %v", err)
	}
}
