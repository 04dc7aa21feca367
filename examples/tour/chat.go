package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockkit/sockkit/chat"
)

func init() { register(20, "chat", tourChat) }

// tourChat runs a chat server; three people join, talk, one leaves, and
// the server shuts down with the other two still there. The transcript
// is what ann's client receives, line by line, as it is on the wire.
func tourChat(ctx context.Context, w io.Writer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &chat.Server{}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, l) }()
	fmt.Fprintln(w, "server: chat on TCP; ann, bob and cy join with chat.Dial")
	addr := l.Addr().String()

	var conns []*chat.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, nick := range []string{"ann", "bob", "cy"} {
		c, err := chat.Dial(ctx, addr, nick)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	ann, bob, cy := conns[0], conns[1], conns[2]

	// show prints what ann receives until (and including) a line that
	// satisfies done, so that the transcript is in a fixed order.
	show := func(done func(chat.Event) bool) error {
		for {
			select {
			case e, ok := <-ann.Events():
				if !ok {
					return fmt.Errorf("ann's session ended: %w", ann.Err())
				}
				fmt.Fprintf(w, "ann receives: %s\n", e)
				if done(e) {
					return nil
				}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	kind := func(k chat.Kind, nick string) func(chat.Event) bool {
		return func(e chat.Event) bool { return e.Kind == k && e.Nick == nick }
	}
	steps := []struct {
		say  string
		do   func() error
		done func(chat.Event) bool
	}{
		{"", func() error { return nil }, kind(chat.KindJoin, "cy")},
		{`bob says "hi ann"`, func() error { return bob.Say(ctx, "hi ann") }, kind(chat.KindMessage, "bob")},
		{`cy sends "/me waves"`, func() error { return cy.Command(ctx, "me", "waves") }, kind(chat.KindAction, "cy")},
		{`bob sends "/msg ann lunch?"`, func() error { return bob.Command(ctx, "msg", "ann", "lunch?") }, kind(chat.KindPrivate, "bob")},
		{`cy sends "/quit see you"`, func() error { return cy.Quit(ctx, "see you") }, kind(chat.KindQuit, "cy")},
	}
	for _, s := range steps {
		if s.say != "" {
			fmt.Fprintln(w, s.say)
		}
		if err := s.do(); err != nil {
			return err
		}
		if err := show(s.done); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "server: shutting down with ann and bob still connected")
	shutCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; err != chat.ErrServerClosed {
		return fmt.Errorf("serve: %w", err)
	}
	if err := show(func(e chat.Event) bool { return e.Kind == chat.KindBye }); err != nil {
		return err
	}
	for range bob.Events() {
	}
	fmt.Fprintf(w, "bob's session ended: %v\n", bob.Err())
	return nil
}
