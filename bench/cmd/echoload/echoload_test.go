package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
)

// testServer is a goroutine-per-connection echo for TCP and UDP on one
// loopback port. corrupt, if set, flips one byte of everything it sends
// back, to check that the load tool notices.
type testServer struct {
	l     net.Listener
	pc    net.PacketConn
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// startServer starts a testServer and returns its address and a func that
// waits (up to 10 s) until it holds no connection.
func startServer(t *testing.T, corrupt bool) (string, func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	s := &testServer{l: l, pc: pc, conns: map[net.Conn]bool{}}
	s.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Go(func() {
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					c.Close()
				}()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if corrupt {
							buf[n/2] ^= 1
						}
						if _, err := c.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	s.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if corrupt {
				buf[n/2] ^= 1
			}
			pc.WriteTo(buf[:n], from)
		}
	})
	t.Cleanup(func() {
		l.Close()
		pc.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	idle := func() {
		for range 1000 {
			s.mu.Lock()
			n := len(s.conns)
			s.mu.Unlock()
			if n == 0 {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return l.Addr().String(), idle
}

// figures parses the tool's output into name -> value.
func figures(t *testing.T, out string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad output line %q", line)
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		m[f[0]] = v
	}
	return m
}

func TestModes(t *testing.T) {
	addr, idle := startServer(t, false)
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name     string
		args     []string
		positive []string // figures that must be > 0
		present  []string // figures that must be there
	}{
		{
			name:     "stream",
			args:     []string{"-mode", "stream", "-sizes", "64,16384,65536", "-conns", "1,4"},
			positive: []string{"stream/64B/c1", "stream/16KiB/c1", "stream/64KiB/c1", "stream/64B/c4", "stream/16KiB/c4", "stream/64KiB/c4"},
		},
		{
			name:     "rtt",
			args:     []string{"-mode", "rtt", "-conns", "1,10", "-pid", pid},
			positive: []string{"rtt/c1/rps", "rtt/c1/p50", "rtt/c1/p99", "rtt/c10/rps", "rtt/c10/p50", "rtt/c10/p99"},
			present:  []string{"rtt/c1/cpu", "rtt/c10/cpu"},
		},
		{
			name:     "udp",
			args:     []string{"-mode", "udp", "-conns", "3"},
			positive: []string{"udp/s3/rps"},
			present:  []string{"udp/s3/lost"},
		},
		{
			name:     "hold",
			args:     []string{"-mode", "hold", "-conns", "50", "-pid", pid, "-settle", "10ms"},
			positive: []string{"hold/c50/rss_before", "hold/c50/rss_after"},
			present:  []string{"hold/c50/per_conn"},
		},
		{
			name:    "hold touched",
			args:    []string{"-mode", "hold", "-conns", "20", "-touch", "-pid", pid, "-settle", "10ms"},
			present: []string{"hold_touched/c20/per_conn"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idle() // so that the hold mode counts only its own descriptors
			var out, errb bytes.Buffer
			args := append([]string{"-addr", addr, "-dur", "150ms", "-timeout", "30s"}, tt.args...)
			if err := run(context.Background(), args, &out, &errb); err != nil {
				t.Fatalf("run %v: %v\nstderr: %s", args, err, errb.String())
			}
			got := figures(t, out.String())
			for _, name := range tt.positive {
				if got[name] <= 0 {
					t.Errorf("figure %s = %v, want > 0\noutput:\n%s", name, got[name], out.String())
				}
			}
			for _, name := range tt.present {
				if _, ok := got[name]; !ok {
					t.Errorf("figure %s missing\noutput:\n%s", name, out.String())
				}
			}
			if want := len(tt.positive) + len(tt.present); tt.name != "hold" && tt.name != "hold touched" && len(got) != want {
				t.Errorf("got %d figures, want %d:\n%s", len(got), want, out.String())
			}
		})
	}
}

func TestWrongEchoIsAnError(t *testing.T) {
	addr, _ := startServer(t, true)
	for _, mode := range []string{"stream", "rtt", "udp"} {
		t.Run(mode, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := []string{"-addr", addr, "-mode", mode, "-conns", "1", "-sizes", "1024", "-dur", "100ms", "-drain", "1s", "-timeout", "20s"}
			err := run(context.Background(), args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), "wrong") {
				t.Fatalf("run against a corrupting server: err = %v, want one about wrong bytes; output:\n%s", err, out.String())
			}
		})
	}
}

func TestNoServerIsAnError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var out, errb bytes.Buffer
	err = run(context.Background(), []string{"-addr", addr, "-mode", "rtt", "-conns", "1", "-dur", "50ms"}, &out, &errb)
	if err == nil {
		t.Fatal("run with no server: no error")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "nope"},
		{"-sizes", "x"},
		{"-conns", "0"},
		{"-mode", "rtt", "-sizes", "4"},
		{"-dur", "-1s"},
		{"extra"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &out, &errb)
		if !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run %q: err = %v, want cli.ErrUsage", args, err)
		}
		if errb.Len() == 0 {
			t.Errorf("run %q: nothing on stderr", args)
		}
	}
}
