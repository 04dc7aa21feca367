package chat

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"
)

// startOperator runs s's operator session on a pipe and returns the
// operator's Conn and what ServeOperator returns, when it does.
func startOperator(t *testing.T, s *Server) (*goUser, <-chan error) {
	t.Helper()
	srvEnd, opEnd := net.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- s.ServeOperator(context.Background(), srvEnd) }()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	c, err := new(Client).NewConn(ctx, opEnd, "operator")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &goUser{t, c}, errc
}

func TestServeOperator(t *testing.T) {
	t.Parallel()
	// The operator has no idle timeout, and speaks UTF-8 whatever the
	// clients' charset.
	s := &Server{QuitWords: []string{"byebye", "q"}, IdleTimeout: 200 * time.Millisecond, Charset: "GBK"}
	plain, irc, stopBoth := startBoth(t, s)
	stop := sync.OnceFunc(stopBoth)
	defer stop()
	op, opDone := startOperator(t, s)
	op.until(Event{Kind: KindJoin, Room: "lobby", Nick: "operator"})

	// Nobody else can be the operator, in any case or dialect.
	for _, nick := range []string{"operator", "OPERATOR"} {
		r := dialRaw(t, plain)
		r.line()
		r.send(nick + "\n")
		r.expect("ERR nick-taken " + nick + " is taken; choose another nickname")
	}
	i := dialIRC(t, irc)
	i.send("NICK Operator\r\n")
	i.expect(num("433", "*", "Operator :Nickname is already in use"))

	// One to one, as in the tutorial: a client comes, they talk.
	bob := login(t, plain, "bob")
	op.until(Event{Kind: KindJoin, Room: "lobby", Nick: "bob"})
	bob.send(gbk(t, "你好, operator") + "\n")
	op.until(Event{Kind: KindMessage, Room: "lobby", Nick: "bob", Text: "你好, operator"})
	if err := op.c.Say(context.Background(), "你好, bob"); err != nil {
		t.Fatal(err)
	}
	bob.expect(gbk(t, "MSG lobby bob 你好, operator"))
	bob.expect(gbk(t, "MSG lobby operator 你好, bob"))
	if n := s.Stats().Conns; n != 4 {
		t.Errorf("Stats().Conns = %d with bob, three refused and the operator, want 4: not the operator", n)
	}

	// bob falls idle and goes; the operator stays.
	bob.expect("BYE idle nothing received for 200ms")
	op.until(Event{Kind: KindQuit, Room: "lobby", Nick: "bob", Text: "idle"})
	if err := op.c.Command(context.Background(), "who"); err != nil {
		t.Fatal(err)
	}
	op.until(Event{Kind: KindWho, Room: "lobby", Text: "operator"})

	// The operator's quit word ends its session, and ServeOperator
	// returns nil: the operator left.
	if err := op.c.Say(context.Background(), "q"); err != nil {
		t.Fatal(err)
	}
	op.until(Event{Kind: KindBye, Code: ByeQuit, Text: "goodbye"})
	if err := <-opDone; err != nil {
		t.Errorf("ServeOperator after q: %v, want nil", err)
	}
	// The nickname is free for the next operator, not for a client.
	op2, op2Done := startOperator(t, s)
	op2.until(Event{Kind: KindJoin, Room: "lobby", Nick: "operator"})
	stop()
	op2.until(Event{Kind: KindBye, Code: ByeShutdown, Text: "server shutting down"})
	if err := <-op2Done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeOperator after Shutdown: %v, want ErrServerClosed", err)
	}
}

func TestServeOperatorSettings(t *testing.T) {
	t.Parallel()
	for _, s := range []*Server{{OperatorNick: "no spaces"}, {Charset: "klingon"}} {
		a, b := net.Pipe()
		err := s.ServeOperator(context.Background(), a)
		if err == nil || errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeOperator with %+v: %v, want a setting error", s, err)
		}
		if _, err := b.Write([]byte("x")); err == nil {
			t.Error("ServeOperator left its connection open")
		}
	}
	// Another nickname for the operator; "operator" is then anyone's.
	s := &Server{OperatorNick: "sysop"}
	plain, stop := start(t, s)
	defer stop()
	login(t, plain, "operator")
	r := dialRaw(t, plain)
	r.line()
	r.send("SysOp\n")
	r.expect("ERR nick-taken SysOp is taken; choose another nickname")
	a, b := net.Pipe()
	go s.ServeOperator(context.Background(), a)
	c, err := new(Client).NewConn(context.Background(), b, "sysop")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if c.Nick() != "sysop" {
		t.Errorf("operator's nickname %q, want sysop", c.Nick())
	}
}
