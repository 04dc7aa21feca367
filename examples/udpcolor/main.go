// Command udpcolor runs a UDP group chat with coloured names.
//
//	udpcolor serve [-addr 127.0.0.1:9090] [-color auto|always|never]
//	udpcolor join  [-addr 127.0.0.1:9090] -name NAME [-color auto|always|never]
//
// serve relays messages between members and prints the coloured
// transcript of the conversation; join reads lines from standard input,
// sends each one to the group, and prints the other members' messages
// with their names coloured. Colour is used on a terminal unless NO_COLOR
// is set; -color overrides that. Interrupt (Ctrl-C), SIGTERM and SIGHUP
// (the terminal was closed) stop either: the server says bye to every
// member, the member leaves the group, so that its name is free again at
// once; end of input, or an error reading it, leaves too. A second
// SIGHUP during the leave stops at once.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/udpcolor"
)

const usage = `usage:
  udpcolor serve [-addr 127.0.0.1:9090] [-color auto|always|never]
  udpcolor join  [-addr 127.0.0.1:9090] -name NAME [-color auto|always|never]
`

// stdin is what join reads; tests replace it.
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

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("udpcolor", "serve", usage, stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "UDP `address` to listen on")
	var color udpcolor.ColorMode
	fs.Var(&color, "color", "colour names: `auto`, always or never")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	pc, err := net.ListenPacket("udp", *addr)
	if err != nil {
		return err
	}
	srv := &udpcolor.Server{
		Transcript: stdout,
		Color:      color,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	fmt.Fprintf(stderr, "udpcolor: serving on %s\n", pc.LocalAddr())
	done := make(chan error, 1)
	// The server's context outlives the signal, so that Shutdown can say
	// bye to the members.
	go func() { done <- srv.ServePacket(context.WithoutCancel(ctx), pc) }()
	select {
	case err := <-done:
		return err // reading failed
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	srv.Shutdown(sctx)
	if err := <-done; !errors.Is(err, udpcolor.ErrServerClosed) {
		return err
	}
	return nil
}

func join(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("udpcolor", "join", usage, stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "UDP `address` of the server")
	name := fs.String("name", "", "your `name` in the group (required)")
	var color udpcolor.ColorMode
	fs.Var(&color, "color", "colour names: `auto`, always or never")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "udpcolor join: -name is required")
		fs.Usage()
		return cli.ErrUsage
	}
	jctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	var cl udpcolor.Client
	c, err := cl.Join(jctx, *addr, *name)
	cancel()
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(stderr, "udpcolor: joined %s as %s; type a line to send it, end of input to leave\n", *addr, *name)
	r := udpcolor.NewRenderer(stdout, nil, color)

	lines := make(chan string)
	readDone := make(chan error, 1)
	in := stdin
	go func() { readDone <- readLines(in, lines, c.Done()) }()

	for {
		select {
		case m, ok := <-c.Messages():
			if !ok {
				return c.Err() // the server ended the session
			}
			r.Message(m.Name, m.Text)
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
