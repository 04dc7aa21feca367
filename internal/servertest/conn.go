package servertest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// maxLine bounds the lines [ReadLine] reads.
const maxLine = 64 << 10

// ReadLine reads one line from c, up to its "\n", and returns it without
// its "\n" or "\r\n". It reads one byte at a time, so that nothing after
// the line is taken from c: a [Stream.Hold] can read a greeting and hand
// c back to the suite, which reads on. A line longer than 64 KiB is an
// error.
func ReadLine(c net.Conn) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < maxLine {
		n, err := c.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return string(bytes.TrimSuffix(line, []byte("\r"))), nil
			}
			line = append(line, b[0])
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
	return "", fmt.Errorf("servertest: line longer than %d bytes", maxLine)
}

// awaitClose reads from c, throwing away what it reads, until the server
// closes it (a read fails with io.EOF or a reset), and returns an error
// if patience runs out first.
func awaitClose(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(patience))
	buf := make([]byte, 32<<10)
	for {
		_, err := c.Read(buf)
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("the server had not closed the connection %v later", patience)
		default:
			return nil
		}
	}
}

// loopback is the address the suite's servers listen on and its clients
// dial from; other is a second source address on the same machine.
const (
	loopback = "127.0.0.1"
	other    = "127.0.0.2"
)

// dialFrom returns a DialFunc whose connections come from the address ip.
func dialFrom(ip string) DialFunc {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return d.DialContext
}

// listen returns a TCP listener on the loopback, closed at the end of the
// test.
func listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// listenPacket returns a UDP socket on the loopback, closed at the end of
// the test.
func listenPacket(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(loopback, "0"))
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// holdConn runs hold and closes its connection at the end of the test.
func holdConn(t testing.TB, hold func(context.Context, DialFunc, string) (net.Conn, error), dial DialFunc, addr string) net.Conn {
	t.Helper()
	c, err := hold(patientContext(t), dial, addr)
	if err != nil {
		t.Fatalf("opening a connection to hold: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
