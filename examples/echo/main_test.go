package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/leaktest"
)

// startServe runs "echo serve" in-process and returns its address.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	p := clitest.Start(t, run, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	return clitest.WaitFor(t, &p.Stdout, `serving TCP and UDP on (\S+)`)
}

func TestServeAndSend(t *testing.T) {
	defer leaktest.Check(t)()
	addr := startServe(t)
	upperAddr := startServe(t, "-upper")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"tcp", []string{"-addr", addr, "hello", "world"}, "hello world\n"},
		{"udp", []string{"-addr", addr, "-udp", "over", "udp"}, "over udp\n"},
		{"upper tcp", []string{"-addr", upperAddr, "-upper", "straße"}, "STRASSE\n"},
		{"upper udp", []string{"-addr", upperAddr, "-upper", "-udp", "quiet"}, "QUIET\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := run(context.Background(), append([]string{"send"}, tt.args...), &out, &errOut); err != nil {
				t.Fatalf("send: %v (%s)", err, errOut.String())
			}
			if out.String() != tt.want {
				t.Fatalf("printed %q, want %q", out.String(), tt.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"send"},
		{"send", "-nope", "x"},
		{"serve", "-addr"},
		{"serve", "extra"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v, want a usage error (exit 2)", args, err)
		}
		if errOut.Len() == 0 {
			t.Errorf("run(%q) printed no usage", args)
		}
	}
}

func TestSendFailureIsOneLine(t *testing.T) {
	defer leaktest.Check(t)()
	// Nothing listens on port 1 of loopback: the dial is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"send", "-addr", "127.0.0.1:1", "hi"}, &out, &errOut)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("send to a closed port = %v, want a one-line error", err)
	}
	if errors.Is(err, cli.ErrUsage) {
		t.Fatalf("a network failure was reported as a usage error")
	}
}
