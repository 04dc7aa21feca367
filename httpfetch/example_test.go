package httpfetch_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing/fstest"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
)

// Serve a directory on a loopback port and download a file from it,
// verified against its SHA-256.
func Example() {
	dir, err := os.MkdirTemp("", "httpfetch-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	content := strings.Repeat("sockkit ", 1000)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte(content), 0o644)

	srv := &httpfetch.Server{Dir: dir}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()

	sum := sha256.Sum256([]byte(content))
	c := &httpfetch.Client{}
	dest := filepath.Join(dir, "copy.txt")
	res, err := c.Download(context.Background(), httpfetch.Request{
		URL:    "http://" + l.Addr().String() + "/notes.txt",
		Dest:   dest,
		SHA256: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("downloaded", res.Size, "bytes in", res.Parts, "stream, sha256 verified:", res.SHA256 != "")

	c.CloseIdleConnections()
	srv.Shutdown(context.Background())
	fmt.Println("Serve returned:", <-done)
	// Output:
	// downloaded 8000 bytes in 1 stream, sha256 verified: true
	// Serve returned: httpfetch: server closed
}

// With neither Dir nor FS, the server answers the "Hello World" page of
// the tutorials, at every path.
func ExampleServer_hello() {
	srv := &httpfetch.Server{}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	var page strings.Builder
	c := &httpfetch.Client{}
	defer c.CloseIdleConnections()
	if _, err := c.FetchTo(context.Background(), "http://"+l.Addr().String()+"/any/path", &page); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Contains(page.String(), "<h1>Hello World</h1>"))
	// Output: true
}

// Errors say what went wrong, and unwrap to a sentinel.
func ExampleStatusError() {
	srv := &httpfetch.Server{FS: fstest.MapFS{}} // no files at all
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	c := &httpfetch.Client{}
	defer c.CloseIdleConnections()
	_, err := c.FetchTo(context.Background(), "http://"+l.Addr().String()+"/missing", io.Discard)
	var se *httpfetch.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.StatusCode, se.Temporary())
	}
	// Output: 404 false
}

// OnRetry shows each retry as it comes; a refused connection is not
// retried unless RetryRefused says so.
func ExampleClient_OnRetry() {
	busy := true
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if busy {
			busy = false
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "hello")
	}))
	defer ts.Close()

	c := &httpfetch.Client{
		RetryWait: time.Millisecond,
		OnRetry: func(r httpfetch.Retry) {
			var se *httpfetch.StatusError
			if errors.As(r.Err, &se) {
				fmt.Printf("%s, retry %d of %d\n", se.Status, r.Attempt, r.Max)
			}
		},
	}
	defer c.CloseIdleConnections()
	var out strings.Builder
	if _, err := c.FetchTo(context.Background(), ts.URL+"/greeting", &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.String())

	l, _ := net.Listen("tcp", "127.0.0.1:0")
	l.Close() // nothing listens there now
	_, err := c.FetchTo(context.Background(), "http://"+l.Addr().String()+"/", io.Discard)
	fmt.Println("refused:", errors.Is(err, syscall.ECONNREFUSED))
	// Output:
	// 503 Service Unavailable, retry 1 of 5
	// hello
	// refused: true
}
