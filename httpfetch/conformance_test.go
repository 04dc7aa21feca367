package httpfetch_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/servertest"
)

// helloData is the file that sessions fetch.
var helloData = []byte("hello, conformance\n")

// conformanceFiles is what the servers of TestConformance serve: a small
// file for sessions and one larger than every socket buffer between a
// client and the server (32 MiB), which a client that does not read
// leaves the server stuck writing. It is made once, when first needed.
var conformanceFiles = sync.OnceValue(func() fstest.MapFS {
	return fstest.MapFS{
		"hello.txt": {Data: helloData},
		"big.bin":   {Data: bytes.Repeat([]byte("0123456789abcdef"), (32<<20)/16)},
	}
})

// TestConformance runs the lifecycle contract that every sockkit server
// meets (internal/servertest) against Serve.
func TestConformance(t *testing.T) {
	servertest.RunStream(t, servertest.Stream[*httpfetch.Server]{
		Name:            "httpfetch",
		New:             func(testing.TB) *httpfetch.Server { return &httpfetch.Server{FS: conformanceFiles()} },
		ErrServerClosed: httpfetch.ErrServerClosed,
		Session:         getHello,
		Hold:            keepAlive,
		Stuck:           unreadDownload,
		BadSettings: []servertest.BadSetting[*httpfetch.Server]{
			{Field: "ReadHeaderTimeout", Set: func(s *httpfetch.Server) { s.ReadHeaderTimeout = -1 }},
			{Field: "IdleTimeout", Set: func(s *httpfetch.Server) { s.IdleTimeout = -1 }},
			{Field: "WriteTimeout", Set: func(s *httpfetch.Server) { s.WriteTimeout = -1 }},
			{Field: "MaxHeaderBytes", Set: func(s *httpfetch.Server) { s.MaxHeaderBytes = -1 }},
		},
	})
}

// getHello is one GET of hello.txt with the package's client, which does
// not retry: a refusal (503) fails the session.
func getHello(ctx context.Context, dial servertest.DialFunc, addr string) error {
	c := &httpfetch.Client{Dial: dial, Retries: -1}
	defer c.CloseIdleConnections()
	var got bytes.Buffer
	if _, err := c.FetchTo(ctx, "http://"+addr+"/hello.txt", &got); err != nil {
		return err
	}
	if !bytes.Equal(got.Bytes(), helloData) {
		return fmt.Errorf("got %q; want %q", got.Bytes(), helloData)
	}
	return nil
}

// request sends a GET of path on a raw connection and reads the status
// line and headers of the response.
func request(ctx context.Context, dial servertest.DialFunc, addr, path string) (net.Conn, *http.Response, error) {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: conformance\r\n\r\n"); err != nil {
		c.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 16), nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		c.Close()
		return nil, nil, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return c, resp, nil
}

// keepAlive makes one request on a raw connection, reads the response to
// its end, and leaves the connection idle, kept alive.
func keepAlive(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, resp, err := request(ctx, dial, addr, "/hello.txt")
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		c.Close()
		return nil, err
	}
	resp.Body.Close()
	if resp.Close {
		c.Close()
		return nil, fmt.Errorf("the server did not keep the connection alive")
	}
	return c, nil
}

// unreadDownload asks for big.bin and, once its headers have come, reads
// no more: the server is left writing a response nobody reads.
func unreadDownload(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, _, err := request(ctx, dial, addr, "/big.bin")
	return c, err
}
