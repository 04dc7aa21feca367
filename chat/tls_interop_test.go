package chat

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// The TLS interop tests put programs nobody here wrote (openssl
// s_client, socat, irssi, ii through socat) on the TLS ports of a server
// with a test certificate, in a room with a Go client over TLS, and
// check that each checks the certificate and sees what the other says.

// tlsRoomWith skips the test unless the programs it needs are installed
// (each named with its Debian package), and starts a tlsRoom with gopher,
// a Go client over TLS, in its lobby.
func tlsRoomWith(t *testing.T, needs map[string]string) (*tlsRoom, *goUser) {
	t.Helper()
	for bin, pkg := range needs {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (Debian package %s)", bin, pkg)
		}
	}
	r, stop := startTLS(t, &Server{})
	t.Cleanup(stop)
	c, err := r.client().Join(context.Background(), r.plain, "gopher")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	g := &goUser{t, c}
	g.until(Event{Kind: KindJoin, Room: "lobby", Nick: "gopher"})
	return r, g
}

// exchange has the line program u, in the room as nick, and gopher say
// something to each other.
func exchange(t *testing.T, u *ncUser, nick string, gopher *goUser) {
	t.Helper()
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: nick})
	u.send("hello over TLS")
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: nick, Text: "hello over TLS"})
	if err := gopher.c.Say(context.Background(), "hello back"); err != nil {
		t.Fatal(err)
	}
	u.until("MSG lobby gopher hello back")
	u.send("/quit")
	u.until("BYE quit goodbye")
	gopher.until(Event{Kind: KindQuit, Room: "lobby", Nick: nick})
}

func TestTLSWithOpenSSL(t *testing.T) {
	t.Parallel()
	r, gopher := tlsRoomWith(t, map[string]string{"openssl": "openssl"})
	// -quiet also keeps lines that begin with Q or R from being taken as
	// commands; -verify_return_error makes a bad certificate fatal.
	cmd := exec.Command("openssl", "s_client", "-quiet", "-connect", r.plain,
		"-CAfile", r.cert.CertFile, "-verify_return_error", "-verify_ip", "127.0.0.1")
	u := startPeer(t, cmd, "ossl")
	exchange(t, u, "ossl", gopher)
}

func TestTLSWithSocat(t *testing.T) {
	t.Parallel()
	r, gopher := tlsRoomWith(t, map[string]string{"socat": "socat"})
	u := startPeer(t, exec.Command("socat", "-", "OPENSSL:"+r.plain+",cafile="+r.cert.CertFile), "sock")
	exchange(t, u, "sock", gopher)
}

// TestTLSOpenSSLRefuses checks that the certificate is checked at all:
// openssl s_client trusting another CA does not get in.
func TestTLSOpenSSLRefuses(t *testing.T) {
	t.Parallel()
	r, _ := tlsRoomWith(t, map[string]string{"openssl": "openssl"})
	other := tlstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-quiet", "-connect", r.plain,
		"-CAfile", other.CertFile, "-verify_return_error")
	out, err := cmd.CombinedOutput()
	if err == nil || ctx.Err() != nil || strings.Contains(string(out), "HELLO ") {
		t.Fatalf("openssl s_client trusting another CA: %v (%v)\n%s", err, ctx.Err(), out)
	}
}

