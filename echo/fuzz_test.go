package echo

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/textsafe"
	"golang.org/x/text/transform"
)

// recordConn is a net.Conn that keeps what is written to it.
type recordConn struct {
	net.Conn
	out bytes.Buffer
}

func (c *recordConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }
func (c *recordConn) RemoteAddr() net.Addr             { return pipeAddr{} }

// FuzzStream checks the server's stream path: whatever the input and
// however it is cut into reads, what goes back is the input (or the
// input upper-cased as a whole), byte for byte.
func FuzzStream(f *testing.F) {
	f.Add([]byte("hello"), []byte{1, 2}, false)
	f.Add([]byte("h\xc3\xa9llo \xe4\xb8\x96 stra\xc3\x9fe"), []byte{2, 1, 5, 1}, true)
	f.Add([]byte("\xff\xc3"), []byte{1}, true)
	f.Add([]byte("ŉŉŉ ǰ ΐ ﬀ"), []byte{1, 1, 1}, true)
	f.Fuzz(func(t *testing.T, data, cuts []byte, upper bool) {
		s := &Server{}
		if upper {
			s.Transform = Upper
		}
		s.init()
		rc := &recordConn{}
		sc := s.newStreamConn(rc)
		rest := data
		for _, c := range cuts {
			n := min(int(c), len(rest))
			if err := sc.send(rest[:n], false); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		if err := sc.send(rest, false); err != nil {
			t.Fatal(err)
		}
		if err := sc.send(nil, true); err != nil {
			t.Fatal(err)
		}
		want := data
		if upper {
			var err error
			if want, _, err = transform.Bytes(Upper(), data); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(rc.out.Bytes(), want) {
			t.Fatalf("cut %v: sent back %q, want %q", cuts, rc.out.Bytes(), want)
		}
	})
}

// FuzzHello checks the greeting handler on any datagram: no reply, or
// "Hello, NAME!" with a terminal-safe name, never more than ReplySlack
// bytes longer than the request.
func FuzzHello(f *testing.F) {
	for _, s := range []string{"Ada", "  bob\n", "\x1b[31meve", "\xff", "", "ŉŉ", strings.Repeat("n", MaxNameLen+1)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		reply := Hello(nil, req, nil)
		if len(reply) == 0 {
			return
		}
		if len(reply) > len(req)+8 {
			t.Fatalf("reply of %d bytes to %d", len(reply), len(req))
		}
		name, ok := strings.CutPrefix(string(reply), "Hello, ")
		if !ok || !strings.HasSuffix(name, "!") {
			t.Fatalf("reply %q is not a greeting", reply)
		}
		if err := textsafe.Check(name); err != nil {
			t.Fatalf("reply %q is not terminal-safe: %v", reply, err)
		}
	})
}
