// Command echo serves and uses the echo protocol (RFC 862) over TCP and
// UDP.
//
//	echo serve [-addr 127.0.0.1:7007] [-upper]
//	echo send [-addr 127.0.0.1:7007] [-udp] [-upper] [-timeout 5s] MESSAGE...
//
// serve answers TCP and UDP on the same port until interrupted; with
// -upper it replies in upper case, as the tutorials' server does. send
// sends the words of MESSAGE, joined by spaces, and prints the reply.
//
// A bad or missing flag prints usage and exits 2; any other failure
// prints one line and exits 1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/echo"
)

const defaultAddr = "127.0.0.1:7007"

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ue *usageError
	switch {
	case err == nil:
	case errors.As(err, &ue), errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		msg := err.Error()
		if !strings.HasPrefix(msg, "echo: ") {
			msg = "echo: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

const usage = `usage:
  echo serve [-addr 127.0.0.1:7007] [-upper]
  echo send [-addr 127.0.0.1:7007] [-udp] [-upper] [-timeout 5s] MESSAGE...
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{"no command"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "send":
		return send(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "echo: unknown command %q\n%s", args[0], usage)
	return &usageError{"unknown command"}
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("echo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags; a mistake is a usage error (exit 2).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil && !errors.Is(err, flag.ErrHelp) {
		return &usageError{err.Error()}
	} else if err != nil {
		return err
	}
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	addr := fs.String("addr", defaultAddr, "`address` to serve TCP and UDP on")
	upper := fs.Bool("upper", false, "reply in upper case")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return &usageError{"serve takes no arguments"}
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// UDP on the port TCP got, which matters when -addr asks for port 0.
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		return err
	}
	srv := &echo.Server{}
	if *upper {
		srv.Transform = echo.Upper
	}
	fmt.Fprintf(stdout, "echo: serving TCP and UDP on %s\n", l.Addr())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, l) }()
	go func() { errc <- srv.ServePacket(ctx, pc) }()

	var first error
	select {
	case <-ctx.Done():
	case first = <-errc: // a listener failed: stop the other one too
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	if first == nil {
		first = <-errc
	}
	<-errc
	if errors.Is(first, echo.ErrServerClosed) {
		fmt.Fprintln(stdout, "echo: stopped")
		return nil
	}
	return first
}

func send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("send", stderr)
	addr := fs.String("addr", defaultAddr, "server `address`")
	udp := fs.Bool("udp", false, "send one datagram instead of using TCP")
	upper := fs.Bool("upper", false, "expect the reply in upper case (a server run with -upper)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "echo send: no MESSAGE")
		fs.Usage()
		return &usageError{"no message"}
	}
	msg := strings.Join(fs.Args(), " ")
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &echo.Client{}
	if *upper {
		client.Transform = echo.Upper
	}
	network := "tcp"
	if *udp {
		network = "udp"
	}
	conn, err := client.Connect(ctx, network, *addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	reply, err := conn.Echo(ctx, []byte(msg))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", reply)
	return nil
}
