package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// TestBenchConfig checks that the server as configured for the benchmark
// echoes TCP and answers a burst of datagrams from one source far past
// the default per-source rate limit, which would otherwise make the UDP
// figures of bench/echo.sh measure the limiter.
func TestBenchConfig(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, newServer(0, 0), l, pc) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve after cancel: %v", err)
		}
	}()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	msg := bytes.Repeat([]byte("sockkit "), 1000)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("TCP echo: err %v, equal %v", err, bytes.Equal(got, msg))
	}

	u, err := net.Dial("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	const n = 1000 // five times the default burst of one source
	buf := make([]byte, 64)
	for i := range n {
		u.SetDeadline(time.Now().Add(5 * time.Second))
		req := []byte{byte(i), byte(i >> 8), 'x'}
		if _, err := u.Write(req); err != nil {
			t.Fatal(err)
		}
		m, err := u.Read(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i+1, n, err)
		}
		if !bytes.Equal(buf[:m], req) {
			t.Fatalf("datagram %d: got %q, want %q", i+1, buf[:m], req)
		}
	}
}