func TestTLSWithIrssi(t *testing.T) {
	t.Parallel()
	r, gopher := tlsRoomWith(t, map[string]string{"irssi": "irssi", "tmux": "tmux"})
	home := t.TempDir()
	config := `settings = {
  core = { real_name = "Irssi User"; user_name = "irssiuser"; nick = "irssiuser"; };
  "irc/core" = { cmd_queue_speed = "0msec"; cmds_max_at_once = "100"; };
};
`
	if err := os.WriteFile(filepath.Join(home, "config"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	tm := startTmux(t, "irssi --home="+home)
	_, port, _ := net.SplitHostPort(r.irc)
	// irssi matches the certificate's DNS names only, not its IP
	// addresses: it connects to localhost, which the test certificate
	// names.
	tm.keys("/connect -tls -tls_cafile " + r.cert.CertFile + " localhost " + port)
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: "irssiuser"})
	waitFor(t, "irssi", tm.pane, "Protocol: TLS")
	tm.keys("/window goto #lobby")
	waitFor(t, "irssi", tm.pane, "Total of 2 nicks")

	if err := gopher.c.Say(context.Background(), "hello irssi"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "irssi", tm.pane, "gopher> hello irssi")
	tm.keys("hi from irssi over TLS")
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "irssiuser", Text: "hi from irssi over TLS"})
	tm.keys("/quit gone")
	gopher.until(Event{Kind: KindQuit, Room: "lobby", Nick: "irssiuser", Text: "gone"})
}

// TestTLSWithII runs ii, which has no TLS of its own (its manual says to
// use a tunnel), through socat: ii talks to a Unix socket (-u), socat
// carries it to the IRC port over TLS.
func TestTLSWithII(t *testing.T) {
	t.Parallel()
	r, gopher := tlsRoomWith(t, map[string]string{"ii": "ii", "socat": "socat"})
	dir := t.TempDir()
	sock := filepath.Join(dir, "tunnel.sock")
	tunnel := exec.Command("socat", "UNIX-LISTEN:"+sock, "OPENSSL:"+r.irc+",cafile="+r.cert.CertFile)
	if err := tunnel.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		tunnel.Process.Kill()
		tunnel.Wait()
	}()
	waitFor(t, "socat's socket", func() string {
		if _, err := os.Stat(sock); err != nil {
			return ""
		}
		return "there"
	}, "there")

	irc := filepath.Join(dir, "irc")
	cmd := exec.Command("ii", "-s", "127.0.0.1", "-u", sock, "-n", "iiuser", "-f", "ii user", "-i", irc)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
	}()
	lobby := filepath.Join(irc, "127.0.0.1", "#lobby")
	read := func() string { b, _ := os.ReadFile(filepath.Join(lobby, "out")); return string(b) }
	waitFor(t, "ii's #lobby", read, "iiuser(iiuser@sockkit) has joined #lobby")
	gopher.until(Event{Kind: KindJoin, Room: "lobby", Nick: "iiuser"})

	if err := gopher.c.Say(context.Background(), "hello ii"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ii's #lobby", read, "<gopher> hello ii")
	f, err := os.OpenFile(filepath.Join(lobby, "in"), os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatalf("ii's input: %v", err)
	}
	fmt.Fprintln(f, "hi from ii through socat")
	f.Close()
	gopher.until(Event{Kind: KindMessage, Room: "lobby", Nick: "iiuser", Text: "hi from ii through socat"})
}

// tmuxSession is a program running in a tmux server of its own.
type tmuxSession struct {
	t    *testing.T
	sock string
}

// startTmux runs command in a detached tmux session, 160 by 50, on a tmux
// server of the test's own, which is killed when the test ends.
func startTmux(t *testing.T, command string) *tmuxSession {
	t.Helper()
	tm := &tmuxSession{t: t, sock: fmt.Sprintf("sockkit-tls-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	tm.run("new-session", "-d", "-s", "main", "-x", "160", "-y", "50", command)
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.sock, "kill-server").Run() })
	return tm
}

func (tm *tmuxSession) run(args ...string) string {
	tm.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-L", tm.sock}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// keys types text and Enter.
func (tm *tmuxSession) keys(text string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", "main", "-l", text)
	tm.run("send-keys", "-t", "main", "Enter")
}

// pane returns what the session shows, with 200 lines of history.
func (tm *tmuxSession) pane() string {
	return tm.run("capture-pane", "-p", "-J", "-t", "main", "-S", "-200")
}
