package chat

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClient(t *testing.T) {
	t.Parallel()
	addr, stop := start(t, &Server{})
	defer stop()
	ctx := context.Background()

	a, err := Dial(ctx, addr, "ann")
	if err != nil {
		t.Fatal(err)
	}
	if e := <-a.Events(); e.Kind != KindWelcome || e.Nick != "ann" {
		t.Fatalf("first event %+v, want WELCOME", e)
	}
	if e := <-a.Events(); e != (Event{Kind: KindJoin, Room: "lobby", Nick: "ann"}) {
		t.Fatalf("second event %+v, want JOIN", e)
	}

	_, err = Dial(ctx, addr, "ANN")
	var se *ServerError
	if !errors.As(err, &se) || se.Code != CodeNickTaken || !errors.Is(err, ErrRefused) {
		t.Fatalf("Dial with a taken nickname: %v", err)
	}
	if _, err := Dial(ctx, addr, "no good"); !errors.As(err, &se) || se.Code != CodeBadNick {
		t.Fatalf("Dial with a bad nickname: %v", err)
	}

	b, err := Dial(ctx, addr, "ben")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Say(ctx, "/not a command"); err != nil {
		t.Fatal(err)
	}
	if err := b.Command(ctx, "me", "nods"); err != nil {
		t.Fatal(err)
	}
	if err := b.Say(ctx, "two\nlines"); err == nil {
		t.Error("Say accepted a newline")
	}
	var got []Event
	for e := range a.Events() {
		got = append(got, e)
		if len(got) == 3 {
			break
		}
	}
	want := []Event{
		{Kind: KindJoin, Room: "lobby", Nick: "ben"},
		{Kind: KindMessage, Room: "lobby", Nick: "ben", Text: "/not a command"},
		{Kind: KindAction, Room: "lobby", Nick: "ben", Text: "nods"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}

	if err := b.Quit(ctx, "done"); err != nil {
		t.Errorf("Quit: %v", err)
	}
	if e := <-a.Events(); e != (Event{Kind: KindQuit, Room: "lobby", Nick: "ben", Text: "done"}) {
		t.Errorf("after Quit: %+v", e)
	}
	if err := b.Say(ctx, "after quit"); err == nil {
		t.Error("Say after Quit succeeded")
	}

	a.Close()
	if err := a.Err(); !errors.Is(err, ErrClosed) {
		t.Errorf("Err after Close = %v, want ErrClosed", err)
	}
	if _, ok := <-a.Events(); ok {
		t.Error("Events not closed after Close")
	}
	a.Close() // idempotent
}

func TestClientContext(t *testing.T) {
	t.Parallel()
	// A server that accepts and says nothing: the context bounds joining.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, l.Addr().String(), "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial to a silent server: %v, want DeadlineExceeded", err)
	}
	<-done
}

// fakeServer plays a server's part over a pipe with a script of lines.
func fakeServer(t *testing.T, script string) (*Conn, net.Conn) {
	t.Helper()
	cc, sc := net.Pipe()
	go func() {
		r := bufio.NewReader(sc)
		io.WriteString(sc, "HELLO hi\n")
		r.ReadString('\n')
		io.WriteString(sc, script)
	}()
	conn, err := new(Client).NewConn(context.Background(), cc, "me")
	if err != nil {
		t.Fatal(err)
	}
	return conn, sc
}

func TestClientParsesAndCleans(t *testing.T) {
	t.Parallel()
	conn, sc := fakeServer(t, "WELCOME me hi\n"+
		"GARBAGE line\n"+
		"MSG lobby x \x1b[31mred\x1b[0m\u202e\n"+
		strings.Repeat("x", 70000)+"\n"+
		"MSG lobby y\n"+ // no text: an empty message
		"BYE idle bye\n")
	defer sc.Close()
	var got []Event
	for e := range conn.Events() {
		got = append(got, e)
	}
	want := []Event{
		{Kind: KindWelcome, Nick: "me", Text: "hi"},
		{Kind: KindMessage, Room: "lobby", Nick: "x", Text: "red"},
		{Kind: KindMessage, Room: "lobby", Nick: "y"},
		{Kind: KindBye, Code: "idle", Text: "bye"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s", d)
	}
	var se *ServerError
	if err := conn.Err(); !errors.As(err, &se) || se.Code != ByeIdle {
		t.Errorf("Err = %v", err)
	}
	conn.Close()
}

func TestClientDroppedConnection(t *testing.T) {
	t.Parallel()
	conn, sc := fakeServer(t, "WELCOME me hi\nMSG lobby x half")
	time.AfterFunc(50*time.Millisecond, func() { sc.Close() })
	for range conn.Events() {
	}
	if err := conn.Err(); err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Err after a dropped connection = %v", err)
	}
	conn.Close()
}
