//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The server in a real terminal (a tmux pane): its standard input is a
// terminal, so the console is on without -console and names are
// coloured; the operator types the answer that the tutorial's client
// waits for, and Ctrl-D stops the server.
func TestServeInTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (Debian package tmux)")
	}
	sock := fmt.Sprintf("sockkit-udpcolor-test-%d", os.Getpid())
	tmux := func(args ...string) (string, error) {
		cmd := exec.Command("tmux", append([]string{"-u", "-L", sock, "-f", "/dev/null"}, args...)...)
		cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, err := tmux(args...)
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return out
	}
	// The program is this test binary, run as main (see TestMain), with
	// TERM as tmux sets it and NO_COLOR unset.
	cmd := fmt.Sprintf("env -u NO_COLOR %s=1 '%s' -test.run='^$' -- serve -addr 127.0.0.1:0; echo exit status $?; sleep 60",
		childEnv, strings.ReplaceAll(os.Args[0], "'", `'\''`))
	must("new-session", "-d", "-s", "udpcolor", "-x", "160", "-y", "50", cmd)
	t.Cleanup(func() { tmux("kill-server") })
	pane := func() string { return must("capture-pane", "-p", "-J", "-t", "udpcolor", "-S", "-100") }
	waitPane := func(re string) []string {
		t.Helper()
		r := regexp.MustCompile(re)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if m := r.FindStringSubmatch(pane()); m != nil {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the pane:\n%s", re, pane())
			}
		}
	}
	addr := waitPane(`serving on (\S+)`)[1]
	waitPane(`console on`)

	alex := dialTutorial(t, addr)
	alex.send("alex : 我要退学")
	waitPane(`alex : 我要退学`)
	// With its escape sequences, the name has a colour of its own.
	colored := must("capture-pane", "-p", "-e", "-J", "-t", "udpcolor", "-S", "-100")
	if !regexp.MustCompile(`\x1b\[[0-9;]+malex\x1b\[[0-9;]*m : 我要退学`).MatchString(colored) {
		t.Errorf("alex is not coloured in the pane:\n%q", colored)
	}

	must("send-keys", "-t", "udpcolor", "-l", "好好学习")
	must("send-keys", "-t", "udpcolor", "Enter")
	if got := alex.recv(); got != "server : 好好学习" {
		t.Errorf("the tutorial's client got %q, want the operator's line", got)
	}
	waitPane(`server : 好好学习`)

	// Ctrl-D: end of the console's input stops the server, which exits
	// with status 0.
	must("send-keys", "-t", "udpcolor", "C-d")
	waitPane(`exit status 0`)
}
