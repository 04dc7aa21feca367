package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/browsertest"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// startServe runs "httpfetch serve" in-process and returns its URL, its
// standard output and a func that stops it as an interrupt would.
func startServe(t *testing.T, args ...string) (base string, out *clitest.Buffer, stop func() error) {
	t.Helper()
	p := clitest.Start(t, run, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	return clitest.WaitFor(t, &p.Stdout, `on (http://[0-9.:]+/)`), &p.Stdout, p.Stop
}

func TestServeAndGet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := bytes.Repeat([]byte("httpfetch example "), 100000)
	if err := os.WriteFile(filepath.Join(dir, "data.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	base, serveOut, stop := startServe(t, "-dir", dir)

	sum := sha256.Sum256(data)
	dest := filepath.Join(t.TempDir(), "copy.bin")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"get", "-o", dest, "-parallel", "2", "-sha256", hex.EncodeToString(sum[:]), base + "data.bin"}, &out, &errOut)
	if err != nil {
		t.Fatalf("get: %v\n%s", err, errOut.String())
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Errorf("downloaded file differs")
	}
	if line := out.String(); !strings.HasPrefix(line, "saved "+dest+": 1.7 MiB in ") || !strings.HasSuffix(line, ", sha256 ok\n") || strings.Count(line, "\n") != 1 {
		t.Errorf("summary %q", line)
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet got %q", errOut.String())
	}

	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"get", "-o", "-", base + "data.bin"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) || !strings.HasPrefix(errOut.String(), "saved standard output") {
		t.Errorf("-o -: %d bytes, stderr %q", out.Len(), errOut.String())
	}

	err = run(context.Background(), []string{"get", "-o", filepath.Join(t.TempDir(), "x"), base + "missing"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing file: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	if !strings.Contains(serveOut.String(), "httpfetch: stopped") {
		t.Errorf("serve output %q", serveOut.String())
	}
}

func TestServeHello(t *testing.T) {
	t.Parallel()
	base, _, stop := startServe(t)
	var out, errOut bytes.Buffer
	for _, path := range []string{"", "any/path.txt"} {
		out.Reset()
		if err := run(context.Background(), []string{"get", "-o", "-", base + path}, &out, &errOut); err != nil {
			t.Fatal(err)
		}
		if out.String() != httpfetch.HelloPage {
			t.Errorf("GET /%s: %q", path, out.String())
		}
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// TestServeHelloInBrowser: headless Chromium opens the page of "serve"
// without -dir, at / and elsewhere, and shows "Hello World".
func TestServeHelloInBrowser(t *testing.T) {
	t.Parallel()
	base, _, stop := startServe(t)
	ctx := browsertest.New(t)
	for _, path := range []string{"", "tutorial/001"} {
		resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS("h1")))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != 200 || resp.MimeType != "text/html" || resp.Charset != "utf-8" {
			t.Errorf("/%s: status %d, %s; %s", path, resp.Status, resp.MimeType, resp.Charset)
		}
		h1, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("h1")))
		if err != nil || h1 != "Hello World" {
			t.Errorf("/%s: <h1> shows %q, %v", path, h1, err)
		}
		title, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil || title != "Hello World" {
			t.Errorf("/%s: title %q, %v", path, title, err)
		}
	}
	browsertest.Screenshot(t, ctx, "hello")
	if err := stop(); err != nil {
		t.Error(err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil, {"bogus"}, {"get"}, {"get", "-parallel", "0", "http://x/"}, {"get", "-nope", "http://x/"},
		{"serve", "extra"}, {"serve", "-addr"},
	} {
		var out, errOut bytes.Buffer
		if err := run(context.Background(), args, &out, &errOut); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("%q: err = %v, want a usage error", args, err)
		}
		if errOut.Len() == 0 {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-dir", "/does/not/exist"}, &out, &errOut); err == nil || errors.Is(err, cli.ErrUsage) {
		t.Errorf("missing dir: %v", err)
	}
}

func TestFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://h/a/b/file.iso":         "file.iso",
		"http://h/":                     "index.html",
		"http://h":                      "index.html",
		"http://h/..":                   "index.html",
		"http://h/.bashrc":              "bashrc",
		"http://h/a%2Fb":                "b",
		"http://h/evil%1b%5b2Jname":     "evilname",
		"http://h/x?y=../../etc/passwd": "x",
	} {
		got, err := fileName(in)
		if err != nil || got != want {
			t.Errorf("fileName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{"a.txt", "..", "/", ".", "\x1b[31m", "a/../b", "ok\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := safeName(s)
		if n == "" || strings.ContainsAny(n, "/\\\x00") || strings.HasPrefix(n, ".") || filepath.Base(n) != n {
			t.Fatalf("safeName(%q) = %q", s, n)
		}
	})
}

// gatedServer serves data whole, with an ETag, holding every response
// after the first half until release is called; reached is closed when a
// response gets there.
func gatedServer(t *testing.T, data []byte) (url string, reached <-chan struct{}, release func()) {
	t.Helper()
	half := make(chan struct{})
	open := make(chan struct{})
	var halfOnce, openOnce sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"gated"`)
		w.Header().Set("Content-Type", "application/octet-stream")
		// Ranges ignored: one stream, whole, held at half.
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		halfOnce.Do(func() { close(half) })
		select {
		case <-open:
		case <-r.Context().Done():
			return
		}
		w.Write(data[len(data)/2:])
	}))
	release = func() { openOnce.Do(func() { close(open) }) }
	t.Cleanup(func() { release(); ts.Close() })
	return ts.URL + "/gated.bin", half, release
}

// TestGetLocked: a second get to the same file fails naming the first
// one's process and suggesting -wait; with -wait it waits and saves the
// file the first one downloaded.
func TestGetLocked(t *testing.T) {
	data := bytes.Repeat([]byte("locked "), 50000)
	url, reached, release := gatedServer(t, data)
	dest := filepath.Join(t.TempDir(), "out.bin")
	first := clitest.Start(t, run, "get", "-o", dest, url)
	<-reached

	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"get", "-o", dest, url}, &out, &errOut)
	want := fmt.Sprintf("%s is being downloaded by another download in this process (pid %d); add -wait to wait for it", dest, os.Getpid())
	if !errors.Is(err, httpfetch.ErrLocked) || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("second get: %v, want %q", err, want)
	}
	if errOut.Len() != 0 {
		t.Errorf("second get's stderr %q", errOut.String())
	}

	waiter := clitest.Start(t, run, "get", "-wait", "-o", dest, url)
	clitest.WaitFor(t, &waiter.Stderr, `msg="httpfetch: waiting for another download".* pid=`+strconv.Itoa(os.Getpid()))
	release()
	clitest.WaitFor(t, &first.Stdout, "saved "+regexp.QuoteMeta(dest)+": 341.8 KiB in ")
	want = fmt.Sprintf("saved %s: 341.8 KiB, downloaded by process %d while this one waited\n", dest, os.Getpid())
	clitest.WaitFor(t, &waiter.Stdout, regexp.QuoteMeta(want))
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Errorf("file differs after two gets")
	}
	for _, p := range []*clitest.Program{first, waiter} {
		if err := p.Stop(); err != nil {
			t.Errorf("get: %v", err)
		}
	}
}

// serve -tls-cert/-tls-key serves https; get trusts it with -ca, refuses
// it without, and -insecure warns.
func TestServeAndGetTLS(t *testing.T) {
	t.Parallel()
	cert := tlstest.New(t)
	dir := t.TempDir()
	data := []byte("over TLS\n")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := clitest.Start(t, run, "serve", "-addr", "127.0.0.1:0", "-dir", dir, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	base := clitest.WaitFor(t, &p.Stdout, `on (https://[0-9.:]+/)`)
	defer p.Stop()

	dest := filepath.Join(t.TempDir(), "f.txt")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"get", "-o", dest, "-ca", cert.CertFile, base + "f.txt"}, &out, &errOut); err != nil {
		t.Fatalf("get -ca: %v\n%s", err, errOut.String())
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Errorf("downloaded %q", got)
	}
	err := run(context.Background(), []string{"get", "-o", filepath.Join(t.TempDir(), "x"), base + "f.txt"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("get without -ca: %v, want a certificate error", err)
	}
	errOut.Reset()
	if err := run(context.Background(), []string{"get", "-o", filepath.Join(t.TempDir(), "y"), "-insecure", base + "f.txt"}, &out, &errOut); err != nil {
		t.Fatalf("get -insecure: %v", err)
	}
	if !strings.Contains(errOut.String(), "warning: -insecure") {
		t.Errorf("no warning for -insecure: %q", errOut.String())
	}
	if err := run(context.Background(), []string{"get", "-ca", cert.CertFile, "http://127.0.0.1:1/x"}, &out, &errOut); err == nil || !strings.Contains(err.Error(), "https://") {
		t.Errorf("-ca with http://: %v", err)
	}
}
