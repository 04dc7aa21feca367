package echo_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"time"

	"golang.org/x/text/transform"

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

// A client that does not know whether the server upper-cases: it accepts
// either reply, and comparing the reply with the message tells which
// server it is.
func ExampleClient_accept() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{Transform: echo.Upper}
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	client := &echo.Client{Accept: []func() transform.Transformer{echo.Upper}}
	conn, err := client.Connect(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	msg := []byte("hello")
	reply, err := conn.Echo(context.Background(), msg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (unchanged: %v)\n", reply, string(reply) == string(msg))
	// Output: HELLO (unchanged: false)
}

// The tutorials' TCP greeting server: each client gets one line, and the
// server closes the connection.
func ExampleServer_greeting() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{Greeting: "Thank you for connecting"}
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	line, err := io.ReadAll(c) // until the server closes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", line)
	// Output: "Thank you for connecting\n"
}

// Echo over TLS: the server serves a listener from tls.Listen, and the
// client dials through a tls.Dialer, its Dial hook. The certificate is
// made on the spot (see selfSigned); a real server loads its own with
// tls.LoadX509KeyPair.
func Example_tls() {
	cert, pool, err := selfSigned()
	if err != nil {
		log.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		log.Fatal(err)
	}
	srv := &echo.Server{}
	go srv.Serve(context.Background(), l)
	defer srv.Close()

	dialer := &tls.Dialer{Config: &tls.Config{RootCAs: pool}} // checks the certificate against pool
	client := &echo.Client{Dial: dialer.DialContext}
	conn, err := client.Connect(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.Echo(context.Background(), []byte("hello over TLS"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s\n", reply)
	// Output: hello over TLS
}

// selfSigned makes a certificate for 127.0.0.1 that signs itself, and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
