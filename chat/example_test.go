package chat_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/sockkit/sockkit/chat"
)

// Two people meet in the lobby; one of them leaves.
func Example() {
	ctx := context.Background()
	srv := &chat.Server{}
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
	bob, err := chat.Dial(ctx, l.Addr().String(), "bob")
	if err != nil {
		panic(err)
	}
	bob.Say(ctx, "hello, alice")
	bob.Quit(ctx, "lunch")

	for e := range alice.Events() {
		fmt.Println(e)
		if e.Kind == chat.KindQuit {
			break
		}
	}
	// Output:
	// WELCOME alice welcome; you are in lobby
	// JOIN lobby alice
	// JOIN lobby bob
	// MSG lobby bob hello, alice
	// QUIT lobby bob lunch
}

// ParseEvent splits a server line into its fields.
func ExampleParseEvent() {
	e, err := chat.ParseEvent("MSG lobby alice hello there")
	if err != nil {
		panic(err)
	}
	fmt.Printf("kind=%s room=%s nick=%s text=%q\n", e.Kind, e.Room, e.Nick, e.Text)
	// Output: kind=MSG room=lobby nick=alice text="hello there"
}

// A filter that refuses some messages and tidies others.
func ExampleServer_Filter() {
	ctx := context.Background()
	srv := &chat.Server{
		Filter: func(m *chat.Message) error {
			if strings.Contains(strings.ToLower(m.Text), "buy now") {
				return fmt.Errorf("no advertising, %s", m.From)
			}
			m.Text = strings.TrimSpace(m.Text)
			return nil
		},
		QuitWords: []string{"byebye", "q"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, l)
	defer srv.Shutdown(ctx)

	c, err := chat.Dial(ctx, l.Addr().String(), "carol")
	if err != nil {
		panic(err)
	}
	c.Say(ctx, "BUY NOW!")
	c.Say(ctx, "   tidy   ")
	c.Send(ctx, "byebye")
	for e := range c.Events() {
		fmt.Println(e)
	}
	fmt.Println(c.Err())
	// Output:
	// WELCOME carol welcome; you are in lobby
	// JOIN lobby carol
	// ERR rejected no advertising, carol
	// MSG lobby carol tidy
	// BYE quit goodbye
	// chat: server says BYE quit: goodbye
}
