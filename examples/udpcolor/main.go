// Command udpcolor runs a UDP group chat with coloured names.
//
//	udpcolor serve [-addr 127.0.0.1:9090] [-color auto|always|never] [-console] [-charset NAME]
//	udpcolor join  [-addr 127.0.0.1:9090] -name NAME [-color auto|always|never] [-charset NAME] [-timeout 5s]
//
// serve relays messages between members and prints the coloured
// transcript of the conversation, the tutorial's plain "name : text"
// datagrams among them; join reads lines from standard input, sends each
// one to the group, and prints the other members' messages with their
// names coloured.
//
// join says that it is joining, then that it has joined. When nothing
// listens on the server's port, the host answers with ICMP port
// unreachable and join fails at once ("nothing listens on ...");
// otherwise it tries again, waiting longer each time, until -timeout
// (default 5 s) has passed without a welcome.
//
// When serve's standard input is a terminal, or with -console, it is the
// operator's console: each line typed there goes to the members as a
// message from "server", and to the last plain sender (the tutorial's
// client, which waits for it); plain senders then get no automatic
// "server : received". End of the console's input stops the server.
// -console=false turns the console off on a terminal.
//
// Colour is used on a terminal whose TERM is set and is not "dumb", unless
// NO_COLOR is set (and not empty); -color always or never overrides that.
// -charset NAME is the character set of the terminal, for what is printed
// on standard output and read from standard input (GBK on a Chinese
// Windows console, say: GBK, Big5, Shift_JIS, EUC-KR, ISO-8859-1,
// Windows-1252 or any IANA name); the network always carries UTF-8.
//
// Interrupt (Ctrl-C), SIGTERM and SIGHUP (the terminal was closed) stop
// either: the server says bye to every member, the member leaves the
// group, so that its name is free again at once; end of input, or an
// error reading it, leaves too. A second SIGHUP during the leave stops at
// once.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/charset"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/internal/termcolor"
	"github.com/sockkit/sockkit/udpcolor"
)

const usage = `usage:
  udpcolor serve [-addr 127.0.0.1:9090] [-color auto|always|never] [-console] [-charset NAME]
  udpcolor join  [-addr 127.0.0.1:9090] -name NAME [-color auto|always|never] [-charset NAME] [-timeout 5s]
`

// stdin is what join and serve's console read; tests replace it.
var stdin io.Reader = os.Stdin

// shutdownTimeout bounds the server's goodbyes and the member's leave.
const shutdownTimeout = 5 * time.Second

func main() { cli.Main("udpcolor", runHangup) }

// runHangup is run with SIGHUP added to the signals that stop it (cli.Main
// has SIGINT and SIGTERM): closing the terminal must leave the group as
// Ctrl-C does, not kill the member and leave its name taken until the
// server expires it. Once stopping has begun, a second SIGHUP kills.
func runHangup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGHUP)
	defer stop()
	context.AfterFunc(ctx, stop)
	return run(ctx, args, stdout, stderr)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return cli.Dispatch(ctx, "udpcolor", usage, cli.Commands{"serve": serve, "join": join}, args, stdout, stderr)
}

