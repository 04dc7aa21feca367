package udpcolor

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
)

// tutorialClient is the tutorial's client, as it is written: one plain
// datagram, then a blocking recvfrom. The timeout is the test's guard
// against a server that never answers (the tutorial would hang).
const tutorialClient = `
import socket, sys
addr = (sys.argv[1], int(sys.argv[2]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto('alex : 我要退学'.encode(), addr)
data, server = s.recvfrom(1024)
print(data.decode())
`

// The tutorial's Python client against the server: the transcript shows
// its line as the tutorial's server prints it, with alex's colour when
// colour is on, and the client gets its answer: "server : received", or
// the operator's line.
func TestTutorialPythonClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed (Debian package python3)")
	}
	t.Setenv("TERM", "xterm-256color")
	tests := []struct {
		name       string
		color      ColorMode
		operator   bool
		transcript string
		answer     string
	}{
		{"colour", ColorAlways, false, "\x1b[38;5;160malex\x1b[0m : 我要退学\n", "server : received"},
		{"no colour", ColorNever, false, "alex : 我要退学\n", "server : received"},
		{"operator", ColorAlways, true, "\x1b[38;5;160malex\x1b[0m : 我要退学\n\x1b[38;5;33mserver\x1b[0m : 好好学习\n", "server : 好好学习"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var transcript clitest.Buffer
			s := &Server{
				Transcript: &transcript,
				Color:      tt.color,
				Palette:    NewPalette(map[string]Color{"alex": 160, OperatorName: 33}),
				Operator:   tt.operator,
			}
			addr, stop := startUDP(t, s)
			host, port, _ := net.SplitHostPort(addr)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, python, "-c", tutorialClient, host, port)
			cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tt.operator {
				// The operator reads the line, then types the answer.
				waitFor(t, "alex's line", func() bool { return strings.Contains(transcript.String(), "我要退学") })
				if err := s.Say("好好学习"); err != nil {
					t.Fatal(err)
				}
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("python3: %v\n%s", err, stderr.String())
			}
			if got := strings.TrimSuffix(stdout.String(), "\n"); got != tt.answer {
				t.Errorf("the client printed %q, want %q", got, tt.answer)
			}
			stop()
			if got := transcript.String(); got != tt.transcript {
				t.Errorf("transcript %q, want %q", got, tt.transcript)
			}
		})
	}
}
