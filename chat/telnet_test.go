package chat

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// What telnet mixes into its lines never reaches anyone, never spoils
// the next line, and its questions get a refusal.
func TestTelnetCommands(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()
	alice := login(t, addr, "alice")
	bob := login(t, addr, "bob")
	alice.expect("JOIN lobby bob")

	tests := []struct {
		name, send string
		reply      string // bytes bob gets before the message comes back
		want       string
	}{
		{"ctrl-c, as telnet sends it", "\xff\xf4\xff\xfd\x06hi\r\n", "\xff\xfc\x06", "hi"},
		{"ctrl-c in the middle of a line", "half\xff\xf4\xff\xfd\x06whole\r\n", "\xff\xfc\x06", "whole"},
		{"options offered and asked for", "\xff\xfb\x1f\xff\xfb\x18\xff\xfd\x03\xff\xfe\x01\xff\xfc\x22x\r\n", "\xff\xfe\x1f\xff\xfe\x18\xff\xfc\x03", "x"},
		{"window size, with a newline in it", "\xff\xfa\x1f\x00\x50\x00\x0a\xff\xf0y\r\n", "", "y"},
		{"commands amid UTF-8", "caf\xff\xf1\xc3\xa9\r\n", "", "café"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bob.send(tt.send)
			bob.expect(tt.reply + "MSG lobby bob " + tt.want)
			alice.expect("MSG lobby bob " + tt.want)
		})
	}

	// 0xff is not UTF-8, doubled or not: the line is refused as before.
	bob.send("\xff\xff\r\n")
	bob.expect("ERR bad-utf8 line is not valid UTF-8; dropped")
	// An IRC client does not speak telnet, even on the shared port: its
	// 0xff is invalid UTF-8, and nothing answers it.
	irc := dialRaw(t, addr)
	if l := irc.line(); !strings.HasPrefix(l, "HELLO ") {
		t.Fatalf("first line %q, want HELLO", l)
	}
	irc.irc = true
	irc.send("NICK ivy\r\nUSER ivy 0 * :Ivy\r\n")
	irc.until(num("366", "ivy", "#lobby :End of /NAMES list"))
	irc.send("PRIVMSG #lobby :\xff\xfd\x01\r\n")
	irc.expect(":sockkit FAIL PRIVMSG INVALID_UTF8 :Message rejected: this server takes UTF-8 only")
}

// TestTelnetClient runs the real telnet (Debian package telnet) in a
// tmux (Debian package tmux) pane, as a person would: Ctrl-C in the
// middle of a line does not spoil the next one, and telnet goes on
// showing what the server sends after it (it would not, were its DO
// TIMING-MARK left unanswered).
func TestTelnetClient(t *testing.T) {
	t.Parallel()
	for bin, pkg := range map[string]string{"telnet": "telnet", "tmux": "tmux"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (Debian package %s)", bin, pkg)
		}
	}
	addr, stop := start(t, &Server{QuitWords: []string{"byebye", "q"}})
	defer stop()
	watcher := login(t, addr, "watcher")

	sock := fmt.Sprintf("sockkit-telnet-test-%d", os.Getpid())
	tmux := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("tmux", append([]string{"-L", sock}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	host, port, _ := net.SplitHostPort(addr)
	tmux("new-session", "-d", "-s", "telnet", "-x", "120", "-y", "40", "telnet "+host+" "+port)
	defer exec.Command("tmux", "-L", sock, "kill-server").Run()
	tmux("set-option", "-t", "telnet", "remain-on-exit", "on") // to read the pane after telnet ends
	pane := func() string { return tmux("capture-pane", "-p", "-J", "-t", "telnet", "-S", "-200") }
	keys := func(keys ...string) {
		t.Helper()
		tmux(append([]string{"send-keys", "-t", "telnet"}, keys...)...)
	}

	waitFor(t, "telnet", pane, "HELLO sockkit chat")
	keys("-l", "tina")
	keys("Enter")
	watcher.expect("JOIN lobby tina")
	waitFor(t, "telnet", pane, "JOIN lobby tina")

	// Ctrl-C with half a line typed: telnet's terminal drops the half,
	// and telnet sends IAC IP, IAC DO TIMING-MARK.
	keys("-l", "never sent")
	keys("C-c")
	keys("-l", "after ctrl-c")
	keys("Enter")
	watcher.expect("MSG lobby tina after ctrl-c")
	waitFor(t, "telnet", pane, "MSG lobby tina after ctrl-c")
	watcher.send("still here?\n")
	waitFor(t, "telnet", pane, "MSG lobby watcher still here?")

	// Twice, to be sure every Ctrl-C gets its answer.
	keys("C-c")
	keys("-l", "again")
	keys("Enter")
	watcher.expect("MSG lobby watcher still here?")
	watcher.expect("MSG lobby tina again")
	waitFor(t, "telnet", pane, "MSG lobby tina again")

	keys("-l", "byebye")
	keys("Enter")
	watcher.expect("QUIT lobby tina")
	waitFor(t, "telnet", pane, "BYE quit goodbye")
	waitFor(t, "telnet", pane, "Connection closed by foreign host.")
	if p := pane(); strings.Contains(p, "bad-utf8") || strings.Contains(p, "MSG lobby tina never sent") {
		t.Errorf("telnet shows a refused or discarded line:\n%s", p)
	}
}
