// Command sockkitecho serves sockkit's echo.Server over TCP and UDP on one
// port, configured for benchmarking on loopback: no connection limit, no
// idle timeout, and no per-source datagram rate limit (all the load of
// bench/echo.sh comes from 127.0.0.1, which the default limit would
// rightly treat as one flooding source).
//
//	sockkitecho -addr 127.0.0.1:7007
//
// With -pprof 127.0.0.1:6060 it also serves net/http/pprof, so that a
// profile can be taken while echoload runs. It prints nothing but errors.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sockkit/sockkit/echo"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "TCP and UDP address to serve")
	pprofAddr := flag.String("pprof", "", "if set, serve net/http/pprof on this loopback `address`, to profile the server under load")
	bufSize := flag.Int("bufsize", 0, "echo.Server.BufferSize; 0 keeps the server's default")
	writeTimeout := flag.Duration("writetimeout", 0, "echo.Server.WriteTimeout; 0 keeps the server's default, negative is none")
	memRate := flag.Int("memprofilerate", 0, "with -pprof: runtime.MemProfileRate (1 records every allocation); 0 keeps Go's default")
	flag.Parse()
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *pprofAddr != "" {
		pl, err := net.Listen("tcp", *pprofAddr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "sockkitecho:", err)
			os.Exit(1)
		}
		go http.Serve(pl, nil)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *bufSize, *writeTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "sockkitecho:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, bufSize int, writeTimeout time.Duration) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		return err
	}
	return serve(ctx, newServer(bufSize, writeTimeout), l, pc)
}

// newServer returns the echo.Server as configured for benchmarking.
func newServer(bufSize int, writeTimeout time.Duration) *echo.Server {
	return &echo.Server{
		MaxConns:          -1, // the hold test opens 10,000 connections
		MaxConnsPerSource: -1, // from 127.0.0.1
		IdleTimeout:       -1,
		PacketsPerSecond:  -1, // all load comes from 127.0.0.1
		BufferSize:        bufSize,
		WriteTimeout:      writeTimeout,
	}
}

// serve runs s on l and pc until ctx is cancelled (then it returns nil)
// or one of them fails.
func serve(ctx context.Context, s *echo.Server, l net.Listener, pc net.PacketConn) error {
	// The first of the two to fail cancels gctx, which stops the other.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.Serve(gctx, l) })
	g.Go(func() error { return s.ServePacket(gctx, pc) })
	err := g.Wait()
	if ctx.Err() != nil {
		return nil // interrupted: a normal end
	}
	return err
}
