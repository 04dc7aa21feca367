package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoad runs a tiny load against an in-process server: it checks the
// tool works, not how fast anything is.
func TestLoad(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"-inproc", "-load", "5:20", "-stall", "0.2", "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"/sent ", "/delivered ", "/expected ", "/p50 ", "/p99 ", "/kicked ", "/mem_go "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q figure in:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())
}

// TestHold runs the hold against an in-process server, alone and beside
// a tiny load: the figures are there, and no idle client is lost.
func TestHold(t *testing.T) {
	c, err := (&net.Dialer{LocalAddr: &net.TCPAddr{IP: holdSource(0)}}).Dial("tcp", "127.0.0.1:1")
	if err == nil {
		c.Close()
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Skip("cannot dial from", holdSource(0), err)
	}
	for _, load := range []string{"", "5:20"} {
		t.Run("load="+load, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), []string{"-inproc", "-hold", "30", "-hold-room", "7", "-load", load, "-warm", "100ms", "-dur", "300ms"}, nil, &out, &errOut)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			want := []string{"chat/hold30/join_time ", "chat/hold30/mem_rss ", "chat/hold30/goroutines "}
			if load != "" {
				want = append(want, "chat/n5/r20/hold30/delivered ", "chat/n5/r20/hold30/p99 ")
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("no %q figure in:\n%s", w, out.String())
				}
			}
			t.Logf("\n%s", out.String())
		})
	}
}

func TestHistogram(t *testing.T) {
	var h hist
	for us := int64(0); us < 1_000_000; us += 7 {
		b := bucket(us)
		if upper(b) < us || (b > 0 && upper(b-1) >= us) {
			t.Fatalf("%dus in bucket %d [%d, %d]", us, b, upper(b-1)+1, upper(b))
		}
		h[b]++
	}
	if q := h.quantile(0.5); q < 470*time.Millisecond || q > 530*time.Millisecond {
		t.Errorf("median %v, want about 500ms", q)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-load", "x"}, {"-load", "10:0"}, {"-stall", "1"}, {"-nope"}, {"-load", ""}, {"-hold", "-1"}, {"-hold", "5", "-hold-room", "0"}} {
		if err := run(context.Background(), args, nil, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%q) accepted", args)
		}
	}
}
