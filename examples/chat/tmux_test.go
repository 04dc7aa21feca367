//go:build unix

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/chat"
	"go.uber.org/goleak"
)

// childEnv, when set, makes the test binary run the program itself, with
// the arguments that follow "--", so that a test can run it in a real
// terminal.
const childEnv = "CHAT_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		for i, a := range os.Args {
			if a == "--" {
				os.Args = append([]string{"chat"}, os.Args[i+1:]...)
				break
			}
		}
		main()
		os.Exit(0)
	}
	// No goroutine of a test may outlive it (checked once, at the end, so
	// that the tests can run in parallel).
	goleak.VerifyTestMain(m)
}

// TestJoinInTerminal runs join in a real terminal (a tmux pane), as a
// person would: half a line typed survives a message coming in, which
// shows above it, coloured; the line, once finished, is sent whole; the
// up arrow brings it back; Ctrl-D leaves.
func TestJoinInTerminal(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (Debian package tmux)")
	}
	addr, stop := startServe(t)
	defer stop()
	bob, err := chat.Dial(context.Background(), addr, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()

	sock := fmt.Sprintf("sockkit-chat-join-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tmux", append([]string{"-u", "-L", sock, "-f", "/dev/null"}, args...)...)
		cmd.Env = append(os.Environ(), "LANG=C.UTF-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// The program is this test binary, run as main (see TestMain), with
	// TERM as tmux sets it and NO_COLOR unset.
	cmd := fmt.Sprintf("env -u NO_COLOR %s=1 '%s' -test.run='^$' -- join -addr %s -nick ann; echo exit status $?; "+
		"stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon; sleep 60",
		childEnv, strings.ReplaceAll(os.Args[0], "'", `'\''`), addr)
	tmux("new-session", "-d", "-s", "join", "-x", "100", "-y", "30", cmd)
	defer exec.Command("tmux", "-L", sock, "kill-server").Run()
	pane := func(args ...string) string {
		out := tmux(append([]string{"capture-pane", "-p", "-J", "-t", "join", "-S", "-100"}, args...)...)
		return regexp.MustCompile(`(?m)[ \t]+$`).ReplaceAllString(out, "") // tmux pads lines
	}
	waitPane := func(re string, args ...string) {
		t.Helper()
		r := regexp.MustCompile(re)
		for deadline := time.Now().Add(10 * time.Second); !r.MatchString(pane(args...)); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the pane:\n%s", re, pane(args...))
			}
		}
	}
	keys := func(k ...string) { t.Helper(); tmux(append([]string{"send-keys", "-t", "join"}, k...)...) }
	// fromAnn waits until bob has ann's message text.
	fromAnn := func(text string) {
		t.Helper()
		timer := time.NewTimer(10 * time.Second)
		defer timer.Stop()
		for {
			select {
			case e, ok := <-bob.Events():
				if !ok {
					t.Fatalf("bob's session ended before ann's %q: %v", text, bob.Err())
				}
				if e.Kind == chat.KindMessage && e.Nick == "ann" {
					if e.Text != text {
						t.Fatalf("bob got %q from ann, want %q", e.Text, text)
					}
					return
				}
			case <-timer.C:
				t.Fatalf("bob never got %q from ann; the pane:\n%s", text, pane())
			}
		}
	}

	waitPane(`(?m)^-- ann joined lobby\n>$`)
	keys("-l", "half a li")
	waitPane(`(?m)^> half a li$`)
	if err := bob.Send(context.Background(), "hello from bob"); err != nil {
		t.Fatal(err)
	}
	// The message is above the line, which is still there, whole.
	waitPane(`(?m)^\[lobby\] <bob> hello from bob\n> half a li$`)
	// With its escape sequences, the name has a colour of its own.
	waitPane(`\x1b\[[0-9;]+mbob\x1b\[[0-9;]*m> hello from bob`, "-e")

	keys("-l", "ne")
	keys("Enter")
	fromAnn("half a line")
	waitPane(`(?m)^\[lobby\] <ann> half a line\n>$`)

	// The up arrow recalls the last line; Enter sends it again.
	keys("Up")
	waitPane(`(?m)^\[lobby\] <ann> half a line\n> half a line$`)
	keys("Enter")
	fromAnn("half a line")

	// Ctrl-D on the empty line leaves, and the terminal is given back in
	// its line mode, on a clean line.
	keys("C-d")
	waitPane(`(?m)^-- disconnected: goodbye \(quit\)\nexit status 0\nicanon$`)
}
