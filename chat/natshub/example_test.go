package natshub_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/chat/natshub"
	"github.com/sockkit/sockkit/chat/natshub/natsembed"
)

// Two chat servers share their lobby through one NATS server: ann, on
// one, talks to bob, on the other.
func Example() {
	ns, err := natsembed.Start(natsembed.Options{})
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var addrs []string
	for range 2 {
		hub, err := natshub.Connect(ns.URL(), natshub.Options{})
		if err != nil {
			panic(err)
		}
		defer hub.Close()
		srv := &chat.Server{Hub: hub}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		go srv.Serve(ctx, l)
		defer srv.Shutdown(ctx) // before hub.Close: defers run last first
		addrs = append(addrs, l.Addr().String())
	}

	// bob is in the lobby once his own JOIN is back from NATS: members
	// get their own lines in the one order too.
	bob, err := chat.Dial(ctx, addrs[1], "bob")
	if err != nil {
		panic(err)
	}
	defer bob.Close()
	for e := range bob.Events() {
		fmt.Println("bob:", e)
		if e.Kind == chat.KindJoin {
			break
		}
	}
	ann, err := chat.Dial(ctx, addrs[0], "ann")
	if err != nil {
		panic(err)
	}
	defer ann.Close()
	for e := range bob.Events() {
		fmt.Println("bob:", e)
		if e.Kind == chat.KindJoin {
			break
		}
	}
	ann.Say(ctx, "hello from the other server")
	for e := range bob.Events() {
		fmt.Println("bob:", e)
		if e.Kind == chat.KindMessage {
			break
		}
	}
	// Output:
	// bob: WELCOME bob welcome; you are in lobby
	// bob: JOIN lobby bob
	// bob: JOIN lobby ann
	// bob: MSG lobby ann hello from the other server
}
