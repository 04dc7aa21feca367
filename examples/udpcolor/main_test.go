package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"

	"github.com/sockkit/sockkit/udpcolor"
)

func TestServeAndJoin(t *testing.T) {
	ctx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	var serverOut, serverErr clitest.Buffer
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve", "-addr", "127.0.0.1:0", "-color", "never", "-console=false"}, &serverOut, &serverErr)
	}()
	addr := clitest.WaitFor(t, &serverErr, `serving on (\S+)\n`)

	// bob joins with the command; alice is a library client.
	in, inw := io.Pipe()
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = in
	var bobOut, bobErr clitest.Buffer
	joined := make(chan error, 1)
	go func() {
		joined <- run(context.Background(), []string{"join", "-addr", addr, "-name", "bob", "-color", "never"}, &bobOut, &bobErr)
	}()
	clitest.WaitFor(t, &bobErr, "joined")
	alice, err := (&udpcolor.Client{}).Join(context.Background(), addr, "alice")
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Close()
	alice.Send(context.Background(), "hi bob \x1b[31mred?")
	clitest.WaitFor(t, &bobOut, `alice : hi bob red\?\n`)
	io.WriteString(inw, "hello alice\n\nsecond line\n")
	for _, want := range []string{"hello alice", "second line"} {
		select {
		case m := <-alice.Messages():
			if m.Name != "bob" || m.Text != want {
				t.Errorf("alice got %+v, want bob : %s", m, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("alice got nothing")
		}
	}
	inw.Close() // end of input: bob leaves
	if err := <-joined; err != nil {
		t.Errorf("join: %v\nstderr: %s", err, bobErr.String())
	}
	alice.Leave(context.Background())

	stopServer()
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	want := "* bob joined\n* alice joined\nalice : hi bob red?\nbob : hello alice\nbob : second line\n* bob left\n* alice left\n"
	if serverOut.String() != want {
		t.Errorf("transcript:\n%s\nwant:\n%s", serverOut.String(), want)
	}
}

func TestJoinEndsWithServer(t *testing.T) {
	srv := &udpcolor.Server{}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ServePacket(context.Background(), pc) }()
	in, inw := io.Pipe()
	defer inw.Close()
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = in
	var out, errOut clitest.Buffer
	joined := make(chan error, 1)
	go func() {
		joined <- run(context.Background(), []string{"join", "-addr", pc.LocalAddr().String(), "-name", "carol"}, &out, &errOut)
	}()
	clitest.WaitFor(t, &errOut, "joined")
	srv.Shutdown(context.Background())
	<-served
	if err := <-joined; !errors.Is(err, udpcolor.ErrShutdown) {
		t.Errorf("join returned %v, want ErrShutdown", err)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"dance"},
		{"serve", "-bogus"},
		{"serve", "extra"},
		{"serve", "-color", "purple"},
		{"serve", "-charset", "klingon"},
		{"serve", "-console=maybe"},
		{"join", "-name", "bea", "-charset", ""},
		{"join"},
		{"join", "-name"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if !errors.Is(err, cli.ErrUsage) {
			t.Errorf("%q: error %v, want a usage error", args, err)
		}
		if !strings.Contains(errOut.String(), "usage:") {
			t.Errorf("%q: no usage on stderr: %q", args, errOut.String())
		}
	}
}

func TestFailures(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-addr", "256.0.0.1:1"}, &out, &errOut); err == nil {
		t.Error("serve on a bad address succeeded")
	}
	defer func(old io.Reader) { stdin = old }(stdin)
	stdin = strings.NewReader("")
	if err := run(context.Background(), []string{"join", "-name", "bad name"}, &out, &errOut); err == nil {
		t.Error("join with a bad name succeeded")
	}
}

// startServer runs a udpcolor server on loopback whose members never
// expire during a test, so that a member gone from it has left.
func startServer(t *testing.T) (*udpcolor.Server, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &udpcolor.Server{MemberTimeout: time.Hour}
	served := make(chan error, 1)
	go func() { served <- srv.ServePacket(context.Background(), pc) }()
	t.Cleanup(func() {
		srv.Close()
		<-served
	})
	return srv, pc.LocalAddr().String()
}
