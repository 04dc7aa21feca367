// Command chat runs a multi-user chat server and joins it.
//
//	chat serve [-addr 127.0.0.1:7070] [-irc 127.0.0.1:6667] [-http 127.0.0.1:8080 [-origins LIST]] [-quit-words byebye,q]
//	           [-charset NAME] [-console] [-oneshot] [-color auto|always|never]
//	           [-nats URL|embedded [-nats-creds FILE]] [-tls-cert FILE -tls-key FILE]
//	chat join [-addr 127.0.0.1:7070] -nick NAME [-color auto|always|never] [-tls [-ca FILE | -insecure]]
//
// serve runs the server until interrupted; people can also join it with
// nc, telnet or an IRC client, and with -irc it also listens for IRC
// clients alone (irssi -c 127.0.0.1 -p 6667), in the same rooms. With
// -http it serves the chat page at / and its WebSocket at /ws, for
// browsers, in the same rooms too (open http://127.0.0.1:8080/); -origins
// lets pages of other sites open the socket (see chat.WebSocket).
// -charset sets the charset of clients that do not choose one with
// /charset (GBK for the tutorials' clients, say).
//
// With -tls-cert and -tls-key every listener of serve speaks TLS: the
// main port (join -tls, openssl s_client -connect 127.0.0.1:7070, or an
// IRC client with TLS), the -irc port (irssi: /connect -tls 127.0.0.1
// 6667), and -http, which then serves https and wss. join -ca FILE
// checks the server's certificate against the CA certificates in FILE
// (a self-signed server's own certificate), -tls alone against the
// system's, and -insecure not at all, with a warning.
//
// When its stdin is a terminal (or with -console), serve also has an
// operator console: the person at the terminal is in the lobby as
// "operator", a nickname no client can take, sees every line of it and
// types answers, as in the tutorials' one-to-one chat. The operator
// leaving (a quit word such as q or byebye, /quit, or the end of stdin)
// stops the server, like the tutorials' server; with -oneshot the server
// also stops when the first client to join leaves, so that q from either
// side ends the conversation. The console's terminal speaks UTF-8.
//
// join reads lines from stdin (messages, or commands such as /join ROOM
// and /quit) and prints the room to stdout. On a terminal (stdin and
// stdout both), the line being typed has a line of its own, "> ", that
// what comes in is printed above without breaking it, with the usual
// editing keys, and the lines typed before on the up and down arrows;
// Ctrl-D on an empty line or Ctrl-C leaves. It works with stdin from a
// pipe too, reading lines as they come, and leaves when stdin ends:
//
//	printf 'hi\n/quit\n' | chat join -nick ann
//
// join and the console colour nicknames by the rules of -color: in auto
// mode (the default) only on a terminal whose TERM is set and not
// "dumb", and when NO_COLOR is unset or empty; with 256 colours when the
// terminal has them, else the 16 ANSI ones.
//
// With -nats, several serve commands share their rooms and nicknames
// through a NATS server with JetStream (see package chat/natshub);
// -nats embedded runs one inside the process, on a loopback port it
// prints, for the others to join:
//
//	chat serve -addr 127.0.0.1:7070 -nats embedded        # chat: NATS at nats://127.0.0.1:PORT
//	chat serve -addr 127.0.0.1:7071 -nats nats://127.0.0.1:PORT
//
// A bad or missing flag prints usage and exits 2; any other failure
// prints one line and exits 1.
package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/chat/natshub"
	"github.com/sockkit/sockkit/chat/natshub/natsembed"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/metrics"
	"github.com/sockkit/sockkit/internal/termcolor"
	"github.com/sockkit/sockkit/internal/tlsflag"
)

const defaultAddr = "127.0.0.1:7070"

const usage = `usage:
  chat serve [-addr 127.0.0.1:7070] [-irc 127.0.0.1:6667] [-http 127.0.0.1:8080 [-origins LIST]] [-quit-words byebye,q]
             [-charset NAME] [-console] [-oneshot] [-color auto|always|never]
             [-nats URL|embedded [-nats-creds FILE]] [-tls-cert FILE -tls-key FILE]
  chat join [-addr 127.0.0.1:7070] -nick NAME [-color auto|always|never] [-tls [-ca FILE | -insecure]]
`

