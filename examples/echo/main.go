// Command echo serves and uses the echo protocol (RFC 862) over TCP and
// UDP, and the tutorials' variants of it.
//
//	echo serve [-addr 127.0.0.1:7007] [-upper] [-greet TEXT] [-hello]
//	           [-rate N] [-burst N] [-tls-cert FILE -tls-key FILE]
//	echo send [-addr 127.0.0.1:7007] [-udp] [-expect auto|exact|upper]
//	          [-charset NAME] [-timeout 5s] [-tls [-ca FILE | -insecure]] MESSAGE...
//
// serve answers TCP and UDP on the same port until interrupted. With
// -upper it replies in upper case, as the tutorials' echo server does;
// with -greet TEXT its TCP side is the tutorials' greeting server instead
// (each client gets the line TEXT, then the server closes); with -hello
// its UDP side answers a datagram holding a name with "Hello, NAME!".
// -rate and -burst bound the datagrams answered per source address;
// -tls-cert and -tls-key make TCP use TLS (UDP stays plain).
//
// send sends the words of MESSAGE, joined by spaces, and prints the
// reply. By default (-expect auto) it accepts the message back unchanged
// or in upper case, and says on stderr which it was; -expect exact or
// -expect upper accepts only that one. -charset sends the message in
// another charset than UTF-8, and reads the reply in it. -tls connects
// with TLS, checking the server's certificate against the system's CAs,
// or against the certificates in -ca FILE; -insecure checks nothing
// (with a warning).
//
// A bad or missing flag prints usage and exits 2; any other failure
// prints one line and exits 1.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"time"

	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/echo"
	"github.com/sockkit/sockkit/internal/charset"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/internal/textsafe"
	"github.com/sockkit/sockkit/internal/tlsflag"
)

const defaultAddr = "127.0.0.1:7007"

// shutdownTimeout bounds the graceful shutdown that an interrupt starts.
const shutdownTimeout = 5 * time.Second

const usage = `usage:
  echo serve [-addr 127.0.0.1:7007] [-upper] [-greet TEXT] [-hello]
             [-rate N] [-burst N] [-tls-cert FILE -tls-key FILE]
  echo send [-addr 127.0.0.1:7007] [-udp] [-expect auto|exact|upper]
            [-charset NAME] [-timeout 5s] [-tls [-ca FILE | -insecure]] MESSAGE...
`

