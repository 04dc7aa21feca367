package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"regexp"
	"strconv"
	"testing"

	"github.com/sockkit/sockkit/internal/cli"

	"time"
)

// startServer runs a minimal NTP responder (the bench module does not
// depend on package timesync's dependencies): it answers client requests
// with mode 4 and the request's transmit timestamp as origin, and every
// request after the first burst with a Kiss-o'-Death.
func startServer(t *testing.T, burst int) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 512)
		for n := 0; ; n++ {
			m, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if m < 48 || buf[0]&7 != 3 {
				continue
			}
			reply := make([]byte, 48)
			reply[0] = 0x24
			reply[1] = 1
			if burst > 0 && n >= burst {
				reply[0], reply[1] = 0xe4, 0
				copy(reply[12:], "RATE")
			}
			copy(reply[24:32], buf[40:48])
			binary.BigEndian.PutUint64(reply[32:], uint64(time.Now().UnixNano()))
			binary.BigEndian.PutUint64(reply[40:], uint64(time.Now().UnixNano()))
			pc.WriteTo(reply, from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-done })
	return pc.LocalAddr().String()
}

var figure = regexp.MustCompile(`(?m)^ntp/(rps|lost|kod) ([0-9]+) req(/s)?$`)

func figures(t *testing.T, out string) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, f := range figure.FindAllStringSubmatch(out, -1) {
		m[f[1]], _ = strconv.Atoi(f[2])
	}
	if len(m) != 3 {
		t.Fatalf("output %q", out)
	}
	return m
}

func TestLoad(t *testing.T) {
	addr := startServer(t, 0)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-addr", addr, "-dur", "200ms", "-socks", "2", "-window", "4"}, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	if f := figures(t, out.String()); f["rps"] == 0 || f["kod"] != 0 {
		t.Errorf("figures %v", f)
	}
}

func TestLoadCountsKissOfDeath(t *testing.T) {
	addr := startServer(t, 1)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-addr", addr, "-dur", "100ms", "-socks", "1", "-window", "4"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if f := figures(t, out.String()); f["kod"] == 0 {
		t.Errorf("figures %v: no Kiss-o'-Death counted", f)
	}
}

func TestUsage(t *testing.T) {
	var out bytes.Buffer
	for _, args := range [][]string{{"-socks", "0"}, {"-dur", "0s"}, {"extra"}, {"-nope"}} {
		if err := run(context.Background(), args, &out, &out); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v", args, err)
		}
	}
}
