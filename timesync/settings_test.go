package timesync

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Every numeric setting: zero is the default, -1 is "no limit" only where
// the doc says so, anything out of range is an error naming the field,
// and nothing panics.
func TestSettings(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		set  func(s *Server, v int)
		bad  map[int]bool // values that must make ServePacket fail
	}{
		{"Services", func(s *Server, v int) { s.Services = Services(v) }, map[int]bool{-1: true}}, // Services(-1) is 255, Services(1<<40) is 0
		{"Stratum", func(s *Server, v int) { s.Stratum = uint8(v) }, map[int]bool{-1: true}},      // uint8(-1) is 255
		{"Precision", func(s *Server, v int) { s.Precision = int8(v) }, map[int]bool{1: true}},
		{"RootDelay", func(s *Server, v int) { s.RootDelay = time.Duration(v) }, map[int]bool{-1: true}},
		{"RootDispersion", func(s *Server, v int) { s.RootDispersion = time.Duration(v) }, map[int]bool{-1: true}},
		{"MaxFormat", func(s *Server, v int) { s.MaxFormat = v }, map[int]bool{-1: true, 1 << 40: true}},
		{"MaxDatagram", func(s *Server, v int) { s.MaxDatagram = v }, map[int]bool{-1: true, 1: true, 1 << 40: true}},
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
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				go func() { errc <- s.ServePacket(context.Background(), pc) }()
				if tt.bad[v] {
					if err := <-errc; err == nil || err == ErrServerClosed || !strings.HasPrefix(err.Error(), "timesync: "+tt.name+" ") {
						t.Fatalf("ServePacket = %v, want an error naming %s", err, tt.name)
					}
					return
				}
				s.Close()
				if err := <-errc; err != ErrServerClosed {
					t.Fatalf("ServePacket = %v, want it to run", err)
				}
			})
		}
	}
}
