// Command netpollecho is a TCP echo server on github.com/cloudwego/netpoll,
// an epoll event-loop library for Go: the event-loop reference that
// bench/echo.sh compares round trips with.
//
//	netpollecho -addr 127.0.0.1:7007
//
// Each readable connection's buffered bytes are copied from its input
// buffer into its output buffer (the library's Malloc/Flush idiom), then
// flushed.
// netpoll serves no UDP. It prints nothing but errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cloudwego/netpoll"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "TCP address to serve")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "netpollecho:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	l, err := netpoll.CreateListener("tcp", addr)
	if err != nil {
		return err
	}
	loop, err := netpoll.NewEventLoop(echo, netpoll.WithIdleTimeout(10*time.Minute))
	if err != nil {
		return err
	}
	return loop.Serve(l)
}

// echo sends back every byte buffered on c.
func echo(_ context.Context, c netpoll.Connection) error {
	r, w := c.Reader(), c.Writer()
	n := r.Len()
	if n == 0 {
		return nil
	}
	in, err := r.Next(n)
	if err != nil {
		return err
	}
	out, err := w.Malloc(n)
	if err != nil {
		return err
	}
	copy(out, in)
	if err := r.Release(); err != nil {
		return err
	}
	return w.Flush()
}
