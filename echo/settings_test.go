package echo

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Every numeric setting, on both Serve and ServePacket: zero is the
// default, -1 is "no limit" only where the doc says so, anything out of
// range is an error naming the field, and nothing panics.
func TestSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(s *Server, v int)
		bad  map[int]bool // values that must make Serve fail
	}{
		{"MaxConns", func(s *Server, v int) { s.MaxConns = v }, nil},
		{"MaxConnsPerSource", func(s *Server, v int) { s.MaxConnsPerSource = v }, nil},
		{"IdleTimeout", func(s *Server, v int) { s.IdleTimeout = time.Duration(v) }, nil},
		{"WriteTimeout", func(s *Server, v int) { s.WriteTimeout = time.Duration(v) }, nil},
		{"BufferSize", func(s *Server, v int) { s.BufferSize = v }, map[int]bool{-1: true, 1 << 40: true}},
		{"MaxDatagram", func(s *Server, v int) { s.MaxDatagram = v }, map[int]bool{-1: true, 1 << 40: true}},
		{"PacketsPerSecond", func(s *Server, v int) { s.PacketsPerSecond = float64(v) }, nil},
		{"PacketBurst", func(s *Server, v int) { s.PacketBurst = v }, map[int]bool{-1: true}},
		{"MaxSources", func(s *Server, v int) { s.MaxSources = v }, map[int]bool{-1: true}},
		{"ShutdownTimeout", func(s *Server, v int) { s.ShutdownTimeout = time.Duration(v) }, map[int]bool{-1: true}},
	}
	for _, tt := range tests {
		for _, v := range []int{-1, 0, 1, 1 << 40} {
			t.Run(fmt.Sprintf("%s=%d", tt.name, v), func(t *testing.T) {
				s := &Server{}
				tt.set(s, v)
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 2)
				go func() { errc <- s.Serve(context.Background(), l) }()
				go func() { errc <- s.ServePacket(context.Background(), pc) }()
				if tt.bad[v] {
					for range 2 {
						if err := <-errc; err == nil || err == ErrServerClosed || !strings.HasPrefix(err.Error(), "echo: "+tt.name+" ") {
							t.Fatalf("Serve = %v, want an error naming %s", err, tt.name)
						}
					}
					return
				}
				// The server works with the setting: one TCP round trip
				// (but for a 1 ns idle timeout, which rightly closes the
				// connection first).
				if !(tt.name == "IdleTimeout" && v == 1) {
					c, err := net.Dial("tcp", l.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					c.Write([]byte("x"))
					c.SetReadDeadline(time.Now().Add(10 * time.Second))
					if _, err := c.Read(make([]byte, 1)); err != nil {
						t.Fatalf("round trip: %v", err)
					}
					c.Close()
				}
				s.Close()
				for range 2 {
					if err := <-errc; err != ErrServerClosed {
						t.Fatalf("Serve = %v, want it to run", err)
					}
				}
			})
		}
	}
}