// colorFor resolves the -color mode for the terminal w, before w is
// wrapped in a charset's writer (which is no terminal).
func colorFor(w io.Writer, mode udpcolor.ColorMode) udpcolor.ColorMode {
	if termcolor.Detect(w, mode).Enabled() {
		return udpcolor.ColorAlways
	}
	return udpcolor.ColorNever
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && termcolor.IsTerminal(f)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("udpcolor", "serve", usage, stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "UDP `address` to listen on")
	var color udpcolor.ColorMode
	fs.Var(&color, "color", "colour names: `auto`, always or never")
	console := fs.Bool("console", false, "read the operator's lines from standard input (default: when it is a terminal)")
	var cs charset.Flag
	fs.Var(&cs, "charset", charset.Usage("the terminal, for the transcript and the console"))
	ops := metrics.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	consoleSet := false
	fs.Visit(func(f *flag.Flag) { consoleSet = consoleSet || f.Name == "console" })
	if !consoleSet {
		*console = isTerminal(stdin)
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		return err
	}
	srv := &udpcolor.Server{
		Transcript: cs.Writer(stdout),
		Color:      colorFor(stdout, color),
		Operator:   *console,
		Logger:     ops.Logger(stderr),
		// A signal ends ctx, which is the graceful shutdown: every member
		// gets "bye NAME shutdown" within this time.
		ShutdownTimeout: shutdownTimeout,
	}
	stopMetrics, err := ops.Start("udpcolor", stderr, srv.Logger, func() sockkit.Counters { return srv.Stats().Counters })
	if err != nil {
		pc.Close()
		return err
	}
	defer stopMetrics()
	fmt.Fprintf(stderr, "udpcolor: serving on %s\n", pc.LocalAddr())
	done := make(chan error, 1)
	go func() { done <- srv.ServePacket(ctx, pc) }()

	var lines chan string
	var consoleDone chan error
	if *console {
		fmt.Fprintln(stderr, `udpcolor: console on: a line typed here goes to the members and to the last plain sender, as "server"; end of input stops the server`)
		lines, consoleDone = make(chan string), make(chan error, 1)
		quit := make(chan struct{})
		defer close(quit)
		in := cs.Reader(stdin)
		go func() { consoleDone <- readLines(in, lines, quit) }()
	}
	for {
		select {
		case err := <-done: // a signal (the graceful shutdown) or a failure
			if errors.Is(err, udpcolor.ErrServerClosed) {
				err = nil
			}
			return err
		case line := <-lines:
			if err := srv.Say(line); err != nil {
				fmt.Fprintln(stderr, cli.Message("udpcolor", err))
			}
		case consoleErr := <-consoleDone: // the operator's end of input
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
			srv.Shutdown(sctx)
			cancel()
			if err := <-done; !errors.Is(err, udpcolor.ErrServerClosed) {
				return err
			}
			return consoleErr
		}
	}
}

func join(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("udpcolor", "join", usage, stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "UDP `address` of the server")
	name := fs.String("name", "", "your `name` in the group (required)")
	var color udpcolor.ColorMode
	fs.Var(&color, "color", "colour names: `auto`, always or never")
	var cs charset.Flag
	fs.Var(&cs, "charset", charset.Usage("the terminal, for the messages shown and the lines typed"))
	timeout := fs.Duration("timeout", 5*time.Second, "give up joining when the server has not welcomed us within `D`")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "udpcolor join: -name is required")
		fs.Usage()
		return cli.ErrUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(stderr, "udpcolor join: -timeout %v: must be more than 0\n", *timeout)
		fs.Usage()
		return cli.ErrUsage
	}
	if udpcolor.ValidName(*name) { // else Join says what is wrong with it
		fmt.Fprintf(stderr, "udpcolor: joining %s as %s...\n", *addr, *name)
	}
	jctx, cancel := context.WithTimeout(ctx, *timeout)
	// -timeout, not a count of attempts, says when to give up; a host
	// where nothing listens answers the first one with ICMP port
	// unreachable, which ends the join at once.
	cl := udpcolor.Client{Attempts: 1 << 20}
	c, err := cl.Join(jctx, *addr, *name)
	cancel()
	switch {
	case err == nil:
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("nothing listens on %s (connection refused): is udpcolor serve running there?", *addr)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("no answer from %s within %v (-timeout): is udpcolor serve running there, and the port open?", *addr, *timeout)
	default:
		return err
	}
	defer c.Close()
	fmt.Fprintf(stderr, "udpcolor: joined %s as %s; type a line to send it, end of input to leave\n", *addr, *name)
	r := udpcolor.NewRenderer(cs.Writer(stdout), nil, colorFor(stdout, color))

	lines := make(chan string)
	readDone := make(chan error, 1)
	in := cs.Reader(stdin)
	go func() { readDone <- readLines(in, lines, c.Done()) }()

	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err() // the server ended the session
			}
			r.Print(m)
		case line := <-lines:
			if line == "" {
				continue
			}
			if err := c.Send(ctx, line); err != nil {
				fmt.Fprintln(stderr, "udpcolor: not sent:", err)
			}
		case err := <-readDone:
			// A closed terminal reads as an error (EIO), not always as
			// the end of input: leave either way.
			if lerr := leave(c); err == nil {
				return lerr
			}
			return err
		case <-ctx.Done():
			return leave(c)
		}
	}
}

// leave leaves the group within shutdownTimeout.
func leave(c *udpcolor.Conn) error {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	return c.Leave(ctx)
}

// readLines sends the lines of r to lines until r ends or done is closed.
// A line of more than udpcolor.MaxText bytes is cut there.
func readLines(r io.Reader, lines chan<- string, done <-chan struct{}) error {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if len(line) > udpcolor.MaxText {
			line = strings.ToValidUTF8(line[:udpcolor.MaxText], "")
		}
		if line != "" {
			select {
			case lines <- line:
			case <-done:
				return nil
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
