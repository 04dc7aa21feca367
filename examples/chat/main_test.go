package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/internal/clitest"

	"github.com/sockkit/sockkit/internal/cli"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/termcolor"
)

// startServe runs "chat serve" in-process and returns its address and a
// func that stops it as an interrupt would.
func startServe(t *testing.T) (addr string, stop func()) {
	t.Helper()
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	p := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0")
	return clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+)`), func() { p.Stop() }
}

func TestServeAndJoin(t *testing.T) {
	t.Parallel()
	addr, stop := startServe(t)
	defer stop()

	// ann stays until her stdin closes; she prints what she sees.
	annIn, annInW := io.Pipe()
	annOut, annOutW := io.Pipe()
	annDone := make(chan error, 1)
	go func() {
		annDone <- run(context.Background(), []string{"join", "-addr", addr, "-nick", "ann"}, annIn, annOutW, io.Discard)
		annOutW.Close()
	}()
	annLines := bufio.NewScanner(annOut)
	waitFor := func(want string) {
		t.Helper()
		for annLines.Scan() {
			if annLines.Text() == want {
				return
			}
		}
		t.Fatalf("ann never saw %q", want)
	}
	waitFor("-- ann joined lobby")

	// bob's stdin is a pipe that ends: he says hi, asks who is there and
	// leaves with a quit word.
	var bobOut clitest.Buffer
	err := run(context.Background(), []string{"join", "-addr", addr, "-nick", "bob"},
		strings.NewReader("hi ann\r\n/who\n/me waves \x1b[31m\nbyebye\n"), &bobOut, io.Discard)
	if err != nil {
		t.Fatalf("bob: %v", err)
	}
	waitFor("[lobby] <bob> hi ann")
	waitFor("[lobby] * bob waves")
	waitFor("-- bob quit")
	for _, want := range []string{
		"-- bob joined lobby\n", "[lobby] <bob> hi ann\n", "-- in lobby: ann bob\n",
		"-- disconnected: goodbye (quit)\n",
	} {
		if !strings.Contains(bobOut.String(), want) {
			t.Errorf("bob's output lacks %q:\n%s", want, bobOut.String())
		}
	}
	if strings.Contains(bobOut.String(), "\x1b") {
		t.Errorf("colour or escape in output that is not a terminal: %q", bobOut.String())
	}

	// A pipe without /quit: the end of stdin is goodbye.
	if err := run(context.Background(), []string{"join", "-addr", addr, "-nick", "cy"},
		strings.NewReader("just passing\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("cy: %v", err)
	}
	waitFor("[lobby] <cy> just passing")
	waitFor("-- cy quit")

	// A taken nickname fails with one clear error.
	err = run(context.Background(), []string{"join", "-addr", addr, "-nick", "ANN"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "nick-taken") {
		t.Errorf("joining with a taken nickname: %v", err)
	}

	// The server shutting down ends ann's session normally.
	go io.Copy(io.Discard, annOut)
	stop()
	if err := <-annDone; err != nil {
		t.Errorf("ann: %v", err)
	}
	annInW.Close()
}

func TestServeIRC(t *testing.T) {
	t.Parallel()
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	p := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-irc", "127.0.0.1:0")
	addr := clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+)`)
	ircAddr := clitest.WaitFor(t, &p.Stdout, `chat: serving IRC on (\S+)`)

	ann, err := chat.Dial(context.Background(), addr, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	c, err := net.Dial("tcp", ircAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	io.WriteString(c, "NICK ivy\r\nUSER ivy 0 * :Ivy\r\nPRIVMSG #lobby :hi from IRC\r\n")
	lines := bufio.NewScanner(c)
	if !lines.Scan() || lines.Text() != ":sockkit 001 ivy :Welcome to the sockkit IRC network, ivy!ivy@sockkit" {
		t.Fatalf("first IRC line %q, want the welcome", lines.Text())
	}
	for e := range ann.Events() {
		if e.Kind == chat.KindMessage {
			if e.Nick != "ivy" || e.Text != "hi from IRC" {
				t.Errorf("ann got %+v", e)
			}
			break
		}
	}
	// An interrupt closes the IRC listener too, with a goodbye.
	if err := p.Stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	var last string
	for lines.Scan() {
		last = lines.Text()
	}
	if last != "ERROR :Closing link: server shutting down" {
		t.Errorf("last IRC line %q, want the ERROR", last)
	}
}

// TestServeWeb runs serve with -http: the page at /, and a browser's
// socket at /ws in the same lobby as a TCP user.
func TestServeWeb(t *testing.T) {
	t.Parallel()
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	p := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-http", "127.0.0.1:0", "-origins", "example.com")
	addr := clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+)`)
	page := clitest.WaitFor(t, &p.Stdout, `chat: serving the web page on (\S+)`)

	resp, err := http.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>sockkit chat</title>") ||
		!strings.HasPrefix(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET %s: %s, CSP %q", page, resp.Status, resp.Header.Get("Content-Security-Policy"))
	}

	ctx := context.Background()
	ann, err := chat.Dial(ctx, addr, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	h := http.Header{"Origin": {"https://example.com"}} // allowed by -origins
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(page, "http")+"ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte("/nick web"))
	ws.Write(ctx, websocket.MessageText, []byte("hi from the page"))
	for e := range ann.Events() {
		if e.Kind == chat.KindMessage {
			if e.String() != "MSG lobby web hi from the page" {
				t.Errorf("ann got %q", e)
			}
			break
		}
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	var last string
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			break
		}
		last = string(msg)
	}
	if last != "BYE shutdown server shutting down" {
		t.Errorf("the browser's last line: %q, want the shutdown BYE", last)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil, {"nope"}, {"join"}, {"join", "-nick"}, {"serve", "extra"}, {"serve", "-bogus"}, {"serve", "-irc"},
		{"serve", "-oneshot"}, {"serve", "-color", "purple"}, {"join", "-nick", "x", "-color", "bogus"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
		if !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
		if errOut.Len() == 0 {
			t.Errorf("run(%q) printed no usage", args)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, nil, &out, io.Discard); err != nil || !strings.Contains(out.String(), "chat join") {
		t.Errorf("help: %v %q", err, out.String())
	}
}

func TestJoinFails(t *testing.T) {
	t.Parallel()
	// Nothing listens on a port that was just closed.
	addr, stop := startServe(t)
	stop()
	err := run(context.Background(), []string{"join", "-addr", addr, "-nick", "x"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil {
		t.Fatal("join to a closed port succeeded")
	}
}

func TestPrinter(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &printer{w: &b}
	for _, line := range []string{
		"MSG lobby ann hi", "ME go bob waves", "PRIV ann bob psst", "JOIN lobby cy", "PART lobby cy",
		"QUIT lobby cy lunch", "QUIT lobby cy", "NICK lobby cy cyril", "ROOMS go=1 lobby=2", "WHO lobby ann bob",
		"INFO help text", "ERR nick-taken ann is taken", "BYE slow you did not read fast enough",
	} {
		e, err := chat.ParseEvent(line)
		if err != nil {
			t.Fatal(err)
		}
		p.print(e)
	}
	want := `[lobby] <ann> hi
[go] * bob waves
(private) <ann → bob> psst
-- cy joined lobby
-- cy left lobby
-- cy quit (lunch)
-- cy quit
-- cy is now cyril
-- rooms: go=1 lobby=2
-- in lobby: ann bob
-- help text
!! ann is taken (nick-taken)
-- disconnected: you did not read fast enough (slow)
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}

	// With colours, a nickname always gets the same colour whatever its
	// case, at either depth.
	for _, d := range []termcolor.Depth{termcolor.Colors16, termcolor.Colors256} {
		p.depth = d
		a, b := p.name("Ann"), p.name("ann")
		if a[:len(a)-len("Ann\x1b[0m")] != b[:len(b)-len("ann\x1b[0m")] || !strings.HasPrefix(a, "\x1b[") {
			t.Errorf("%v: colours %q and %q", d, a, b)
		}
	}
	p.depth = termcolor.Colors16
	for i, c := range nickColors {
		n := termcolor.Nearest16(c)
		if n == 0 || n == 7 || n == 8 || n == 15 {
			t.Errorf("nickColors[%d] = %d is black, white or grey at 16 colours", i, c)
		}
		for _, c2 := range nickColors[:i] {
			if termcolor.Nearest16(c2) == n {
				t.Errorf("nickColors %d and %d are the same at 16 colours", c2, c)
			}
		}
	}
}

