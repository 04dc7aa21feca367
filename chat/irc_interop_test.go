package chat

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The interop tests put a real IRC client (ii, irssi) in a room with a
// real nc (netcat-openbsd) and a Go [Conn], and check that each sees
// what the others do.

// ncUser is nc connected to the plain port, fed by the test.
type ncUser struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
}

func startNC(t *testing.T, addr, nick string) *ncUser {
	t.Helper()
	nc, err := exec.LookPath("nc")
	if err != nil {
		t.Skip("nc not installed (Debian package netcat-openbsd)")
	}
	host, port, _ := net.SplitHostPort(addr)
	return startPeer(t, exec.Command(nc, host, port), nick)
}

// startPeer starts cmd, a program that connects to the plain dialect
// and passes lines both ways between its stdin and stdout as nc does,
// and takes nick with it.
func startPeer(t *testing.T, cmd *exec.Cmd, nick string) *ncUser {
	t.Helper()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &ncUser{t: t, stdin: stdin, lines: make(chan string, 256)}
	go func() {
		defer close(u.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			u.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	u.send(nick)
	u.until("JOIN lobby " + nick)
	return u
}

func (u *ncUser) send(line string) {
	u.t.Helper()
	if _, err := io.WriteString(u.stdin, line+"\n"); err != nil {
		u.t.Fatalf("nc: %v", err)
	}
}

// until waits for the line want and returns the lines before it.
func (u *ncUser) until(want string) []string {
	u.t.Helper()
	var seen []string
	timeout := time.After(hang)
	for {
		select {
		case l, ok := <-u.lines:
			if !ok {
				u.t.Fatalf("nc ended before %q; saw %q", want, seen)
			}
			if l == want {
				return seen
			}
			seen = append(seen, l)
		case <-timeout:
			u.t.Fatalf("nc never got %q; saw %q", want, seen)
		}
	}
}

// goUser is a [Conn] whose events the test waits for.
type goUser struct {
	t *testing.T
	c *Conn
}

func dialGo(t *testing.T, addr, nick string) *goUser {
	t.Helper()
	c, err := Dial(context.Background(), addr, nick)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &goUser{t, c}
}

func (g *goUser) until(want Event) {
	g.t.Helper()
	timeout := time.After(hang)
	for {
		select {
		case e, ok := <-g.c.Events():
			if !ok {
				g.t.Fatalf("the Go client's session ended before %+v: %v", want, g.c.Err())
			}
			if e == want {
				return
			}
		case <-timeout:
			g.t.Fatalf("the Go client never got %+v", want)
		}
	}
}

// waitFor polls what read returns until it contains want.
func waitFor(t *testing.T, what string, read func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for {
		got := read()
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q; it shows:\n%s", what, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// room skips the test unless the programs it needs are installed (each
// named with its Debian package), and starts a server with ncuser on nc
// and gopher on a Conn in its lobby.
func room(t *testing.T, needs map[string]string) (plain, irc string, nc *ncUser, gopher *goUser) {
	t.Helper()
	for bin, pkg := range needs {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (Debian package %s)", bin, pkg)
		}
	}
	plain, irc, stop := startBoth(t, &Server{})
	t.Cleanup(stop)
	nc = startNC(t, plain, "ncuser")
	gopher = dialGo(t, plain, "gopher")
	nc.until("JOIN lobby gopher")
	return plain, irc, nc, gopher
}

func TestIRCWithII(t *testing.T) {
	t.Parallel()
	_, irc, nc, gopher := room(t, map[string]string{"ii": "ii"})

	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(irc)
	cmd := exec.Command("ii", "-s", host, "-p", port, "-n", "iiuser", "-f", "ii user", "-i", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	srv := filepath.Join(dir, host)
	file := func(parts ...string) func() string {
		return func() string {
			b, _ := os.ReadFile(filepath.Join(append([]string{srv}, parts...)...))
			return string(b)
		}
	}
	// write writes a line to one of ii's FIFOs; O_NONBLOCK makes it fail
	// rather than wait if ii is not reading it.
	write := func(line string, parts ...string) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(append([]string{srv}, parts...)...), os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Fatalf("ii's input: %v", err)
		}
		defer f.Close()
		if _, err := io.WriteString(f, line+"\n"); err != nil {
			t.Fatalf("ii's input: %v", err)
		}
	}

	// ii registers and is put in #lobby, where ncuser and gopher are.
	lobby := file("#lobby", "out")
	waitFor(t, "ii's #lobby", lobby, "iiuser(iiuser@sockkit) has joined #lobby")
	nc.until("JOIN lobby iiuser")
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: "iiuser"})
	waitFor(t, "ii's server window", file("out"), "= #lobby gopher iiuser ncuser")

	nc.send("hello from nc")
	waitFor(t, "ii's #lobby", lobby, "<ncuser> hello from nc")
	if err := gopher.c.Command(context.Background(), "me", "waves"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ii's #lobby", lobby, "<gopher> \x01ACTION waves\x01") // ii shows CTCP as it comes

	write("hi from ii", "#lobby", "in")
	nc.until("MSG lobby iiuser hi from ii")
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "iiuser", Text: "hi from ii"})

	// Private messages, both ways.
	nc.send("/msg iiuser psst")
	waitFor(t, "ii's query with ncuser", file("ncuser", "out"), "<ncuser> psst")
	write("/j gopher private hi", "in")
	gopher.until(Event{Kind: KindPrivate, Nick: "iiuser", Target: "gopher", Text: "private hi"})

	// A nickname change, a raw command, and leaving.
	write("/n iinew", "in")
	nc.until("NICK lobby iiuser iinew")
	write("/LIST", "in")
	waitFor(t, "ii's server window", file("out"), "#lobby 3")
	write("/q gone", "in")
	nc.until("QUIT lobby iinew gone")
	gopher.until(Event{Kind: KindQuit, Room: "lobby", Nick: "iinew", Text: "gone"})
	if err := cmd.Wait(); err != nil {
		t.Logf("ii ended with %v", err)
	}
}

