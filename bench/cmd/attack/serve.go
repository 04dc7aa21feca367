package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/httpfetch"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/timesync"
	"github.com/sockkit/sockkit/udpcolor"
)

// The server process ("attack serve KIND [flags]") speaks a line protocol
// with the attack that started it. On its standard output:
//
//	setting NAME=VALUE     a non-default setting of the server
//	listening NET ADDR     an address it serves (NET is tcp or udp)
//	ready                  all of them are served
//	stats JSON             the answer to "stats": the server's Stats
//
// On its standard input, "stats" asks for the counters; the end of input
// shuts the server down gracefully, and the process exits.

// server is a running server of the serve sub-command.
type server struct {
	stats    func() any
	shutdown func(context.Context) error
	done     []chan error
}

// serveCmd runs one server until its standard input ends.
func serveCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attack serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rateFlag := fs.Float64("rate", 0, "udpcolor: Rate (0: the default)")
	register := fs.Duration("register-timeout", 0, "chat: RegisterTimeout (0: the default)")
	transform := fs.String("echo", "", "echo: upper (Transform echo.Upper) or hello (PacketHandler echo.Hello)")
	dir := fs.String("dir", "", "httpfetch: Dir")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: attack serve [flags] udpcolor|timesync|echo|chat|httpfetch")
		return cli.ErrUsage
	}
	var settings []string
	set := func(format string, a ...any) { settings = append(settings, fmt.Sprintf(format, a...)) }
	var srv server
	var addrs []string
	listenUDP := func() (net.PacketConn, error) {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err == nil {
			addrs = append(addrs, "udp "+pc.LocalAddr().String())
		}
		return pc, err
	}
	listenTCP := func() (net.Listener, error) {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err == nil {
			addrs = append(addrs, "tcp "+l.Addr().String())
		}
		return l, err
	}
	run := func(f func() error) {
		ch := make(chan error, 1)
		srv.done = append(srv.done, ch)
		go func() { ch <- f() }()
	}
	// The servers get a context of their own: a signal to this process
	// must not start a shutdown the attack did not ask for.
	sctx := context.WithoutCancel(ctx)
	switch kind := fs.Arg(0); kind {
	case "udpcolor":
		s := &udpcolor.Server{PacketsPerSecond: *rateFlag}
		if *rateFlag != 0 {
			set("Rate=%g (default %d)", *rateFlag, udpcolor.DefaultPacketsPerSecond) // udpcolor.Server.PacketsPerSecond
		}
		pc, err := listenUDP()
		if err != nil {
			return err
		}
		run(func() error { return s.ServePacket(sctx, pc) })
		srv.stats, srv.shutdown = func() any { return s.Stats() }, s.Shutdown
	case "timesync":
		s := &timesync.Server{}
		pc, err := listenUDP()
		if err != nil {
			return err
		}
		run(func() error { return s.ServePacket(sctx, pc) })
		srv.stats, srv.shutdown = func() any { return s.Stats() }, s.Shutdown
	case "echo":
		s := &echo.Server{}
		switch *transform {
		case "":
		case "upper":
			s.Transform = echo.Upper
			set("Transform=echo.Upper")
		case "hello":
			s.PacketHandler = echo.Hello
			set("PacketHandler=echo.Hello")
		default:
			return fmt.Errorf("unknown -echo %q", *transform)
		}
		l, err := listenTCP()
		if err != nil {
			return err
		}
		pc, err := listenUDP()
		if err != nil {
			l.Close()
			return err
		}
		run(func() error { return s.Serve(sctx, l) })
		run(func() error { return s.ServePacket(sctx, pc) })
		srv.stats, srv.shutdown = func() any { return s.Stats() }, s.Shutdown
	case "chat":
		s := &chat.Server{RegisterTimeout: *register}
		if *register != 0 {
			set("RegisterTimeout=%v (default %v)", *register, chat.DefaultRegisterTimeout)
		}
		l, err := listenTCP()
		if err != nil {
			return err
		}
		run(func() error { return s.Serve(sctx, l) })
		srv.stats, srv.shutdown = func() any { return s.Stats() }, s.Shutdown
	case "httpfetch":
		s := &httpfetch.Server{Dir: *dir}
		l, err := listenTCP()
		if err != nil {
			return err
		}
		run(func() error { return s.Serve(sctx, l) })
		srv.stats, srv.shutdown = func() any { return s.Stats() }, s.Shutdown
	default:
		return fmt.Errorf("unknown server %q", kind)
	}
	for _, s := range settings {
		fmt.Fprintln(stdout, "setting", s)
	}
	for _, a := range addrs {
		fmt.Fprintln(stdout, "listening", a)
	}
	fmt.Fprintln(stdout, "ready")

	lines := bufio.NewScanner(stdin)
	for lines.Scan() {
		switch lines.Text() {
		case "stats":
			b, err := json.Marshal(srv.stats())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "stats %s\n", b)
		default:
			fmt.Fprintf(stderr, "attack serve: unknown command %q\n", lines.Text())
		}
	}
	sdctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.shutdown(sdctx)
	for _, ch := range srv.done {
		if e := <-ch; !isClosed(e) {
			err = errors.Join(err, e)
		}
	}
	return err
}

// isClosed reports whether err is the ErrServerClosed of one of the
// servers, which is how every Serve ends after a shutdown.
func isClosed(err error) bool {
	for _, c := range []error{udpcolor.ErrServerClosed, timesync.ErrServerClosed, echo.ErrServerClosed, chat.ErrServerClosed, httpfetch.ErrServerClosed} {
		if errors.Is(err, c) {
			return true
		}
	}
	return false
}
