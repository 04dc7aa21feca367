package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/sockkit/sockkit/bench/internal/load"
)

// dialect is how a client of the load speaks to the server.
type dialect uint8

const (
	plain     dialect = iota // the line protocol over TCP, as nc speaks it
	webSocket                // the line protocol over a WebSocket at /ws, one message a line, as the page speaks it
	irc                      // IRC, on the server's IRC listener, as irssi speaks it
	nDialects
)

var dialectNames = [nDialects]string{"tcp", "ws", "irc"}

func (d dialect) String() string { return dialectNames[d] }

// mix says how many clients of each dialect there are, in turn: of
// every m[0]+m[1]+m[2] clients, the first m[0] speak plain, the next
// m[1] WebSocket and the last m[2] IRC ("1:1:1" is a third of each).
type mix [nDialects]int

// parseMix reads "TCP:WS:IRC" weights, such as "1:1:1" or "1:0:0".
func parseMix(s string) (mix, error) {
	var m mix
	f := strings.Split(s, ":")
	sum := 0
	for i := range m {
		if len(f) != len(m) {
			break
		}
		n, err := strconv.Atoi(f[i])
		if err != nil || n < 0 || n > 1000 {
			return mix{}, fmt.Errorf("bad -mix %q: want TCP:WS:IRC weights, such as 1:1:1", s)
		}
		m[i], sum = n, sum+n
	}
	if len(f) != len(m) || sum == 0 {
		return mix{}, fmt.Errorf("bad -mix %q: want TCP:WS:IRC weights, such as 1:1:1", s)
	}
	return m, nil
}

// of returns the dialect of client i.
func (m mix) of(i int) dialect {
	k := i % (m[0] + m[1] + m[2])
	for d := range nDialects {
		if k < m[d] {
			return d
		}
		k -= m[d]
	}
	return plain
}

// plainOnly reports whether every client speaks plain over TCP.
func (m mix) plainOnly() bool { return m[webSocket] == 0 && m[irc] == 0 }

func (m mix) String() string { return fmt.Sprintf("%d:%d:%d", m[0], m[1], m[2]) }

// The lines a client looks for, in its dialect.
var (
	msgPrefix     = []byte("MSG lobby ")        // plain and WebSocket: MSG lobby NICK TEXT
	ircMsgMarker  = []byte(" PRIVMSG #lobby :") // IRC: :NICK!USER@HOST PRIVMSG #lobby :TEXT
	byeSlow       = []byte("BYE slow")
	ircError      = []byte("ERROR ") // the last line of an IRC session
	quitPrefix    = []byte("QUIT ")
	ircQuitMarker = []byte(" QUIT ")
	tooSlow       = []byte("too slow")
)

// message returns the text of a message to the lobby in line l, as the
// client's dialect writes it, and false for any other line.
func (cl *client) message(l []byte) ([]byte, bool) {
	if cl.dialect == irc {
		if len(l) == 0 || l[0] != ':' {
			return nil, false
		}
		i := bytes.Index(l, ircMsgMarker)
		if i < 0 || bytes.IndexByte(l[:i], ' ') >= 0 {
			return nil, false
		}
		return l[i+len(ircMsgMarker):], true
	}
	if !bytes.HasPrefix(l, msgPrefix) {
		return nil, false
	}
	rest := l[len(msgPrefix):]
	sp := bytes.IndexByte(rest, ' ')
	if sp < 0 {
		return nil, false
	}
	return rest[sp+1:], true
}

// other notes what a line that is not a message says of slow clients:
// the client itself dropped, or another one.
func (cl *client) other(l []byte) {
	if cl.dialect == irc {
		switch {
		case bytes.HasPrefix(l, ircError):
			cl.kicked = true
		case len(l) > 0 && l[0] == ':' && bytes.Contains(l, ircQuitMarker) && bytes.HasSuffix(l, tooSlow):
			cl.slowSeen++
		}
		return
	}
	switch {
	case bytes.HasPrefix(l, byeSlow):
		cl.kicked = true
	case bytes.HasPrefix(l, quitPrefix) && bytes.HasSuffix(l, tooSlow):
		cl.slowSeen++
	}
}

// appendSay appends what the client sends to say msg in the lobby.
func (cl *client) appendSay(b, msg []byte) []byte {
	switch cl.dialect {
	case irc:
		b = append(b, "PRIVMSG #lobby :"...)
		return append(append(b, msg...), '\r', '\n')
	case webSocket:
		return append(b, msg...) // one message, no line ending
	}
	return append(append(b, msg...), '\n')
}

