// Command stdecho is a plain goroutine-per-connection echo server on the
// standard library, for TCP and UDP on one port: the baseline that
// bench/echo.sh compares sockkit's echo server with.
//
//	stdecho -addr 127.0.0.1:7007
//
// Each TCP connection gets a goroutine and a 32 KiB buffer (io.Copy's
// size) and copies what it reads back; one goroutine answers UDP. It
// prints nothing but errors.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:7007", "TCP and UDP address to serve")
	flag.Parse()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdecho:", err)
		os.Exit(1)
	}
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdecho:", err)
		os.Exit(1)
	}
	go servePacket(pc)
	err = serve(l) // returns only on failure
	fmt.Fprintln(os.Stderr, "stdecho:", err)
	os.Exit(1)
}

// serve accepts connections until the listener fails.
func serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return err
		}
		go copyBack(c)
	}
}

// copyBack is io.Copy(c, c) written out, so that it neither splices nor
// borrows a pipe per connection: one read buffer, one write per read.
func copyBack(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func servePacket(pc net.PacketConn) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			fmt.Fprintln(os.Stderr, "stdecho:", err)
			return
		}
		pc.WriteTo(buf[:n], from)
	}
}
