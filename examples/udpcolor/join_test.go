package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/cli"
)

// join where nothing listens says what it does, and fails at the first
// attempt naming the cause (the attempts would otherwise last an hour).
func TestJoinNothingListens(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = strings.NewReader("")
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"join", "-addr", addr, "-name", "dan", "-timeout", "1h"}, &out, &errOut)
	if err == nil || !strings.HasPrefix(err.Error(), "nothing listens on "+addr+" (connection refused)") {
		t.Errorf("join: %v", err)
	}
	if want := "udpcolor: joining " + addr + " as dan...\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
}

// join to a host that never answers gives up after -timeout, saying so.
func TestJoinTimeout(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().String()
	var out, errOut bytes.Buffer
	err = run(context.Background(), []string{"join", "-addr", addr, "-name", "dan", "-timeout", "200ms"}, &out, &errOut)
	if err == nil || !strings.HasPrefix(err.Error(), "no answer from "+addr+" within 200ms (-timeout)") {
		t.Errorf("join: %v", err)
	}
	for _, bad := range []string{"0", "-1s"} {
		errOut.Reset()
		err := run(context.Background(), []string{"join", "-name", "dan", "-timeout", bad}, &out, &errOut)
		if !errors.Is(err, cli.ErrUsage) || !strings.Contains(errOut.String(), "-timeout") {
			t.Errorf("-timeout %s: %v, stderr %q", bad, err, errOut.String())
		}
	}
}
