package echo_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"github.com/sockkit/sockkit/echo"
)

// A TCP echo server and a client that makes two round trips over one
// connection.
func Example() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{}
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	ctx := context.Background()
	conn, err := echo.Dial(ctx, "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	for _, msg := range []string{"hello", "world"} {
		reply, err := conn.Echo(ctx, []byte(msg))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", reply)
	}
	// Output:
	// hello
	// world
}

// The tutorials' server, which replies in upper case. The client is told
// of the transform so that it knows what to expect back.
func ExampleUpper() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{Transform: echo.Upper}
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	client := &echo.Client{Transform: echo.Upper}
	conn, err := client.Connect(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.Echo(context.Background(), []byte("Grüße aus der Straße"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", reply)
	// Output: GRÜSSE AUS DER STRASSE
}

// Echo over UDP: each datagram comes back as one datagram; the client
// retries when a reply is lost.
func ExampleServer_ServePacket() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{}
	go srv.ServePacket(context.Background(), pc)
	defer srv.Close()

	conn, err := echo.Dial(context.Background(), "udp", pc.LocalAddr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.Echo(context.Background(), []byte("ping"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", reply)
	// Output: ping
}

// The greeting of the tutorials' UDP server, as a PacketHandler.
func ExampleHello() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{PacketHandler: echo.Hello}
	go srv.ServePacket(context.Background(), pc)
	defer srv.Close()

	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("Ada"))
	buf := make([]byte, 128)
	n, err := c.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", buf[:n])
	// Output: Hello, Ada!
}

// Shutdown lets connections send back what they have read, then waits
// for every goroutine of the server.
func ExampleServer_Shutdown() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), l) }()

	conn, err := echo.Dial(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.Echo(context.Background(), []byte("last words"))

	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-done)
	// Output: echo: server closed
}
