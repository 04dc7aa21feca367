package chat

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
)

// wsPair returns the two ends of one WebSocket: the server's, as the
// net.Conn a session gets, and the client's.
func wsPair(t *testing.T) (*wsConn, *websocket.Conn) {
	t.Helper()
	ws := new(WebSocket)
	hs := httptest.NewServer(ws)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ws.Accept()
		if err != nil {
			t.Error(err)
		}
		accepted <- c
	}()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	cc, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sc := (<-accepted).(*wsConn)
	t.Cleanup(func() {
		cc.CloseNow()
		sc.Close()
		ws.Close()
		hs.Close()
	})
	return sc, cc
}

func readMessage(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("%v message, want text", typ)
	}
	return string(b)
}

// TestWSConnReadDeadline checks what websocket.NetConn does not do: a
// read deadline that passes, or is set in the past while a Read waits,
// fails that Read and leaves the connection open, so that the session
// can still write its BYE and read on.
func TestWSConnReadDeadline(t *testing.T) {
	t.Parallel()
	sc, cc := wsPair(t)
	ctx := context.Background()

	sc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := sc.Read(make([]byte, 10)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	errc := make(chan error, 1)
	sc.SetReadDeadline(time.Time{})
	go func() {
		_, err := sc.Read(make([]byte, 10))
		errc <- err
	}()
	time.Sleep(10 * time.Millisecond) // most likely inside Read; either way it must fail
	sc.SetReadDeadline(time.Unix(1, 0))
	if err := <-errc; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read stopped by a past deadline: %v, want os.ErrDeadlineExceeded", err)
	}

	if _, err := sc.Write([]byte("BYE still open\n")); err != nil {
		t.Fatalf("Write after a read deadline: %v", err)
	}
	if got := readMessage(t, cc); got != "BYE still open" {
		t.Errorf("client got %q", got)
	}
	sc.SetReadDeadline(time.Time{})
	if err := cc.Write(ctx, websocket.MessageText, []byte("and reads")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(io.LimitReader(sc, int64(len("and reads\n"))))
	if err != nil || string(got) != "and reads\n" {
		t.Errorf("Read after the deadline was cleared: %q, %v", got, err)
	}
}

// TestWSConnWrite checks that each line of a Write is one message.
func TestWSConnWrite(t *testing.T) {
	t.Parallel()
	sc, cc := wsPair(t)
	in := "MSG lobby a one\nMSG lobby a two\n\nbad \xff byte\nno end"
	n, err := sc.Write([]byte(in))
	if err != nil || n != len(in) {
		t.Fatalf("Write: %d, %v", n, err)
	}
	var got []string
	for range 5 {
		got = append(got, readMessage(t, cc))
	}
	want := []string{"MSG lobby a one", "MSG lobby a two", "", "bad \uFFFD byte", "no end"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

// countingConn counts the writes made to its Conn.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes++
	return c.Conn.Write(p)
}

// TestWSConnWriteBatch checks that the messages of one Write leave in one
// write to the socket, and that writes are passed straight on outside.
func TestWSConnWriteBatch(t *testing.T) {
	t.Parallel()
	sc, cc := wsPair(t)
	counted := &countingConn{Conn: sc.raw}
	sc.fw.mu.Lock()
	sc.fw.w = counted
	sc.fw.mu.Unlock()
	in := "MSG lobby a one\nMSG lobby a two\nMSG lobby a three\n"
	if _, err := sc.Write([]byte(in)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MSG lobby a one", "MSG lobby a two", "MSG lobby a three"} {
		if got := readMessage(t, cc); got != want {
			t.Fatalf("message %q, want %q", got, want)
		}
	}
	sc.fw.mu.Lock()
	writes := counted.writes
	sc.fw.mu.Unlock()
	if writes != 1 {
		t.Errorf("three messages took %d writes to the socket, want 1", writes)
	}
}

// TestWSConnFrameLengths checks the three length forms of a text frame
// (RFC 6455, section 5.2) against a client nobody here wrote.
func TestWSConnFrameLengths(t *testing.T) {
	t.Parallel()
	sc, cc := wsPair(t)
	cc.SetReadLimit(-1)
	for _, n := range []int{0, 125, 126, 65535, 65536, 200000} {
		msg := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		if _, err := sc.Write([]byte(msg + "\n")); err != nil {
			t.Fatal(err)
		}
		if got := readMessage(t, cc); got != msg {
			t.Fatalf("a message of %d bytes came as one of %d", len(msg), len(got))
		}
	}
}

// TestWSConnNoDataAfterClose checks that once the close frame has gone,
// Write sends nothing more (RFC 6455, section 5.5.1).
func TestWSConnNoDataAfterClose(t *testing.T) {
	t.Parallel()
	sc, cc := wsPair(t)
	go cc.Read(context.Background()) // answers the close
	sc.CloseWrite()
	if _, err := sc.Write([]byte("MSG lobby a late\n")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after the close frame: %v, want net.ErrClosed", err)
	}
}

// TestWSConnWriteDeadline checks that a write to a browser that does not
// read fails as a TCP write does, with an error the session takes for a
// slow client.
func TestWSConnWriteDeadline(t *testing.T) {
	t.Parallel()
	sc, _ := wsPair(t) // the client never reads
	if err := sc.SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 8000) + "\n")
	var err error
	for i := 0; i < 100000 && err == nil; i++ {
		sc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		_, err = sc.Write(line)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write to a client that does not read: %v, want os.ErrDeadlineExceeded", err)
	}
}

// TestWSConnClose checks that Close ends a waiting Read and that reads
// after it fail.
func TestWSConnClose(t *testing.T) {
	t.Parallel()
	sc, _ := wsPair(t)
	errc := make(chan error, 1)
	go func() {
		_, err := sc.Read(make([]byte, 10))
		errc <- err
	}()
	sc.Close()
	if err := <-errc; err == nil {
		t.Error("a Read waiting while the connection closed returned no error")
	}
	if _, err := sc.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close returned no error")
	}
	if err := sc.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
