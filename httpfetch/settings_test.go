package httpfetch

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Every numeric setting: zero is the default, -1 is "no limit" only where
// the doc says so, anything out of range is an error naming the field.
func TestSettings(t *testing.T) {
	tests := []struct {
		name string
		set  func(s *Server, v int)
		bad  map[int]bool // values that must make Serve fail
	}{
		{"MaxConns", func(s *Server, v int) { s.MaxConns = v }, nil},
		{"MaxConnsPerSource", func(s *Server, v int) { s.MaxConnsPerSource = v }, nil},
		{"ReadHeaderTimeout", func(s *Server, v int) { s.ReadHeaderTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"IdleTimeout", func(s *Server, v int) { s.IdleTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"WriteTimeout", func(s *Server, v int) { s.WriteTimeout = time.Duration(v) }, map[int]bool{-1: true}},
		{"MaxHeaderBytes", func(s *Server, v int) { s.MaxHeaderBytes = v }, map[int]bool{-1: true, 1 << 40: true}},
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
				errc := make(chan error, 1)
				go func() { errc <- s.Serve(context.Background(), l) }()
				if tt.bad[v] {
					if err := <-errc; err == nil || err == ErrServerClosed || !strings.HasPrefix(err.Error(), "httpfetch: "+tt.name+" ") {
						t.Fatalf("Serve = %v, want an error naming %s", err, tt.name)
					}
					return
				}
				s.Close()
				if err := <-errc; err != ErrServerClosed {
					t.Fatalf("Serve = %v, want it to run", err)
				}
			})
		}
	}
}
