package chat_test

import (
	"bufio"
	"context"
	"fmt"
	"net"

	"github.com/sockkit/sockkit/chat"
)

// The server's operator, on a pipe, talks with a client; the operator's
// quit word ends the operator's session.
func ExampleServer_ServeOperator() {
	ctx := context.Background()
	srv := &chat.Server{QuitWords: []string{"byebye", "q"}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)
	defer srv.Shutdown(ctx)

	srvEnd, opEnd := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeOperator(ctx, srvEnd) }()
	op, err := new(chat.Client).NewConn(ctx, opEnd, chat.DefaultOperatorNick)
	if err != nil {
		panic(err)
	}
	defer op.Close()

	ann, err := chat.Dial(ctx, l.Addr().String(), "ann")
	if err != nil {
		panic(err)
	}
	defer ann.Close()
	ann.Say(ctx, "hello?")
	for e := range op.Events() { // until the BYE, after which Events is closed
		fmt.Println(e)
		if e.Kind == chat.KindMessage && e.Nick == "ann" {
			op.Say(ctx, "hello, ann")
			op.Say(ctx, "q")
		}
	}
	fmt.Println("ServeOperator:", <-served)
	// Output:
	// WELCOME operator welcome; you are in lobby
	// JOIN lobby operator
	// JOIN lobby ann
	// MSG lobby ann hello?
	// MSG lobby operator hello, ann
	// BYE quit goodbye
	// ServeOperator: <nil>
}

// A client in GBK and one in UTF-8 read each other: the server decodes
// what each sends and encodes what each gets.
func ExampleServer_Charset() {
	ctx := context.Background()
	srv := &chat.Server{Charset: "GBK"} // for nc and telnet users who do not say
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)
	defer srv.Shutdown(ctx)

	alice, err := chat.Dial(ctx, l.Addr().String(), "alice")
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	alice.Command(ctx, "charset", "UTF-8") // a Go program speaks UTF-8
	for e := range alice.Events() {
		if e.Kind == chat.KindInfo { // your charset is now UTF-8
			break
		}
	}

	c, err := net.Dial("tcp", l.Addr().String()) // a GBK user, by hand
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "bob\n\xc4\xe3\xba\xc3\n") // "你好" in GBK
	lines := bufio.NewScanner(c)
	for lines.Scan() {
		if line := lines.Text(); line[:3] == "MSG" {
			fmt.Printf("bob gets   % x\n", line)
			break
		}
	}
	for e := range alice.Events() {
		if e.Kind == chat.KindMessage {
			fmt.Printf("alice gets %s %s %s\n", e.Room, e.Nick, e.Text)
			break
		}
	}
	// Output:
	// bob gets   4d 53 47 20 6c 6f 62 62 79 20 62 6f 62 20 c4 e3 ba c3
	// alice gets lobby bob 你好
}
