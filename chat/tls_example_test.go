package chat_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/sockkit/sockkit/chat"
)

// The server over TLS: serve a tls.NewListener, and give the client a
// tls.Dialer's DialContext as its Dial. The certificate here is made on
// the spot and trusted by the client alone; a real server loads its own
// with tls.LoadX509KeyPair.
func Example_tls() {
	ctx := context.Background()
	cert, pool := selfSigned()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &chat.Server{}
	go srv.Serve(ctx, tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}))
	defer srv.Shutdown(ctx)

	// ServeIRC and a WebSocket behind an https server take TLS the same
	// way: every connection they are given may be a *tls.Conn.
	client := &chat.Client{Dial: (&tls.Dialer{Config: &tls.Config{RootCAs: pool}}).DialContext}
	alice, err := client.Join(ctx, l.Addr().String(), "alice")
	if err != nil {
		panic(err)
	}
	defer alice.Close()
	alice.Say(ctx, "hello over TLS")
	for range 3 {
		fmt.Println(<-alice.Events())
	}

	// A client that trusts only the system's CAs refuses the certificate.
	stranger := &chat.Client{Dial: (&tls.Dialer{}).DialContext}
	_, err = stranger.Join(ctx, l.Addr().String(), "mallory")
	fmt.Println("stranger refused:", err != nil)
	// Output:
	// WELCOME alice welcome; you are in lobby
	// JOIN lobby alice
	// MSG lobby alice hello over TLS
	// stranger refused: true
}

// selfSigned makes a certificate for 127.0.0.1, valid for an hour, and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
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
		panic(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
