// Command chat runs a multi-user chat server and joins it.
//
//	chat serve [-addr 127.0.0.1:7070] [-irc 127.0.0.1:6667] [-http 127.0.0.1:8080 [-origins LIST]] [-quit-words byebye,q]
//	chat join [-addr 127.0.0.1:7070] -nick NAME
//
// serve runs the server until interrupted; people can also join it with
// nc, telnet or an IRC client, and with -irc it also listens for IRC
// clients alone (irssi -c 127.0.0.1 -p 6667), in the same rooms. With
// -http it serves the chat page at / and its WebSocket at /ws, for
// browsers, in the same rooms too (open http://127.0.0.1:8080/); -origins
// lets pages of other sites open the socket (see chat.WebSocket). join reads lines from stdin (messages, or commands such as
// /join ROOM and /quit) and prints the room to stdout, with coloured
// nicknames when stdout is a terminal and NO_COLOR is not set. It works
// with stdin from a pipe too, and leaves when stdin ends:
//
//	printf 'hi\n/quit\n' | chat join -nick ann
//
// A bad or missing flag prints usage and exits 2; any other failure
// prints one line and exits 1.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/cli"
)

const defaultAddr = "127.0.0.1:7070"

const usage = `usage:
  chat serve [-addr 127.0.0.1:7070] [-irc 127.0.0.1:6667] [-http 127.0.0.1:8080 [-origins LIST]] [-quit-words byebye,q]
  chat join [-addr 127.0.0.1:7070] -nick NAME
`

func main() {
	cli.Main("chat", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, os.Stdin, stdout, stderr)
	})
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmds := cli.Commands{
		"serve": serve,
		"join": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return join(ctx, args, stdin, stdout, stderr)
		},
	}
	return cli.Dispatch(ctx, "chat", usage, cmds, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("chat", "serve", usage, stderr)
	addr := fs.String("addr", defaultAddr, "`address` to listen on")
	quit := fs.String("quit-words", "byebye,q", "comma-separated `words` that end a session like /quit (empty: none)")
	ircAddr := fs.String("irc", "", "also serve IRC alone on this `address` (6667 is IRC's port)")
	httpAddr := fs.String("http", "", "also serve the chat page at / and its WebSocket at /ws on this `address`")
	origins := fs.String("origins", "", "comma-separated host `patterns` of other sites whose pages may open the WebSocket")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var ircL net.Listener
	if *ircAddr != "" {
		if ircL, err = net.Listen("tcp", *ircAddr); err != nil {
			l.Close()
			return err
		}
	}
	var httpL net.Listener
	if *httpAddr != "" {
		if httpL, err = net.Listen("tcp", *httpAddr); err != nil {
			l.Close()
			if ircL != nil {
				ircL.Close()
			}
			return err
		}
	}
	logHandler := slog.NewTextHandler(stderr, nil)
	srv := &chat.Server{Logger: slog.New(logHandler)}
	srv.QuitWords = list(*quit)
	fmt.Fprintf(stdout, "chat: serving on %s\n", l.Addr())
	errc := make(chan error, 4)
	// Serve does not get ctx, whose end would close every connection at
	// once: an interrupt is a graceful Shutdown, so that every client
	// gets its "BYE shutdown".
	go func() { errc <- srv.Serve(context.WithoutCancel(ctx), l) }()
	serving := 1
	if ircL != nil {
		fmt.Fprintf(stdout, "chat: serving IRC on %s\n", ircL.Addr())
		go func() { errc <- srv.ServeIRC(context.WithoutCancel(ctx), ircL) }()
		serving++
	}
	var hs *http.Server
	if httpL != nil {
		ws := &chat.WebSocket{OriginPatterns: list(*origins)}
		mux := http.NewServeMux()
		mux.Handle("GET /{$}", chat.WebPage())
		mux.Handle("GET /ws", ws)
		hs = &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          slog.NewLogLogger(logHandler, slog.LevelWarn),
		}
		fmt.Fprintf(stdout, "chat: serving the web page on http://%s/\n", httpL.Addr())
		go func() { errc <- srv.Serve(context.WithoutCancel(ctx), ws) }()
		go func() {
			err := hs.Serve(httpL)
			if errors.Is(err, http.ErrServerClosed) {
				err = chat.ErrServerClosed
			}
			errc <- err
		}()
		serving += 2
	}
	var err2 error
	select {
	case <-ctx.Done():
	case err2 = <-errc:
		serving--
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx) // the browsers' sessions too: they get their BYE
	if hs != nil {
		// What is left is page loads, which take a moment, and the spare
		// connections browsers open ahead, which Shutdown would wait 5 s
		// for: a second's grace, then close.
		hctx, hcancel := context.WithTimeout(shutCtx, time.Second)
		hs.Shutdown(hctx)
		hcancel()
		hs.Close()
	}
	for ; serving > 0; serving-- {
		if err := <-errc; err2 == nil || errors.Is(err2, chat.ErrServerClosed) {
			err2 = err
		}
	}
	if errors.Is(err2, chat.ErrServerClosed) {
		fmt.Fprintln(stdout, "chat: stopped")
		return nil
	}
	return err2
}