// dialer returns the dialer of a client; a stalled client gets a small
// receive buffer.
func dialer(stalled bool, local net.Addr) *net.Dialer {
	d := &net.Dialer{LocalAddr: local}
	if stalled {
		d.Control = smallReceiveBuffer
	}
	return d
}

// joinIRC registers as nick on the IRC listener at addr and joins
// #lobby (where registration puts it anyway).
func joinIRC(ctx context.Context, addr, nick string, stalled bool) (*client, error) {
	c, err := dialer(stalled, nil).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	cl := &client{nick: nick, dialect: irc, c: c, stalled: stalled, buf: make([]byte, 64<<10)}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "NICK %s\r\nUSER %s 0 * :%s\r\nJOIN #lobby\r\n", nick, nick, nick); err != nil {
		c.Close()
		return nil, err
	}
	prefix := ":" + nick + "!"
	for {
		l, err := cl.readLine()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("%s joining over IRC: %w", nick, err)
		}
		l = strings.TrimSuffix(l, "\r")
		if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, " JOIN #lobby") {
			return cl, nil
		}
		if strings.HasPrefix(l, "ERROR ") || ircError4xx(l) {
			c.Close()
			return nil, fmt.Errorf("%s joining over IRC: %s", nick, l)
		}
	}
}

// ircError4xx reports whether l is an error numeric (400 to 599) other
// than 422, which says there is no message of the day.
func ircError4xx(l string) bool {
	f := strings.Fields(l)
	return len(f) >= 2 && len(f[1]) == 3 && (f[1][0] == '4' || f[1][0] == '5') && f[1] != "422" && strings.HasPrefix(l, ":")
}

// joinWS opens a WebSocket to the server's HTTP listener at addr and
// takes nick, as the page does: "/nick NAME" as its first line. It sends
// no Origin header, as a program does (a browser's page would send its
// own host, which the server lets in too).
func joinWS(ctx context.Context, addr, nick string, stalled bool) (*client, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var raw *pollConn
	d := dialer(stalled, nil)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		raw = &pollConn{Conn: c}
		return raw, nil
	}}}
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws", &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		return nil, err
	}
	cl := &client{nick: nick, dialect: webSocket, ws: ws, raw: raw, stalled: stalled, buf: make([]byte, 4<<10)}
	if err := ws.Write(ctx, websocket.MessageText, []byte("/nick "+nick)); err != nil {
		ws.CloseNow()
		return nil, err
	}
	want := "JOIN lobby " + nick
	for {
		_, b, err := ws.Read(ctx)
		if err != nil {
			ws.CloseNow()
			return nil, fmt.Errorf("%s joining over WebSocket: %w", nick, err)
		}
		l := string(b)
		if l == want {
			return cl, nil
		}
		if strings.HasPrefix(l, "ERR ") || strings.HasPrefix(l, "BYE ") {
			ws.CloseNow()
			return nil, fmt.Errorf("%s joining over WebSocket: %s", nick, l)
		}
	}
}

// pollConn is the TCP connection under a WebSocket client's socket. A
// client that polls (every one but the probes) sets poll before it
// starts reading: then each read of the connection waits until poll has
// passed since the one before, as the plain clients' reads do, so that
// it reads what has come in the meantime at once, not message by
// message as the server writes them.
type pollConn struct {
	net.Conn
	poll time.Duration
	last time.Time
}

func (c *pollConn) Read(p []byte) (int, error) {
	if c.poll > 0 {
		if d := c.poll - time.Since(c.last); d > 0 {
			time.Sleep(d)
		}
	}
	n, err := c.Conn.Read(p)
	c.last = time.Now()
	return n, err
}

// wsReadLoop is readLoop for a WebSocket client: every message is a
// line, timed as it is parsed (polling, if the client polls, happens
// below, in its pollConn).
func (cl *client) wsReadLoop(win *load.Window) {
	for {
		_, r, err := cl.ws.Reader(context.Background())
		if err != nil {
			return
		}
		n := 0
		for {
			m, err := r.Read(cl.buf[n:])
			n += m
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
			if n == len(cl.buf) { // longer than any line the load sends: keep its start
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				break
			}
		}
		now := time.Now().UnixNano()
		cl.line(cl.buf[:n], now, win.In(now))
	}
}
