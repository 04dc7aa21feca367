package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

func TestEchoTCPAndUDP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serve(l)
	go servePacket(pc)

	msg := bytes.Repeat([]byte("0123456789"), 10000)
	for _, network := range []string{"tcp", "udp"} {
		c, err := net.Dial(network, l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		want := msg
		if network == "udp" {
			want = msg[:1000]
		}
		go c.Write(want)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: err %v, echo equal %v", network, err, bytes.Equal(got, want))
		}
	}
}
