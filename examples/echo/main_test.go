package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// startServe runs "echo serve" in-process and returns its address.
func startServe(t *testing.T, args ...string) string {
	addr, _ := startServeProgram(t, args...)
	return addr
}

// startServeProgram runs "echo serve" in-process and returns its
// address and the program, whose output tells what it serves.
func startServeProgram(t *testing.T, args ...string) (string, *clitest.Program) {
	t.Helper()
	p := clitest.Start(t, run, append([]string{"serve", "-addr", "127.0.0.1:0"}, args...)...)
	addr := clitest.WaitFor(t, &p.Stdout, `serving TCP and UDP on (\S+)`)
	clitest.WaitFor(t, &p.Stdout, `echo: TCP .*\n`)
	return addr, p
}

// sendOut runs "echo send" with args and returns what it printed.
func sendOut(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"send"}, args...), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestSendExpect(t *testing.T) {
	t.Parallel()
	plain := startServe(t)
	upper := startServe(t, "-upper")
	const (
		sayUnchanged = "echo send: the server sent the message back unchanged\n"
		sayUpper     = "echo send: the server sent the message back in upper case (as echo serve -upper does)\n"
	)
	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string // what it says besides the reply (-expect auto)
		fails  string // in the error, which names the flag to use
	}{
		{name: "auto, plain tcp", args: []string{"-addr", plain, "hello", "world"}, stdout: "hello world\n", stderr: sayUnchanged},
		{name: "auto, plain udp", args: []string{"-addr", plain, "-udp", "over", "udp"}, stdout: "over udp\n", stderr: sayUnchanged},
		{name: "auto, upper tcp", args: []string{"-addr", upper, "straße"}, stdout: "STRASSE\n", stderr: sayUpper},
		{name: "auto, upper udp", args: []string{"-addr", upper, "-udp", "quiet"}, stdout: "QUIET\n", stderr: sayUpper},
		{name: "explicit auto", args: []string{"-addr", upper, "-expect", "auto", "hello"}, stdout: "HELLO\n", stderr: sayUpper},
		{name: "upper, upper tcp", args: []string{"-addr", upper, "-expect", "upper", "straße"}, stdout: "STRASSE\n"},
		{name: "-upper, upper udp", args: []string{"-addr", upper, "-upper", "-udp", "quiet"}, stdout: "QUIET\n"},
		{name: "-upper and -expect upper", args: []string{"-addr", upper, "-upper", "-expect", "upper", "ok"}, stdout: "OK\n"},
		{name: "exact, plain tcp", args: []string{"-addr", plain, "-expect", "exact", "hello"}, stdout: "hello\n"},
		{name: "exact, upper tcp", args: []string{"-addr", upper, "-expect", "exact", "hello"}, fails: "use -expect upper, or -expect auto"},
		{name: "exact, upper udp", args: []string{"-addr", upper, "-expect", "exact", "-udp", "-timeout", "300ms", "hello"}, fails: "use -expect upper, or -expect auto"},
		{name: "upper, plain tcp", args: []string{"-addr", plain, "-expect", "upper", "hello"}, fails: "use -expect exact, or -expect auto"},
		{name: "-upper, plain udp", args: []string{"-addr", plain, "-upper", "-udp", "-timeout", "300ms", "hello"}, fails: "use -expect exact, or -expect auto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := sendOut(tt.args...)
			if tt.fails != "" {
				var me *echo.MismatchError
				if err == nil || !strings.Contains(err.Error(), tt.fails) || !errors.As(err, &me) {
					t.Fatalf("send = %v, want a mismatch saying %q", err, tt.fails)
				}
				if stdout != "" {
					t.Errorf("printed %q after a mismatch", stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v (%s)", err, stderr)
			}
			if stdout != tt.stdout || stderr != tt.stderr {
				t.Fatalf("printed %q and %q, want %q and %q", stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestServeGreetAndHello(t *testing.T) {
	t.Parallel()
	addr, p := startServeProgram(t, "-greet", "Thank you for connecting", "-hello")
	if out := p.Stdout.String(); !strings.Contains(out, `TCP greets with "Thank you for connecting"; UDP answers NAME with "Hello, NAME!"`) {
		t.Errorf("serve says %q", out)
	}
	for range 3 { // client after client
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != "Thank you for connecting\n" {
			t.Fatalf("greeting %q, %v", got, err)
		}
	}
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 100)
	if _, err := c.Write([]byte("Ada")); err != nil {
		t.Fatal(err)
	}
	n, err := c.Read(buf)
	if err != nil || string(buf[:n]) != "Hello, Ada!" {
		t.Fatalf("UDP reply %q, %v", buf[:n], err)
	}

	// send, which expects an echo, says what the server is instead.
	for _, args := range [][]string{
		{"-addr", addr, "hi"},                    // shorter than the greeting: a mismatch
		{"-addr", addr, strings.Repeat("x", 40)}, // longer: the server closes first
		{"-addr", addr, "-udp", "-timeout", "300ms", "Ada"},
	} {
		if _, _, err := sendOut(args...); err == nil || !strings.Contains(err.Error(), "-greet") {
			t.Errorf("send %q = %v, want an error that mentions -greet", args, err)
		}
	}
}

// udpClient returns a UDP echo client of addr that sends each datagram
// once and waits timeout for its reply.
func udpClient(t *testing.T, addr string, timeout time.Duration) *echo.Conn {
	t.Helper()
	cl := &echo.Client{Timeout: timeout, Retries: -1}
	cn, err := cl.Connect(context.Background(), "udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn
}

func TestServeRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args     []string
		says     string
		answered int // then one more datagram is dropped, if not negative
	}{
		{[]string{"-rate", "0.001", "-burst", "2"}, "at most 0.001 datagrams/s per source (bursts of 2)", 2},
		{[]string{"-rate", "0.001"}, "at most 0.001 datagrams/s per source (bursts of 200)", 200},
		{[]string{"-rate", "-1"}, "with no rate limit", -300},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			addr, p := startServeProgram(t, tt.args...)
			if !strings.Contains(p.Stdout.String(), tt.says) {
				t.Errorf("serve says %q, want %q", p.Stdout.String(), tt.says)
			}
			cn := udpClient(t, addr, 10*time.Second)
			for i := range max(tt.answered, -tt.answered) {
				if _, err := cn.Echo(context.Background(), []byte("ping")); err != nil {
					t.Fatalf("datagram %d: %v", i+1, err)
				}
			}
			if tt.answered < 0 {
				return
			}
			// The rate adds a token every 1000 s: the next datagram is
			// dropped (a slow reply would only pass for a drop).
			_, err := udpClient(t, addr, 200*time.Millisecond).Echo(context.Background(), []byte("one more"))
			var te *echo.TimeoutError
			if !errors.As(err, &te) {
				t.Fatalf("datagram %d: %v, want it dropped (a timeout)", tt.answered+1, err)
			}
		})
	}
}

// recordingServer echoes every connection and returns, through next,
// the bytes each one sent, in order.
func recordingServer(t *testing.T) (addr string, next func() []byte) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var rec bytes.Buffer
				io.Copy(io.MultiWriter(c, &rec), c)
				got <- rec.Bytes()
			})
		}
	})
	t.Cleanup(func() { l.Close(); wg.Wait() })
	return l.Addr().String(), func() []byte {
		select {
		case b := <-got:
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("the server saw no connection end")
			return nil
		}
	}
}

