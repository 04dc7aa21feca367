package echo

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/leaktest"
)

// fakeServer accepts one connection on a pipe and runs handle on it.
func fakeServer(t *testing.T, handle func(c net.Conn)) *Conn {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer server.Close()
		handle(server)
	}()
	cn := new(Client).NewConn(client, false)
	t.Cleanup(func() {
		cn.Close()
		<-done
	})
	return cn
}

func TestClientManyRoundTripsOneConnection(t *testing.T) {
	defer leaktest.Check(t)()
	s := &Server{}
	addr := serveTCP(t, s)
	cn, err := Dial(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	for _, size := range []int{0, 1, 64, 1024, 32 << 10, 32<<10 + 1, 1 << 20, 4 << 20} {
		msg := randomBytes(size)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		got, err := cn.Echo(ctx, msg)
		cancel()
		if err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("%d bytes: reply differs at %d", size, firstDiff(msg, got))
		}
	}
	if got := s.Stats().ConnsTotal; got != 1 {
		t.Fatalf("server accepted %d connections for one Conn", got)
	}
}

func TestClientReadsExactlyTheReply(t *testing.T) {
	defer leaktest.Check(t)()
	// A server that sends each reply one byte at a time: a single read is
	// never the whole message.
	cn := fakeServer(t, func(c net.Conn) {
		buf := make([]byte, 1024)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for i := 0; i < n; i++ {
				if _, err := c.Write(buf[i : i+1]); err != nil {
					return
				}
			}
		}
	})
	for _, msg := range []string{"first message", "second", "third, longer than the others"} {
		got, err := cn.Echo(context.Background(), []byte(msg))
		if err != nil || string(got) != msg {
			t.Fatalf("Echo(%q) = %q, %v", msg, got, err)
		}
	}
}

func TestClientMismatch(t *testing.T) {
	defer leaktest.Check(t)()
	addr := serveTCP(t, &Server{Transform: Upper})
	cn, err := Dial(context.Background(), "tcp", addr) // no Transform: expects "abc"
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	got, err := cn.Echo(context.Background(), []byte("abc"))
	var me *MismatchError
	if !errors.As(err, &me) || string(got) != "ABC" || string(me.Want) != "abc" {
		t.Fatalf("Echo = %q, %v; want ABC and a MismatchError", got, err)
	}
}

func TestClientContextBreaksConn(t *testing.T) {
	defer leaktest.Check(t)()
	// A server that reads and never answers.
	cn := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := cn.Echo(ctx, []byte("anyone?"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Echo = %v, want deadline exceeded", err)
	}
	_, err = cn.Echo(context.Background(), []byte("again"))
	if !errors.Is(err, ErrBroken) {
		t.Fatalf("Echo after interrupted round trip = %v, want ErrBroken", err)
	}

	cn2 := fakeServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel2)
	if _, err := cn2.Echo(ctx2, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Echo = %v, want canceled", err)
	}
}

func TestClientUDPRetriesAndMatching(t *testing.T) {
	defer leaktest.Check(t)()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	// Drops the first datagram of every pair, and answers the second
	// with a stray datagram first, then the echo.
	go func() {
		defer close(done)
		buf := make([]byte, 2048)
		for i := 0; ; i++ {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if i%2 == 0 {
				continue
			}
			pc.WriteTo([]byte("stray"), from)
			pc.WriteTo(buf[:n], from)
		}
	}()
	defer func() { pc.Close(); <-done }()
	cl := &Client{Timeout: 100 * time.Millisecond}
	cn, err := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	for _, msg := range []string{"one", "two", "three"} {
		got, err := cn.Echo(context.Background(), []byte(msg))
		if err != nil || string(got) != msg {
			t.Fatalf("Echo(%q) = %q, %v", msg, got, err)
		}
	}
}

func TestClientUDPTimeout(t *testing.T) {
	defer leaktest.Check(t)()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	cl := &Client{Timeout: 30 * time.Millisecond, Retries: 3}
	cn, err := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cn.Close()
	_, err = cn.Echo(context.Background(), []byte("hello?"))
	var te *TimeoutError
	if !errors.As(err, &te) || te.Attempts != 4 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Echo = %v, want TimeoutError after 4 attempts", err)
	}
	// The context's deadline wins over the attempts.
	cl.Timeout = time.Hour
	cn2, _ := cl.Connect(context.Background(), "udp", pc.LocalAddr().String())
	defer cn2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cn2.Echo(ctx, []byte("x")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Echo = %v, want the context's deadline", err)
	}
	if _, err := cl.Connect(context.Background(), "sctp", "x"); err == nil {
		t.Fatal("Connect accepted an unsupported network")
	}
}
