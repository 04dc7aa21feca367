package main

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/udpcolor"
)

// tutorialClient is the tutorial's client: a UDP socket that sends one
// plain line and then waits for the answer.
type tutorialClient struct {
	t  *testing.T
	nc net.Conn
}

func dialTutorial(t *testing.T, addr string) *tutorialClient {
	t.Helper()
	nc, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &tutorialClient{t: t, nc: nc}
}

func (c *tutorialClient) send(line string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(line)); err != nil {
		c.t.Fatal(err)
	}
}

// recv returns the next datagram, within 10 s.
func (c *tutorialClient) recv() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.nc.Read(buf)
	if err != nil {
		c.t.Fatalf("the tutorial's client got no answer: %v", err)
	}
	return string(buf[:n])
}

// recvMessage returns the next message of a member, within 10 s.
func recvMessage(t *testing.T, c *udpcolor.Conn) udpcolor.Message {
	t.Helper()
	select {
	case m := <-c.Messages():
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("%s got nothing", c.Name())
	}
	return udpcolor.Message{}
}

// waitBytes waits up to 10 s for b to hold want, which need not be UTF-8.
func waitBytes(t *testing.T, b *clitest.Buffer, want string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(b.String(), want); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in %q", want, b.String())
		}
	}
}

// serveWithConsole starts serve with its console reading what the test
// writes to the returned pipe.
func serveWithConsole(t *testing.T, args ...string) (*clitest.Program, string, *io.PipeWriter) {
	t.Helper()
	in, inw := io.Pipe()
	old := stdin
	stdin = in
	t.Cleanup(func() { stdin = old })
	p := clitest.Start(t, run, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	addr := clitest.WaitFor(t, &p.Stderr, `serving on (\S+)\n`)
	clitest.WaitFor(t, &p.Stderr, "console on")
	t.Cleanup(func() { inw.Close() })
	return p, addr, inw
}

// The operator's console answers the tutorial's client, which waits for
// it, and speaks to the members; end of its input stops the server.
func TestServeConsole(t *testing.T) {
	p, addr, console := serveWithConsole(t, "-console", "-color", "never")
	member, err := (&udpcolor.Client{}).Join(context.Background(), addr, "bea")
	if err != nil {
		t.Fatal(err)
	}
	defer member.Close()
	alex := dialTutorial(t, addr)
	alex.send("alex : 我要退学")
	if m := recvMessage(t, member); m != (udpcolor.Message{Name: "alex", Text: "我要退学", Unverified: true}) {
		t.Errorf("the member got %+v", m)
	}
	clitest.WaitFor(t, &p.Stdout, "alex : 我要退学\n")
	io.WriteString(console, "为什么?\n")
	if got := alex.recv(); got != "server : 为什么?" {
		t.Errorf("the tutorial's client got %q, want the operator's line", got)
	}
	if m := recvMessage(t, member); m != (udpcolor.Message{Name: "server", Text: "为什么?"}) {
		t.Errorf("the member got %+v", m)
	}
	// A line longer than three times what alex sent does not go to it.
	io.WriteString(console, "这是一个很长很长很长很长很长很长很长很长很长很长很长很长很长的回答\n")
	clitest.WaitFor(t, &p.Stderr, `udpcolor: not sent to alex \(unverified\): more than three times what it sent \(the line is \d+ bytes, 66 would fit`)
	recvMessage(t, member) // the members get it all the same

	console.Close()
	select {
	case <-member.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("end of the console's input did not stop the server")
	}
	if !errors.Is(member.Err(), udpcolor.ErrShutdown) {
		t.Errorf("member: %v, want ErrShutdown", member.Err())
	}
	if err := p.Stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	want := "* bea joined\nalex : 我要退学\nserver : 为什么?\nserver : 这是一个很长很长很长很长很长很长很长很长很长很长很长很长很长的回答\n"
	if got := p.Stdout.String(); got != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", got, want)
	}
}

// Without a console, the tutorial's client gets "server : received".
func TestServeAcknowledges(t *testing.T) {
	t.Parallel()
	p := clitest.Start(t, run, "serve", "-addr", "127.0.0.1:0", "-color", "never", "-console=false")
	addr := clitest.WaitFor(t, &p.Stderr, `serving on (\S+)\n`)
	alex := dialTutorial(t, addr)
	alex.send("alex : 我要退学")
	if got := alex.recv(); got != "server : received" {
		t.Errorf("the tutorial's client got %q", got)
	}
	clitest.WaitFor(t, &p.Stdout, "alex : 我要退学\n")
}

// -charset GBK: the transcript is written, and the console read, in GBK;
// the network carries UTF-8.
func TestServeCharset(t *testing.T) {
	p, addr, console := serveWithConsole(t, "-console", "-color", "never", "-charset", "GBK")
	gbk := simplifiedchinese.GBK
	alex := dialTutorial(t, addr)
	alex.send("alex : 我要退学 ✓") // the tick has no GBK code: '?'
	want, _ := gbk.NewEncoder().String("alex : 我要退学 ?\n")
	waitBytes(t, &p.Stdout, want)
	line, _ := gbk.NewEncoder().String("为什么?\n")
	io.WriteString(console, line)
	if got := alex.recv(); got != "server : 为什么?" {
		t.Errorf("the tutorial's client got %q, want the operator's line in UTF-8", got)
	}
}

// join -charset GBK: lines typed in GBK go out as UTF-8, messages are
// shown in GBK.
func TestJoinCharset(t *testing.T) {
	_, addr := startServer(t)
	alice, err := (&udpcolor.Client{}).Join(context.Background(), addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()

	gbk := simplifiedchinese.GBK
	in, inw := io.Pipe()
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = in
	var out, errOut clitest.Buffer
	joined := make(chan error, 1)
	go func() {
		joined <- run(context.Background(), []string{"join", "-addr", addr, "-name", "bea", "-color", "never", "-charset", "gbk"}, &out, &errOut)
	}()
	clitest.WaitFor(t, &errOut, "joined")
	line, _ := gbk.NewEncoder().String("你好\n")
	io.WriteString(inw, line)
	if m := recvMessage(t, alice); m.Name != "bea" || m.Text != "你好" {
		t.Errorf("alice got %+v", m)
	}
	alice.Send(context.Background(), "再见")
	want, _ := gbk.NewEncoder().String("alice : 再见\n")
	waitBytes(t, &out, want)
	inw.Close()
	if err := <-joined; err != nil {
		t.Errorf("join: %v\n%s", err, errOut.String())
	}
}
