package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockkit/sockkit/echo"
)

func init() { register(10, "echo", tourEcho) }

// tourEcho runs an upper-casing echo server on TCP and UDP, with one
// client of each kind, then a graceful shutdown.
func tourEcho(ctx context.Context, w io.Writer) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		return err
	}
	srv := &echo.Server{Transform: echo.Upper}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, l) }()
	go func() { errc <- srv.ServePacket(ctx, pc) }()
	fmt.Fprintln(w, "server: echo over TCP and UDP on one port, replying in upper case")

	client := &echo.Client{Transform: echo.Upper}
	for _, network := range []string{"tcp", "udp"} {
		conn, err := client.Connect(ctx, network, l.Addr().String())
		if err != nil {
			return err
		}
		for _, msg := range []string{"hello, echo", "grüße, straße"} {
			reply, err := conn.Echo(ctx, []byte(msg))
			if err != nil {
				conn.Close()
				return err
			}
			fmt.Fprintf(w, "%s client: sent %q, got %q\n", network, msg, reply)
		}
		conn.Close()
	}

	shutCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	for range 2 {
		if err := <-errc; err != echo.ErrServerClosed {
			return fmt.Errorf("serve: %w", err)
		}
	}
	st := srv.Stats()
	fmt.Fprintf(w, "server: shut down after %d TCP connection(s), %d datagram(s), %d bytes sent back\n",
		st.ConnsTotal, st.Requests, st.BytesOut)
	return nil
}
