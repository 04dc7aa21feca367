package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/cli"
	"github.com/sockkit/sockkit/internal/clitest"
	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// TestServeTLS runs serve with -tls-cert and -tls-key and every listener:
// join -ca, an IRC client, the page over https and its socket over wss
// meet in one room; join without the right flags fails and says which
// flag would help.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	cert := tlstest.New(t)
	serve := func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return run(ctx, args, nil, stdout, stderr)
	}
	p := clitest.Start(t, serve, "serve", "-addr", "127.0.0.1:0", "-irc", "127.0.0.1:0", "-http", "127.0.0.1:0",
		"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	addr := clitest.WaitFor(t, &p.Stdout, `chat: serving on (\S+) over TLS`)
	ircAddr := clitest.WaitFor(t, &p.Stdout, `chat: serving IRC on (\S+) over TLS`)
	page := clitest.WaitFor(t, &p.Stdout, `chat: serving the web page on (https://\S+)`)
	trust := &tls.Config{RootCAs: cert.Pool}
	ctx := context.Background()

	// watch is a Go client over TLS that sees the room.
	watch, err := (&chat.Client{Dial: (&tls.Dialer{Config: trust}).DialContext}).Join(ctx, addr, "watch")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	until := func(want string) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case e, ok := <-watch.Events():
				if !ok {
					t.Fatalf("watch's session ended before %q: %v", want, watch.Err())
				}
				if e.String() == want {
					return
				}
			case <-timeout:
				t.Fatalf("watch never saw %q", want)
			}
		}
	}

	// join -ca trusts the server's own certificate.
	var annOut, annErr clitest.Buffer
	if err := run(ctx, []string{"join", "-addr", addr, "-nick", "ann", "-ca", cert.CertFile},
		strings.NewReader("hi over TLS\n"), &annOut, &annErr); err != nil {
		t.Fatalf("join -ca: %v\n%s", err, annErr.String())
	}
	until("MSG lobby ann hi over TLS")
	if !strings.Contains(annOut.String(), "[lobby] <ann> hi over TLS") {
		t.Errorf("join -ca printed:\n%s", annOut.String())
	}

	// -insecure joins, with a warning.
	var insecureErr clitest.Buffer
	if err := run(ctx, []string{"join", "-addr", addr, "-nick", "risky", "-insecure"},
		strings.NewReader("unchecked\n"), io.Discard, &insecureErr); err != nil {
		t.Fatalf("join -insecure: %v", err)
	}
	until("MSG lobby risky unchecked")
	if !strings.Contains(insecureErr.String(), "chat join: warning: -insecure") {
		t.Errorf("join -insecure warned %q", insecureErr.String())
	}

	// An IRC client over TLS on the IRC port.
	irc, err := tls.Dial("tcp", ircAddr, trust)
	if err != nil {
		t.Fatal(err)
	}
	defer irc.Close()
	irc.SetDeadline(time.Now().Add(15 * time.Second))
	io.WriteString(irc, "NICK ivy\r\nUSER ivy 0 * :Ivy\r\n")
	lines := bufio.NewScanner(irc)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ":sockkit 001 ivy ") {
		t.Fatalf("first IRC line over TLS %q, want the welcome", lines.Text())
	}
	io.WriteString(irc, "PRIVMSG #lobby :hi from IRC over TLS\r\n")
	until("MSG lobby ivy hi from IRC over TLS")

	// The page over https, and its socket over wss from the page's
	// own origin.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: trust}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/1.1" || !strings.Contains(string(body), "<title>sockkit chat</title>") {
		t.Fatalf("GET %s: %s %s", page, resp.Proto, resp.Status)
	}
	origin := strings.TrimSuffix(page, "/")
	ws, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(page, "https")+"ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil {
		t.Fatalf("wss from %s: %v", origin, err)
	}
	defer ws.CloseNow()
	ws.Write(ctx, websocket.MessageText, []byte("/nick web"))
	ws.Write(ctx, websocket.MessageText, []byte("hi from the https page"))
	until("MSG lobby web hi from the https page")
	if _, resp, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(page, "https")+"ws",
		&websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {"https://evil.example"}}}); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("wss from another site: %v, want 403", err)
	}

	// Without the right flags, join fails and names the flag.
	for _, tc := range []struct {
		name string
		args []string
		ctx  time.Duration // bounds the join, when not zero
		want string
	}{
		{name: "-tls, system roots", args: []string{"-tls"}, want: "-ca FILE trusts"},
		{name: "-ca of another CA", args: []string{"-ca", tlstest.New(t).CertFile}, want: "-ca FILE trusts"},
		// The server waits for a handshake that never comes: a shorter
		// bound than join's own 10 s keeps the test short.
		{name: "no TLS", ctx: time.Second, want: "add -tls, -ca FILE or -insecure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jctx := ctx
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				jctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			args := append([]string{"join", "-addr", addr, "-nick", "nope"}, tc.args...)
			err := run(jctx, args, strings.NewReader(""), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("join %q: %v, want an error that says %q", tc.args, err, tc.want)
			}
		})
	}

	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestJoinTLSToPlain checks what join -tls says to a server without TLS.
func TestJoinTLSToPlain(t *testing.T) {
	t.Parallel()
	addr, stop := startServe(t)
	defer stop()
	err := run(context.Background(), []string{"join", "-addr", addr, "-nick", "x", "-insecure"}, strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "does not speak TLS") {
		t.Errorf("join -insecure to a plain server: %v", err)
	}
}

func TestTLSUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "-tls-cert", "cert.pem"},
		{"serve", "-tls-key", "key.pem"},
		{"join", "-nick", "x", "-ca", "ca.pem", "-insecure"},
	} {
		var errOut clitest.Buffer
		if err := run(context.Background(), args, strings.NewReader(""), io.Discard, &errOut); !errors.Is(err, cli.ErrUsage) {
			t.Errorf("run(%q) = %v, want a usage error", args, err)
		}
		if !strings.Contains(errOut.String(), "usage:") {
			t.Errorf("run(%q) printed no usage: %q", args, errOut.String())
		}
	}
	// Files that are not there are a failure, not a usage error.
	err := run(context.Background(), []string{"serve", "-addr", "127.0.0.1:0", "-tls-cert", "missing.pem", "-tls-key", "missing.pem"},
		strings.NewReader(""), io.Discard, io.Discard)
	if err == nil || errors.Is(err, cli.ErrUsage) || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("serve with missing certificate files: %v", err)
	}
}
