package chat_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/servertest"
)

// TestConformance runs the lifecycle contract that every sockkit server
// meets (internal/servertest) against Serve. Chat has no stuck session:
// every session ends with its BYE line, and a client that does not read
// it is dropped within the server's own bounds.
func TestConformance(t *testing.T) {
	servertest.RunStream(t, servertest.Stream[*chat.Server]{
		Name:            "chat",
		New:             func(testing.TB) *chat.Server { return new(chat.Server) },
		ErrServerClosed: chat.ErrServerClosed,
		Session:         sayOneLine,
		Hold:            joinIdle,
		Closing:         byeShutdown,
		BadSettings: []servertest.BadSetting[*chat.Server]{
			{Field: "DefaultRoom", Set: func(s *chat.Server) { s.DefaultRoom = "no spaces" }},
			{Field: "MaxLineBytes", Set: func(s *chat.Server) { s.MaxLineBytes = -1 }},
			{Field: "MaxQueueBytes", Set: func(s *chat.Server) { s.MaxQueueBytes = -1 }},
			{Field: "LineBurst", Set: func(s *chat.Server) { s.LineBurst = -1 }},
		},
	})
}

// nicks numbers the nicknames of the sessions, which must be unique on
// a server.
var nicks atomic.Int64

func nextNick() string { return fmt.Sprintf("conf%d", nicks.Add(1)) }

// sayOneLine joins, says one line, waits for it to come back, and quits.
func sayOneLine(ctx context.Context, dial servertest.DialFunc, addr string) error {
	conn, err := (&chat.Client{Dial: dial}).Join(ctx, addr, nextNick())
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Say(ctx, "conformance"); err != nil {
		return err
	}
	for {
		select {
		case e, ok := <-conn.Events():
			if !ok {
				return fmt.Errorf("session ended before the line came back: %v", conn.Err())
			}
			if e.Kind == chat.KindMessage && e.Nick == conn.Nick() && e.Text == "conformance" {
				return conn.Quit(ctx, "")
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// joinIdle joins over a raw connection, up to the WELCOME line, and
// leaves the session idle.
func joinIdle(ctx context.Context, dial servertest.DialFunc, addr string) (net.Conn, error) {
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (net.Conn, error) {
		c.Close()
		return nil, err
	}
	line, err := servertest.ReadLine(c)
	if err != nil {
		return fail(err)
	}
	if !strings.HasPrefix(line, "HELLO ") {
		return fail(fmt.Errorf("greeting %q", line))
	}
	if _, err := io.WriteString(c, "/nick "+nextNick()+"\n"); err != nil {
		return fail(err)
	}
	for {
		line, err := servertest.ReadLine(c)
		if err != nil {
			return fail(err)
		}
		switch {
		case strings.HasPrefix(line, "WELCOME "):
			return c, nil
		case strings.HasPrefix(line, "ERR "), strings.HasPrefix(line, "BYE "):
			return fail(fmt.Errorf("refused: %q", line))
		}
	}
}

// byeShutdown reads lines until the BYE, which must be "BYE shutdown".
func byeShutdown(c net.Conn) error {
	for {
		line, err := servertest.ReadLine(c)
		if err != nil {
			return fmt.Errorf("no BYE line before %v", err)
		}
		if strings.HasPrefix(line, "BYE ") {
			if e, err := chat.ParseEvent(line); err != nil || e.Code != chat.ByeShutdown {
				return fmt.Errorf("got %q; want BYE %s", line, chat.ByeShutdown)
			}
			return nil
		}
	}
}
