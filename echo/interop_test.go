package echo

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// peer returns the path of a program that nobody here wrote, or skips.
func peer(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s; .ci/run installs it)", name, debianPackage)
	}
	return path
}

// runPeer runs a peer program with stdin and returns its stdout.
func runPeer(t *testing.T, stdin string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\nstderr: %s", name, args, err, errOut.String())
	}
	return out.String()
}

func TestInteropSocat(t *testing.T) {
	t.Parallel()
	socat := peer(t, "socat", "socat")
	s := &Server{Transform: Upper}
	tcp, udp := serveTCP(t, s), serveUDP(t, s)
	input := strings.Repeat("hello from socat, ünïcode too\n", 2000)
	if got := runPeer(t, input, socat, "-t", "5", "-", "TCP:"+tcp); got != strings.ToUpper(input) {
		t.Fatalf("socat TCP got %d bytes back, want %d (upper-cased)", len(got), len(input))
	}
	if got := runPeer(t, "datagram", socat, "-T", "2", "-", "UDP:"+udp); got != "DATAGRAM" {
		t.Fatalf("socat UDP got %q", got)
	}
}

func TestInteropNetcat(t *testing.T) {
	t.Parallel()
	nc := peer(t, "nc", "netcat-openbsd")
	s := &Server{}
	tcp, udp := serveTCP(t, s), serveUDP(t, s)
	host, port := splitHostPort(t, tcp)
	input := strings.Repeat("line of text for netcat\n", 5000)
	// -N: shut the socket down on end of input, then read until the server closes.
	if got := runPeer(t, input, nc, "-N", "-w", "5", host, port); got != input {
		t.Fatalf("nc TCP got %d bytes back, want %d", len(got), len(input))
	}
	host, port = splitHostPort(t, udp)
	if got := runPeer(t, "ping\n", nc, "-u", "-w", "1", host, port); got != "ping\n" {
		t.Fatalf("nc UDP got %q", got)
	}
}

func splitHostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}