// startConsole runs "chat serve" with the console on in-process, its
// stdin a pipe the test writes to, and returns the program, its address
// and the pipe.
func startConsole(t *testing.T, args ...string) (p *clitest.Program, addr string, stdin *io.PipeWriter) {
	t.Helper()
	in, inW := io.Pipe()
	t.Cleanup(func() { inW.Close() })
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, in, stdout, stderr)
	}
	p = clitest.Start(t, serve, append([]string{"serve", "-addr", "127.0.0.1:0", "-console"}, args...)...)
	addr = clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+)`)
	clitest.WaitFor(t, &p.Stdout, `chat: you are operator in the lobby`)
	return p, addr, inW
}

// The operator at the console talks with a client; q from the operator
// stops the server, and the client gets its goodbye.
func TestConsole(t *testing.T) {
	t.Parallel()
	p, addr, stdin := startConsole(t)
	defer stdin.Close()
	ann, err := chat.Dial(context.Background(), addr, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	clitest.WaitFor(t, &p.Stdout, `(?m)^-- ann joined lobby$`)
	if err := ann.Say(context.Background(), "hi, who is there?"); err != nil {
		t.Fatal(err)
	}
	clitest.WaitFor(t, &p.Stdout, `(?m)^\[lobby\] <ann> hi, who is there\?$`)
	io.WriteString(stdin, "the operator. hello ann\n")
	for e := range ann.Events() {
		if e.Kind == chat.KindMessage && e.Nick == "operator" {
			if e.Text != "the operator. hello ann" {
				t.Errorf("ann got %+v", e)
			}
			break
		}
	}
	// Nobody else can be the operator.
	if _, err := chat.Dial(context.Background(), addr, "Operator"); err == nil || !strings.Contains(err.Error(), "nick-taken") {
		t.Errorf("a client took the operator's nickname: %v", err)
	}

	io.WriteString(stdin, "q\n")
	clitest.WaitFor(t, &p.Stdout, `(?m)^chat: stopped$`) // by itself
	if err := p.Stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	for range ann.Events() {
	}
	var se *chat.ServerError
	if !errors.As(ann.Err(), &se) || se.Code != chat.ByeShutdown {
		t.Errorf("ann's session ended with %v, want BYE shutdown", ann.Err())
	}
	if !strings.Contains(p.Stdout.String(), "-- disconnected: goodbye (quit)") {
		t.Errorf("the console did not show its goodbye:\n%s", p.Stdout.String())
	}
}

// The tutorials' one-to-one chat, with their python3 client: it
// connects, recv(1024)s and send()s GBK, and its "byebye" ends the
// conversation, and with -oneshot the server.
func TestConsoleTutorial(t *testing.T) {
	t.Parallel()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed (Debian package python3)")
	}
	p, addr, stdin := startConsole(t, "-oneshot", "-charset", "gbk")
	defer stdin.Close()
	host, port, _ := net.SplitHostPort(addr)
	script := `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.settimeout(15)
