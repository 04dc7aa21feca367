package echo

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// readAll reads c to its end, failing the test after 10 s.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read %q, then %v", b, err)
	}
	return string(b)
}

func TestGreeting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		greeting string
		want     string
		send     int // bytes the client sends before it reads
	}{
		{"Welcome to sockkit", "Welcome to sockkit\n", 0},
		{"ends with its line feed\n", "ends with its line feed\n", 0},
		{"two\nlines", "two\nlines\n", 0},
		// The server never reads these; without its lingering close the
		// kernel would answer the close with a reset, and the client could
		// lose the greeting.
		{"you talk too much", "you talk too much\n", 32 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.greeting, func(t *testing.T) {
			s := &Server{Greeting: tt.greeting, Transform: Upper}
			addr := serveTCP(t, s)
			for range 3 { // client after client
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				if tt.send > 0 {
					if _, err := c.Write(make([]byte, tt.send)); err != nil {
						t.Fatal(err)
					}
				}
				if got := readAll(t, c); got != tt.want {
					t.Fatalf("read %q, want %q", got, tt.want)
				}
				c.Close()
			}
			if st := s.Stats(); st.ConnsTotal != 3 || st.BytesOut != int64(3*len(tt.want)) {
				t.Errorf("Stats: %d connections, %d bytes out; want 3, %d", st.ConnsTotal, st.BytesOut, 3*len(tt.want))
			}
		})
	}
}

func TestGreetingOverTLS(t *testing.T) {
	t.Parallel()
	cert := tlstest.New(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
	if err != nil {
		t.Fatal(err)
	}
	serveOn(t, &Server{Greeting: "hello over TLS"}, l)
	d := &tls.Dialer{Config: &tls.Config{RootCAs: cert.Pool}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The greeting comes whole, and TLS ends cleanly (close_notify), not
	// with an error.
	if got := readAll(t, c); got != "hello over TLS\n" {
		t.Fatalf("read %q", got)
	}
}

func TestGreetingShutdown(t *testing.T) {
	t.Parallel()
	// A client that never closes keeps its connection in the lingering
	// close; Shutdown ends it, and waits for it.
	s := &Server{Greeting: "bye soon"}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(context.Background(), l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := string(readN(t, c, len("bye soon\n"))); got != "bye soon\n" {
		t.Fatalf("read %q", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-errc; err != ErrServerClosed {
		t.Fatalf("Serve = %v", err)
	}
	if st := s.Stats(); st.Conns != 0 {
		t.Fatalf("%d connections open after Shutdown", st.Conns)
	}
	if got := readAll(t, c); got != "" {
		t.Fatalf("read %q after the greeting", got)
	}
}
