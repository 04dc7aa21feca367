package termcolor

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var n int
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ioctlErr error
	if err := rc.Control(func(fd uintptr) {
		if ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioctlErr == nil {
			n, ioctlErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if ioctlErr != nil {
		t.Fatalf("unlock pty: %v", ioctlErr)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open pty slave: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestIsTerminalPTY(t *testing.T) {
	t.Parallel()
	_, slave := openPTY(t)
	if !IsTerminal(slave) {
		t.Fatal("IsTerminal(pty) = false")
	}
	env := func(vars map[string]string) Env {
		return Env{Getenv: func(k string) string { return vars[k] }}
	}
	tests := []struct {
		name string
		vars map[string]string
		want Depth
	}{
		{"xterm-256color", map[string]string{"TERM": "xterm-256color"}, Colors256},
		{"vt100", map[string]string{"TERM": "vt100"}, Colors16},
		{"NO_COLOR", map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, NoColor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := env(tt.vars).Detect(slave, Auto); got != tt.want {
				t.Errorf("Detect(pty, Auto) = %v, want %v", got, tt.want)
			}
		})
	}
}