func main() {
	cli.Main("chat", func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, os.Stdin, stdout, stderr)
	})
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	cmds := cli.Commands{
		"serve": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return serve(ctx, args, stdin, stdout, stderr)
		},
		"join": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			return join(ctx, args, stdin, stdout, stderr)
		},
	}
	return cli.Dispatch(ctx, "chat", usage, cmds, args, stdout, stderr)
}

func serve(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := cli.FlagSet("chat", "serve", usage, stderr)
	addr := fs.String("addr", defaultAddr, "`address` to listen on")
	quit := fs.String("quit-words", "byebye,q", "comma-separated `words` that end a session like /quit (empty: none)")
	ircAddr := fs.String("irc", "", "also serve IRC alone on this `address` (6667 is IRC's port)")
	httpAddr := fs.String("http", "", "also serve the chat page at / and its WebSocket at /ws on this `address`")
	origins := fs.String("origins", "", "comma-separated host `patterns` of other sites whose pages may open the WebSocket")
	charset := fs.String("charset", "", "`charset` of clients that do not choose one with /charset, such as GBK (default UTF-8)")
	console := fs.Bool("console", stdinIsTerminal(stdin), "be in the lobby as operator, reading stdin (default: when stdin is a terminal)")
	oneshot := fs.Bool("oneshot", false, "with the console: stop when the first client to join leaves")
	var color termcolor.Mode
	fs.Var(&color, "color", "colour the console's nicknames: `auto`, always or never")
	natsURL := fs.String("nats", "", "share rooms with other servers through the NATS server at this `URL`, or \"embedded\" to run one here")
	natsCreds := fs.String("nats-creds", "", "NATS credentials `file` (a user JWT and its seed)")
	var tf tlsflag.ServerFlags
	tf.Register(fs)
	ops := metrics.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if err := tf.Validate(); err != nil {
		fmt.Fprintln(stderr, "chat serve:", err)
		fs.Usage()
		return cli.ErrUsage
	}
	tlsConfig, err := tf.Config()
	if err != nil {
		return err
	}
	if *natsCreds != "" && *natsURL == "" {
		fmt.Fprintln(stderr, "chat serve: -nats-creds needs -nats")
		fs.Usage()
		return cli.ErrUsage
	}
	if *oneshot && !*console {
		fmt.Fprintln(stderr, "chat serve: -oneshot needs the console (-console)")
		fs.Usage()
		return cli.ErrUsage
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
	overTLS, scheme := "", "http"
	if tlsConfig != nil {
		l, ircL, httpL = listenTLS(tlsConfig, l, ircL, httpL)
		overTLS, scheme = " over TLS", "https"
	}
	srv := &chat.Server{Logger: ops.Logger(stderr), Charset: *charset, ShutdownTimeout: 5 * time.Second}
	logHandler := srv.Logger.Handler()
	stopMetrics, err := ops.Start("chat", stdout, srv.Logger, func() sockkit.Counters { return srv.Stats().Counters })
	if err != nil {
		for _, l := range []net.Listener{l, ircL, httpL} {
			if l != nil {
				l.Close()
			}
		}
		return err
	}
	defer stopMetrics()
	srv.QuitWords = list(*quit)
	if *natsURL != "" {
		hub, stop, err := shareRooms(*natsURL, *natsCreds, srv.Logger, stdout)
		if err != nil {
			for _, l := range []net.Listener{l, ircL, httpL} {
				if l != nil {
					l.Close()
				}
			}
			return err
		}
		defer stop() // after the server's Shutdown below
		srv.Hub = hub
	}
	fmt.Fprintf(stdout, "chat: serving on %s%s\n", l.Addr(), overTLS)
	errc := make(chan error, 4)
	// The signal context goes straight to Serve: its end is the graceful
	// shutdown, in which every client gets its "BYE shutdown".
	go func() { errc <- srv.Serve(ctx, l) }()
	serving := 1
	if ircL != nil {
		fmt.Fprintf(stdout, "chat: serving IRC on %s%s\n", ircL.Addr(), overTLS)
		go func() { errc <- srv.ServeIRC(ctx, ircL) }()
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
		fmt.Fprintf(stdout, "chat: serving the web page on %s://%s/\n", scheme, httpL.Addr())
		go func() { errc <- srv.Serve(ctx, ws) }()
		go func() {
			err := hs.Serve(httpL)
			if errors.Is(err, http.ErrServerClosed) {
				err = chat.ErrServerClosed
			}
			errc <- err
		}()
		serving += 2
	}
	var ended chan struct{} // closed when the console ends the conversation
	consoleErr := make(chan error, 1)
	if *console {
		ended = make(chan struct{})
		p := &printer{w: stdout, depth: termcolor.Detect(stdout, color)}
		go func() { consoleErr <- operate(ctx, srv, stdin, p, *oneshot, ended) }()
	}
	var err2 error
	select {
	case <-ctx.Done():
	case <-ended:
	case err2 = <-errc:
		serving--
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// After a signal this waits for the shutdown ctx started; after the
	// console's end or a failure it starts one. The browsers' sessions
	// get their BYE too.
	srv.Shutdown(shutCtx)
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
	if *console {
		if err := <-consoleErr; err != nil && (err2 == nil || errors.Is(err2, chat.ErrServerClosed)) {
			err2 = err
		}
	}
	if errors.Is(err2, chat.ErrServerClosed) {
		fmt.Fprintln(stdout, "chat: stopped")
		return nil
	}
	return err2
}

// shareRooms connects a natshub.Hub to the NATS server at url, or to
// one it starts here for "embedded", and returns it with a func that
// closes what it made.
func shareRooms(url, creds string, logger *slog.Logger, stdout io.Writer) (*natshub.Hub, func(), error) {
	var o natshub.Options
	o.Logger = logger
	if creds != "" {
		if _, err := os.Stat(creds); err != nil {
			return nil, nil, fmt.Errorf("-nats-creds: %w", err)
		}
		o.NATS = append(o.NATS, nats.UserCredentials(creds))
	}
	var ns *natsembed.Server
	if url == "embedded" {
		var err error
		if ns, err = natsembed.Start(natsembed.Options{}); err != nil {
			return nil, nil, err
		}
		url = ns.URL()
		fmt.Fprintf(stdout, "chat: NATS at %s (join with: chat serve -addr ANOTHER:PORT -nats %s)\n", url, url)
	}
	hub, err := natshub.Connect(url, o)
	if err != nil {
		if ns != nil {
			ns.Shutdown()
		}
		return nil, nil, err
	}
	if hub.Shared() {
		fmt.Fprintf(stdout, "chat: rooms shared through NATS at %s\n", redactURLs(url))
	} else {
		fmt.Fprintf(stdout, "chat: NATS at %s cannot share the rooms yet (not reachable, or no JetStream for the account); rooms are local-only until it can\n", redactURLs(url))
	}
	return hub, func() {
		hub.Close()
		if ns != nil {
			ns.Shutdown()
		}
	}, nil
}

// redactURLs returns a -nats value (one URL or several, separated by
// commas) with any password replaced by "xxxxx", for what is printed.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		if u, err := neturl.Parse(strings.TrimSpace(p)); err == nil {
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
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
	var color termcolor.Mode
	fs.Var(&color, "color", "colour nicknames: `auto`, always or never")
	var tf tlsflag.ClientFlags
	tf.Register(fs)
	if err := cli.Parse(fs, args, 0, 0); err != nil {
		return err
	}
	if *nick == "" {
		fmt.Fprintln(stderr, "chat join: -nick is required")
		fs.Usage()
		return cli.ErrUsage
	}
	if err := tf.Validate(); err != nil {
		fmt.Fprintln(stderr, "chat join:", err)
		fs.Usage()
		return cli.ErrUsage
	}
	client, err := joinClient(&tf, stderr)
	if err != nil {
		return err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := client.Join(dialCtx, *addr, *nick)
	cancel()
	if err != nil {
		return explainJoin(err, tf.Enabled())
	}
	defer conn.Close()
	// The program speaks UTF-8, whatever the server's charset for
	// clients that do not say.
	if err := conn.Command(ctx, "charset", "UTF-8"); err != nil {
		return err
	}
	quiet := true // until the answer to /charset, which is not news
	// On a terminal, a line of its own that what comes in does not break.
	in := openConsole(stdin, stdout)
	defer in.Close()
	p := &printer{w: in, depth: termcolor.Detect(stdout, color)}
	return talk(ctx, conn, in, p, ctx.Done(), func(e chat.Event) bool {
		if quiet && e.Kind == chat.KindInfo && e.Text == "your charset is now UTF-8" {
			quiet = false
			return false
		}
		return true
	})
}

// talk sends the lines read from in to the server as they are and
// prints the events that show, until the session ends; the end of the
// input, and an interrupt, mean goodbye. show, if not nil, sees every
// event first and says whether to print it. A goroutine blocked reading
// a terminal cannot be stopped: the program is ending when that matters.
func talk(ctx context.Context, conn *chat.Conn, in interface{ ReadLine() (string, error) }, p *printer, interrupted <-chan struct{}, show func(chat.Event) bool) error {
	inputDone := make(chan error, 1)
	go func() {
		for {
			line, err := in.ReadLine()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				inputDone <- err
				return
			}
			if err := conn.Send(context.Background(), line); err != nil {
				inputDone <- err
				return
			}
		}
	}()
	events := conn.Events()
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return ending(conn.Err())
			}
			if show == nil || show(e) {
				p.print(e)
			}
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

// operate is the operator's console: the person at stdin is in srv's
// lobby as chat.DefaultOperatorNick, over a pipe, and reads and types as
// with join. It closes ended when the conversation is over: when the
// operator leaves, or with oneshot when the first client to join the
// lobby leaves it; and returns once the operator's session has ended,
// which the server's shutdown brings about in the second case.
func operate(ctx context.Context, srv *chat.Server, stdin io.Reader, p *printer, oneshot bool, ended chan<- struct{}) error {
	var endOnce sync.Once
	end := func() { endOnce.Do(func() { close(ended) }) }
	defer end()
	srvEnd, opEnd := net.Pipe()
	served := make(chan error, 1)
	go func() { served <- srv.ServeOperator(context.WithoutCancel(ctx), srvEnd) }()
	joinCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := new(chat.Client).NewConn(joinCtx, opEnd, chat.DefaultOperatorNick)
	cancel()
	if err != nil {
		opEnd.Close()
		if serr := <-served; serr != nil && !errors.Is(serr, chat.ErrServerClosed) {
			return serr // a setting, which says more
		}
		return err
	}
	defer func() {
		conn.Close()
		<-served
	}()
	fmt.Fprintf(p.w, "chat: you are %s in the lobby; q, byebye or the end of input stops the server\n", conn.Nick())
	var peer string // with oneshot, the first client to join
	err = talk(ctx, conn, newPlainConsole(stdin, p.w), p, nil, func(e chat.Event) bool {
		if !oneshot || e.Room != chat.DefaultRoom {
			return true
		}
		switch {
		case e.Kind == chat.KindJoin && peer == "" && e.Nick != conn.Nick():
			peer = e.Nick
		case e.Kind == chat.KindNick && e.Nick == peer:
			peer = e.Target
		case (e.Kind == chat.KindQuit || e.Kind == chat.KindPart) && peer != "" && e.Nick == peer:
			end()
		}
		return true
	})
	end()
	return err
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

// stdinIsTerminal reports whether r is a terminal.
func stdinIsTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && termcolor.IsTerminal(f)
}

// nickColors are the colours of nicknames, in the 256-colour palette;
// at 16 colours they are, in order, bright red, green, bright yellow,
// bright blue, bright magenta, bright cyan, yellow, bright green,
// magenta and cyan: distinct at either depth, and none of them black,
// white or grey.
var nickColors = []uint8{203, 40, 221, 75, 171, 45, 208, 82, 162, 37}

// printer shows events as a person reads them.
type printer struct {
	w     io.Writer
	depth termcolor.Depth
}

// name returns nick, coloured by a hash of it when colours are on.
func (p *printer) name(nick string) string {
	if !p.depth.Enabled() {
		return nick
	}
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(nick)))
	return p.depth.Paint(nickColors[h.Sum32()%uint32(len(nickColors))], nick)
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
