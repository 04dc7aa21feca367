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
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/internal/cli"
)

const defaultAddr = "127.0.0.1:7007"

const usage = `usage:
  echo serve [-addr 127.0.0.1:7007] [-upper]
  echo send [-addr 127.0.0.1:7007] [-udp] [-upper] [-timeout 5s] MESSAGE...
`

func main() { cli.Main("echo", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Dispatch(ctx, "echo", usage, cli.Commands{"serve": serve, "send": send}, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("echo", "serve", usage, stderr)
	addr := fs.String("addr", defaultAddr, "`address` to serve TCP and UDP on")
	upper := fs.Bool("upper", false, "reply in upper case")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
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
	fs := cli.FlagSet("echo", "send", usage, stderr)
	addr := fs.String("addr", defaultAddr, "server `address`")
	udp := fs.Bool("udp", false, "send one datagram instead of using TCP")
	upper := fs.Bool("upper", false, "expect the reply in upper case (a server run with -upper)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := cli.Parse(fs, args, 1, -1); err != nil {
		return err
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