func TestSendCharset(t *testing.T) {
	t.Parallel()
	addr, next := recordingServer(t)
	tests := []struct {
		charset, text, wire string // wire: the bytes sent, as Python's codecs make them
	}{
		{"GBK", "中文", "d6d0cec4"},
		{"GB18030", "中文€", "d6d0cec4a2e3"},
		{"Big5", "中文", "a4a4a4e5"},
		{"Shift-JIS", "日本語", "93fa967b8cea"},
		{"EUC-KR", "한국어", "c7d1b1b9beee"},
		{"Latin-1", "café", "636166e9"},
		{"Windows-1252", "€uro", "8075726f"},
		{"utf-8", "hé", "68c3a9"},
	}
	for _, tt := range tests {
		t.Run(tt.charset, func(t *testing.T) {
			stdout, stderr, err := sendOut("-addr", addr, "-charset", tt.charset, tt.text)
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if got := hex.EncodeToString(next()); got != tt.wire {
				t.Errorf("sent %s, want %s", got, tt.wire)
			}
			if stdout != tt.text+"\n" || !strings.Contains(stderr, "unchanged") {
				t.Errorf("printed %q and %q, want %q", stdout, stderr, tt.text+"\n")
			}
		})
	}
	upper := startServe(t, "-upper")
	for _, tt := range []struct{ charset, text, want string }{
		// The server upper-cases UTF-8. The Latin-1 é (e9) is no UTF-8 and
		// passes unchanged, but only once the client is done: it could be
		// the first byte of a character.
		{"Latin-1", "café", "CAFé"},
		{"GBK", "中文", "中文"},
		{"Shift_JIS", "日本語 text", "日本語 TEXT"},
	} {
		for _, expect := range []string{"auto", "upper"} {
			t.Run("upper-casing server, "+tt.charset+", "+expect, func(t *testing.T) {
				stdout, _, err := sendOut("-addr", upper, "-charset", tt.charset, "-expect", expect, tt.text)
				if err != nil || stdout != tt.want+"\n" {
					t.Fatalf("send = %q, %v; want %q", stdout, err, tt.want)
				}
			})
		}
	}
	t.Run("cannot encode", func(t *testing.T) {
		_, _, err := sendOut("-addr", addr, "-charset", "Latin-1", "5€")
		if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), "-charset Latin-1") || !strings.Contains(err.Error(), "U+20AC") {
			t.Fatalf("send = %v, want an error naming the charset and the character", err)
		}
	})
	t.Run("reply sanitised", func(t *testing.T) {
		// An escape sequence in the reply never reaches the terminal.
		stdout, _, err := sendOut("-addr", addr, "a\x1b[2Jb")
		next()
		if err != nil || stdout != "ab\n" {
			t.Fatalf("send = %q, %v; want the escape sequence removed", stdout, err)
		}
	})
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cert := tlstest.New(t)
	addr, p := startServeProgram(t, "-upper", "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	if !strings.Contains(p.Stdout.String(), "TCP echoes in upper case, over TLS") {
		t.Errorf("serve says %q", p.Stdout.String())
	}
	plain := startServe(t)
	tests := []struct {
		name   string
		args   []string
		stdout string
		stderr string
		fails  string
	}{
		{name: "-ca", args: []string{"-addr", addr, "-ca", cert.CertFile, "hello"}, stdout: "HELLO\n", stderr: "echo send: the server sent the message back in upper case"},
		{name: "-tls -ca", args: []string{"-addr", addr, "-tls", "-ca", cert.CertFile, "-expect", "upper", "hello"}, stdout: "HELLO\n"},
		{name: "-insecure", args: []string{"-addr", addr, "-insecure", "-expect", "upper", "hello"}, stdout: "HELLO\n", stderr: "echo send: warning: -insecure"},
		{name: "-tls, system roots", args: []string{"-addr", addr, "-tls", "hello"}, fails: "-ca FILE"},
		{name: "no TLS to a TLS server", args: []string{"-addr", addr, "-timeout", "5s", "hello"}, fails: "add -tls"},
		{name: "TLS to a plain server", args: []string{"-addr", plain, "-insecure", "hello"}, fails: "tls: "},
		{name: "UDP stays plain", args: []string{"-addr", addr, "-udp", "-expect", "upper", "hello"}, stdout: "HELLO\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := sendOut(tt.args...)
			if tt.fails != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fails) || errors.Is(err, cli.ErrUsage) {
					t.Fatalf("send = %v, want a failure saying %q", err, tt.fails)
				}
				return
			}
			if err != nil {
				t.Fatalf("send: %v (%s)", err, stderr)
			}
			if stdout != tt.stdout || !strings.HasPrefix(stderr, tt.stderr) || tt.stderr == "" && stderr != "" {
				t.Fatalf("printed %q and %q, want %q and %q", stdout, stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestSendTimeout(t *testing.T) {
	t.Parallel()
	// A server that reads and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	defer func() { l.Close(); <-done }()
	_, _, err = sendOut("-addr", l.Addr().String(), "-timeout", "100ms", "anyone?")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "-timeout 100ms") {
		t.Fatalf("send = %v, want the deadline of -timeout", err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"bogus"},
		{"send"},
		{"send", "-nope", "x"},
		{"send", "-expect", "bogus", "x"},
		{"send", "-upper", "-expect", "exact", "x"},
		{"send", "-charset", "klingon", "x"},
		{"send", "-charset", "", "x"},
		{"send", "-udp", "-tls", "x"},
		{"send", "-udp", "-insecure", "x"},
		{"send", "-ca", "ca.pem", "-insecure", "x"},
		{"send", "-timeout", "soon", "x"},
		{"serve", "-addr"},
		{"serve", "extra"},
		{"serve", "-rate", "fast"},
		{"serve", "-rate", "NaN"},
		{"serve", "-burst", "-1"},
		{"serve", "-tls-cert", "cert.pem"},
		{"serve", "-tls-key", "key.pem"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, &out, &errOut)
		if !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v, want a usage error (exit 2)", args, err)
		}
		if !strings.Contains(errOut.String(), "usage:") {
			t.Errorf("run(%q) printed no usage: %q", args, errOut.String())
		}
	}
}

func TestServeFailures(t *testing.T) {
	t.Parallel()
	addr := startServe(t)
	for _, args := range [][]string{
		{"-addr", addr}, // in use
		{"-addr", "127.0.0.1:0", "-tls-cert", "missing.pem", "-tls-key", "missing.pem"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"serve"}, args...), &out, &errOut)
		if err == nil || errors.Is(err, cli.ErrUsage) || strings.Contains(err.Error(), "\n") {
			t.Errorf("serve %q = %v, want a one-line failure", args, err)
		}
	}
}

func TestSendFailureIsOneLine(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1 of loopback: the dial is refused.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	err := run(ctx, []string{"send", "-addr", "127.0.0.1:1", "hi"}, &out, &errOut)
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("send to a closed port = %v, want a one-line error", err)
	}
	if errors.Is(err, cli.ErrUsage) {
		t.Fatalf("a network failure was reported as a usage error")
	}
}