s.connect((sys.argv[1], int(sys.argv[2])))
got = b''
def until(want):
    global got
    while want.encode('gbk') not in got:
        data = s.recv(1024)
        if not data:
            sys.exit('closed before ' + want)
        got += data
until('HELLO')
s.send('xiaoming\n'.encode('gbk'))
until('JOIN lobby xiaoming')
s.send('你好\n'.encode('gbk'))
until('MSG lobby operator')
until('\n')
s.send('byebye\n'.encode('gbk'))
while True:
    data = s.recv(1024)
    if not data:
        break
    got += data
for line in got.decode('gbk').splitlines():
    if line.startswith(('MSG ', 'BYE ')):
        print(line)
`
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out := make(chan string, 1)
	go func() {
		b, err := exec.CommandContext(ctx, py, "-c", script, host, port).CombinedOutput()
		if err != nil {
			b = append(b, "python3: "+err.Error()...)
		}
		out <- string(b)
	}()
	clitest.WaitFor(t, &p.Stdout, `(?m)^\[lobby\] <xiaoming> 你好$`)
	io.WriteString(stdin, "你好, xiaoming\n")
	got := strings.Split(strings.TrimSpace(<-out), "\n")
	want := []string{"MSG lobby xiaoming 你好", "MSG lobby operator 你好, xiaoming", "BYE quit goodbye"}
	if !cmp.Equal(want, got) {
		t.Errorf("python3 read %q, want %q", got, want)
	}
	clitest.WaitFor(t, &p.Stdout, `(?m)^-- xiaoming quit$`)
	clitest.WaitFor(t, &p.Stdout, `(?m)^chat: stopped$`) // by itself
}

func TestJoinColor(t *testing.T) {
	t.Parallel()
	addr, stop := startServe(t)
	defer stop()
	for _, tt := range []struct {
		mode string
		want bool
	}{{"always", true}, {"never", false}, {"auto", false}} {
		var out clitest.Buffer
		err := run(context.Background(), []string{"join", "-addr", addr, "-nick", "c" + tt.mode, "-color", tt.mode},
			strings.NewReader("hi\n"), &out, io.Discard)
		if err != nil {
			t.Fatalf("-color %s: %v", tt.mode, err)
		}
		if got := strings.Contains(out.String(), "\x1b["); got != tt.want {
			t.Errorf("-color %s into a buffer: colour %v, want %v:\n%q", tt.mode, got, tt.want, out.String())
		}
		if strings.Contains(out.String(), "charset") {
			t.Errorf("-color %s: the answer to /charset was shown:\n%s", tt.mode, out.String())
		}
	}
}

func TestServeBadCharset(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-charset", "klingon"}, nil, io.Discard, io.Discard)
	if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), "Charset") {
		t.Errorf("serve -charset klingon: %v, want a failure naming Charset", err)
	}
}

// TestServeNATS: the two commands of the README, in-process: a server
// that runs NATS inside, and a second one that joins it.
func TestServeNATS(t *testing.T) {
	t.Parallel()
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	first := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-nats", "embedded")
	natsURL := clitest.WaitFor(t, &first.Stdout, `chat: NATS at (nats://127\.0\.0\.1:\d+)`)
	clitest.WaitFor(t, &first.Stdout, `chat: rooms shared through NATS`)
	addrA := clitest.WaitFor(t, &first.Stdout, `chat: serving on (\S+)`)
	second := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-nats", natsURL)
	clitest.WaitFor(t, &second.Stdout, `chat: rooms shared through NATS`)
	addrB := clitest.WaitFor(t, &second.Stdout, `chat: serving on (\S+)`)

	ctx := context.Background()
	bob, err := chat.Dial(ctx, addrB, "bob")
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	for e := range bob.Events() { // bob is in the lobby once his JOIN is back
		if e.Kind == chat.KindJoin {
			break
		}
	}
	ann, err := chat.Dial(ctx, addrA, "ann")
	if err != nil {
		t.Fatal(err)
	}
	defer ann.Close()
	if _, err := chat.Dial(ctx, addrA, "BOB"); err == nil || !strings.Contains(err.Error(), "nick-taken") {
		t.Errorf("BOB on the other server: %v", err)
	}
	ann.Say(ctx, "hi bob")
	for e := range bob.Events() {
		if e.Kind == chat.KindMessage && e.Text == "hi bob" {
			break
		}
	}
	// The second server stops; then the first, and NATS with it.
	if err := second.Stop(); err != nil {
		t.Errorf("second server: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Errorf("first server: %v", err)
	}
}

func TestServeNATSFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "-nats-creds", "x.creds"}, "usage"},
		{[]string{"serve", "-addr", "127.0.0.1:0", "-nats", "nats://127.0.0.1:1", "-nats-creds", "/nonexistent/x.creds"}, "-nats-creds"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tc.args, nil, io.Discard, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.want) {
				t.Errorf("run(%q) = %v, stderr %q; want %q", tc.args, err, stderr.String(), tc.want)
			}
		})
	}
}