// list splits a comma-separated flag value, dropping empty items.
func list(s string) []string {
	var items []string
	for _, w := range strings.Split(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			items = append(items, w)
		}
	}
	return items
}

func join(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("chat", "join", usage, stderr)
	addr := fs.String("addr", defaultAddr, "server `address`")
	nick := fs.String("nick", "", "your `nickname` (1-16 letters, digits, _ or -)")
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *nick == "" {
		fmt.Fprintln(stderr, "chat join: -nick is required")
		fs.Usage()
		return cli.ErrUsage
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := chat.Dial(dialCtx, *addr, *nick)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close()
	p := &printer{w: stdout, color: useColor(stdout)}

	// Lines from stdin go to the server as they are; the end of stdin
	// means goodbye. (A goroutine blocked reading a terminal cannot be
	// stopped; the program is ending when that matters.)
	inputDone := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 4096), 1<<20)
		for sc.Scan() {
			if err := conn.Send(context.Background(), strings.TrimSuffix(sc.Text(), "\r")); err != nil {
				inputDone <- err
				return
			}
		}
		inputDone <- sc.Err()
	}()

	events, interrupted := conn.Events(), ctx.Done()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return ending(conn.Err())
			}
			p.print(e)
		case err := <-inputDone:
			inputDone = nil
			if err != nil {
				return err
			}
			conn.Send(ctx, "/quit") // then wait for the BYE in events
		case <-interrupted:
			interrupted = nil
			quitCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			conn.Send(quitCtx, "/quit")
			cancel()
		}
	}
}

// ending turns the reason a session ended into the program's result:
// leaving and a server shutting down are normal, the rest are failures.
func ending(err error) error {
	var se *chat.ServerError
	if errors.As(err, &se) && (se.Code == chat.ByeQuit || se.Code == chat.ByeShutdown) {
		return nil
	}
	return err
}

// useColor reports whether w is a terminal and NO_COLOR is unset.
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// printer shows events as a person reads them.
type printer struct {
	w     io.Writer
	color bool
}

// name returns nick, coloured by a hash of it when colours are on.
func (p *printer) name(nick string) string {
	if !p.color {
		return nick
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(nick)))
	return fmt.Sprintf("\x1b[1;%dm%s\x1b[0m", 31+h.Sum32()%6, nick)
}

func (p *printer) print(e chat.Event) {
	var s string
	switch e.Kind {
	case chat.KindHello, chat.KindWelcome, chat.KindInfo:
		s = "-- " + e.Text
	case chat.KindMessage:
		s = fmt.Sprintf("[%s] <%s> %s", e.Room, p.name(e.Nick), e.Text)
	case chat.KindAction:
		s = fmt.Sprintf("[%s] * %s %s", e.Room, p.name(e.Nick), e.Text)
	case chat.KindPrivate:
		s = fmt.Sprintf("(private) <%s → %s> %s", p.name(e.Nick), p.name(e.Target), e.Text)
	case chat.KindJoin:
		s = fmt.Sprintf("-- %s joined %s", p.name(e.Nick), e.Room)
	case chat.KindPart:
		s = fmt.Sprintf("-- %s left %s", p.name(e.Nick), e.Room)
	case chat.KindQuit:
		s = fmt.Sprintf("-- %s quit", p.name(e.Nick))
		if e.Text != "" {
			s += " (" + e.Text + ")"
		}
	case chat.KindNick:
		s = fmt.Sprintf("-- %s is now %s", p.name(e.Nick), p.name(e.Target))
	case chat.KindRooms:
		s = "-- rooms: " + e.Text
	case chat.KindWho:
		s = fmt.Sprintf("-- in %s: %s", e.Room, e.Text)
	case chat.KindError:
		s = fmt.Sprintf("!! %s (%s)", e.Text, e.Code)
	case chat.KindBye:
		s = fmt.Sprintf("-- disconnected: %s (%s)", e.Text, e.Code)
	default:
		s = e.String()
	}
	fmt.Fprintln(p.w, s)
}