func main() { cli.Main("echo", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Dispatch(ctx, "echo", usage, cli.Commands{"serve": serve, "send": send}, args, stdout, stderr)
}

// badFlags reports flags that do not go together, as a usage error.
func badFlags(fs *flag.FlagSet, err error) error {
	fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
	fs.Usage()
	return cli.ErrUsage
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("echo", "serve", usage, stderr)
	addr := fs.String("addr", defaultAddr, "`address` to serve TCP and UDP on")
	upper := fs.Bool("upper", false, "reply in upper case")
	greet := fs.String("greet", "", "on TCP, send each client the line `TEXT` and close, instead of echoing")
	hello := fs.Bool("hello", false, `on UDP, answer a datagram holding a name with "Hello, NAME!" instead of echoing`)
	rate := fs.Float64("rate", echo.DefaultPacketsPerSecond, "UDP datagrams answered per second and source address; negative for no limit")
	burst := fs.Int("burst", echo.DefaultPacketBurst, "UDP datagrams answered at once per source address before -rate applies")
	var tf tlsflag.ServerFlags
	tf.Register(fs)
	ops := metrics.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if math.IsNaN(*rate) {
		return badFlags(fs, errors.New("-rate must be a number"))
	}
	if *burst < 0 {
		return badFlags(fs, errors.New("-burst must not be negative"))
	}
	if err := tf.Validate(); err != nil {
		return badFlags(fs, err)
	}
	tlsConfig, err := tf.Config()
	if err != nil {
		return err
	}
	srv := &echo.Server{Greeting: *greet, PacketsPerSecond: *rate, PacketBurst: *burst, ShutdownTimeout: shutdownTimeout, Logger: ops.Logger(stderr)}
	stopMetrics, err := ops.Start("echo", stdout, srv.Logger, func() sockkit.Counters { return srv.Stats().Counters })
	if err != nil {
		return err
	}
	defer stopMetrics()
	if *upper {
		srv.Transform = echo.Upper
	}
	if *hello {
		srv.PacketHandler = echo.Hello
	}

	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// UDP on the port TCP got, which matters when -addr asks for port 0.
	pc, err := net.ListenPacket("udp", l.Addr().String())
	if err != nil {
		l.Close()
		return err
	}
	if tlsConfig != nil {
		l = tls.NewListener(l, tlsConfig)
	}
	fmt.Fprintf(stdout, "echo: serving TCP and UDP on %s\n", l.Addr())
	fmt.Fprintf(stdout, "echo: TCP %s; UDP %s\n", describeTCP(srv, tlsConfig != nil), describeUDP(srv))
	// The signal context goes straight to Serve and ServePacket: its end
	// is the graceful shutdown, bounded by ShutdownTimeout.
	return cli.Serve(ctx, "echo", stdout, echo.ErrServerClosed, shutdownTimeout, srv.Shutdown,
		func(ctx context.Context) error { return srv.Serve(ctx, l) },
		func(ctx context.Context) error { return srv.ServePacket(ctx, pc) })
}

// describeTCP says what the server does on TCP.
func describeTCP(srv *echo.Server, overTLS bool) string {
	what := "echoes"
	switch {
	case srv.Greeting != "":
		what = fmt.Sprintf("greets with %q", srv.Greeting)
	case srv.Transform != nil:
		what = "echoes in upper case"
	}
	if overTLS {
		what += ", over TLS"
	}
	return what
}

// describeUDP says what the server does on UDP, and how often.
func describeUDP(srv *echo.Server) string {
	what := "echoes"
	switch {
	case srv.PacketHandler != nil:
		what = `answers NAME with "Hello, NAME!"`
	case srv.Transform != nil:
		what = "echoes in upper case"
	}
	if srv.PacketsPerSecond < 0 {
		return what + ", with no rate limit"
	}
	return fmt.Sprintf("%s, at most %g datagrams/s per source (bursts of %d)", what, srv.PacketsPerSecond, srv.PacketBurst)
}

// expectFlag is -expect: which replies send accepts.
type expectFlag string

const (
	expectAuto  expectFlag = "auto"  // the message unchanged or in upper case
	expectExact expectFlag = "exact" // the message unchanged
	expectUpper expectFlag = "upper" // the message in upper case
)

func (e *expectFlag) String() string { return string(*e) }

func (e *expectFlag) Set(s string) error {
	switch m := expectFlag(s); m {
	case expectAuto, expectExact, expectUpper:
		*e = m
		return nil
	}
	return errors.New("want auto, exact or upper")
}

func send(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("echo", "send", usage, stderr)
	addr := fs.String("addr", defaultAddr, "server `address`")
	udp := fs.Bool("udp", false, "send one datagram instead of using TCP")
	expect := expectAuto
	fs.Var(&expect, "expect", "which replies to accept (`mode`): auto, the message back unchanged or in upper case; exact or upper, only that one")
	upper := fs.Bool("upper", false, "the same as -expect upper")
	var cs charset.Flag
	fs.Var(&cs, "charset", charset.Usage("the message sent and the reply"))
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	var tf tlsflag.ClientFlags
	tf.Register(fs)
	if err := cli.Parse(fs, args, 1, -1); err != nil {
		return err
	}
	if *upper {
		if expect != expectAuto && expect != expectUpper {
			return badFlags(fs, errors.New("-upper and -expect "+string(expect)+" contradict each other"))
		}
		expect = expectUpper
	}
	if err := tf.Validate(); err != nil {
		return badFlags(fs, err)
	}
	if *udp && tf.Enabled() {
		return badFlags(fs, errors.New("TLS is for TCP: -tls, -ca and -insecure do not go with -udp"))
	}
	msg, err := cs.Encode(strings.Join(fs.Args(), " "))
	if err != nil {
		return err
	}
	tlsConfig, err := tf.Config(stderr)
	if err != nil {
		return err
	}

	client := &echo.Client{}
	switch expect {
	case expectAuto:
		client.Accept = []func() transform.Transformer{echo.Upper}
	case expectUpper:
		client.Transform = echo.Upper
	}
	if tlsConfig != nil {
		client.Dial = (&tls.Dialer{Config: tlsConfig}).DialContext
	}
	network := "tcp"
	if *udp {
		network = "udp"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	conn, err := client.Connect(ctx, network, *addr)
	if err != nil {
		return tlsflag.Explain(err)
	}
	defer conn.Close()
	reply, err := conn.Echo(ctx, msg)
	if err == nil {
		// The rest of the reply, if the message ended inside a character
		// (of a charset other than UTF-8) that an upper-casing server
		// holds back until the client is done.
		var rest []byte
		rest, err = conn.Finish(ctx)
		reply = append(reply, rest...)
	}
	if err != nil {
		return explain(err, expect, *timeout, !*udp && tlsConfig == nil)
	}
	fmt.Fprintln(stdout, textsafe.Clean(cs.Decode(reply)))
	if expect == expectAuto {
		if bytes.Equal(reply, msg) {
			fmt.Fprintln(stderr, "echo send: the server sent the message back unchanged")
		} else {
			fmt.Fprintln(stderr, "echo send: the server sent the message back in upper case (as echo serve -upper does)")
		}
	}
	return nil
}

// hintError is an error of the echo package told in terms of the
// program's flags.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.hint }
func (e *hintError) Unwrap() error { return e.err }

// explain tells what went wrong in a round trip, and which flag helps;
// plainTCP says that the round trip was over TCP without TLS.
func explain(err error, expect expectFlag, timeout time.Duration, plainTCP bool) error {
	var me *echo.MismatchError
	switch {
	case errors.As(err, &me) && me.Upper:
		return &hintError{err, "the server sent the message back in upper case (as echo serve -upper does), which -expect " +
			string(expect) + " refuses: use -expect upper, or -expect auto (the default)"}
	case errors.As(err, &me) && me.Unchanged:
		return &hintError{err, "the server sent the message back unchanged, which -expect " +
			string(expect) + " refuses: use -expect exact, or -expect auto (the default)"}
	case errors.As(err, &me):
		return fmt.Errorf("%w; no -expect mode (auto, exact, upper) accepts that reply: is it an echo server? (echo serve -greet and -hello answer with text of their own)", err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		hint := "is it an echo server? echo serve -greet closes after its greeting"
		if plainTCP {
			hint += "; a server serving TLS closes on plain text: add -tls, -ca FILE or -insecure"
		}
		return fmt.Errorf("%w: the server closed the connection before the whole reply came (%s)", err, hint)
	case plainTCP && errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: no whole reply within -timeout %v (a server serving TLS waits for a handshake: add -tls, -ca FILE or -insecure)", err, timeout)
	}
	return tlsflag.Explain(err)
}