func TestIRCWithIrssi(t *testing.T) {
	t.Parallel()
	plain, _, nc, gopher := room(t, map[string]string{"irssi": "irssi", "tmux": "tmux"})

	// irssi in a tmux of its own (-L: its own server socket), with its
	// own home, and without its client-side flood delay, so that what
	// is typed goes out at once.
	home := t.TempDir()
	config := `settings = {
  core = { real_name = "Irssi User"; user_name = "irssiuser"; nick = "irssiuser"; };
  "irc/core" = { cmd_queue_speed = "0msec"; cmds_max_at_once = "100"; };
};
`
	if err := os.WriteFile(filepath.Join(home, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	sock := fmt.Sprintf("sockkit-irc-test-%d", os.Getpid())
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
	host, port, _ := net.SplitHostPort(plain) // the port both dialects share
	tmux("new-session", "-d", "-s", "irc", "-x", "160", "-y", "50",
		"irssi --home="+home+" -c "+host+" -p "+port+" -n irssiuser")
	defer exec.Command("tmux", "-L", sock, "kill-server").Run()
	pane := func() string { return tmux("capture-pane", "-p", "-J", "-t", "irc", "-S", "-200") }
	keys := func(text string) {
		t.Helper()
		tmux("send-keys", "-t", "irc", "-l", text)
		tmux("send-keys", "-t", "irc", "Enter")
	}

	nc.until("JOIN lobby irssiuser")
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: "irssiuser"})
	keys("/window goto #lobby")
	waitFor(t, "irssi", pane, "Total of 3 nicks")

	nc.send("hello irssi")
	waitFor(t, "irssi", pane, "ncuser> hello irssi")
	if err := gopher.c.Command(context.Background(), "me", "waves"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "irssi", pane, "* gopher waves")

	keys("hi from irssi")
	nc.until("MSG lobby irssiuser hi from irssi")
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "irssiuser", Text: "hi from irssi"})
	keys("/me dances")
	nc.until("ME lobby irssiuser dances")
	gopher.until(Event{Kind: KindAction, Room: "lobby", Nick: "irssiuser", Text: "dances"})

	// Private messages, both ways.
	nc.send("/msg irssiuser psst")
	keys("/window goto ncuser")
	waitFor(t, "irssi", pane, "ncuser> psst")
	keys("/msg gopher private hi")
	gopher.until(Event{Kind: KindPrivate, Nick: "irssiuser", Target: "gopher", Text: "private hi"})

	// Others' nickname changes and leaving, then irssi's own.
	keys("/window goto #lobby")
	nc.send("/nick ncnew")
	waitFor(t, "irssi", pane, "ncuser is now known as ncnew")
	keys("/nick irssinew")
	gopher.until(Event{Kind: KindNick, Room: "lobby", Nick: "irssiuser", Target: "irssinew"})
	keys("/quit gone")
	nc.until("QUIT lobby irssinew gone")
	gopher.until(Event{Kind: KindQuit, Room: "lobby", Nick: "irssinew", Text: "gone"})
}
