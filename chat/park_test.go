package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/track"
)

// parkModes are the ways sessions wait here: parked where the system
// can park them, and in their goroutines (as with TLS, or off Linux)
// everywhere. Each test run in both sets noParking, so none of them is
// parallel.
func parkModes(t *testing.T) []bool {
	t.Helper()
	p, err := park.New()
	if err != nil {
		return []bool{false}
	}
	p.Close()
	return []bool{true, false}
}

// inMode runs f as a subtest with parking on or off.
func inMode(t *testing.T, parking bool, f func(t *testing.T)) {
	name := "parked"
	if !parking {
		name = "blocking"
	}
	t.Run(name, func(t *testing.T) {
		noParking = !parking
		defer func() { noParking = false }()
		f(t)
	})
}

// waitParked waits until n sessions of srv are parked, or fails.
func waitParked(t *testing.T, srv *Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for srv.Stats().Parked != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions parked, want %d", srv.Stats().Parked, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// idleWait waits until the sessions of srv are idle: all n of them
// parked when parking, or else just long enough for the last line to
// have been handled (a blocking session looks the same idle or not).
func idleWait(t *testing.T, srv *Server, parking bool, n int64) {
	t.Helper()
	if parking {
		waitParked(t, srv, n)
		return
	}
	time.Sleep(20 * time.Millisecond)
	if p := srv.Stats().Parked; p != 0 {
		t.Fatalf("%d sessions parked with parking off", p)
	}
}

// TestIdleSessionWakes checks each way an idle session comes back: the
// client sends a line (whole, or in parts with a wait between), a line
// is delivered to it, the server shuts down or closes, or a timeout
// passes.
func TestIdleSessionWakes(t *testing.T) {
	for _, parking := range parkModes(t) {
		inMode(t, parking, func(t *testing.T) {
			t.Run("data", func(t *testing.T) {
				srv := &Server{}
				addr, stop := start(t, srv)
				defer stop()
				alice := login(t, addr, "alice")
				idleWait(t, srv, parking, 1)
				alice.send("/who\n")
				alice.expect("WHO lobby alice")
				// Half a line, a wait (parked, the half kept), the rest.
				idleWait(t, srv, parking, 1)
				alice.send("hel")
				idleWait(t, srv, parking, 1)
				alice.send("lo\n")
				alice.expect("MSG lobby alice hello")
				// A long line cut in two the same way is still too long.
				idleWait(t, srv, parking, 1)
				alice.send(strings.Repeat("x", DefaultMaxLineBytes))
				idleWait(t, srv, parking, 1)
				alice.send("yz\nok\n")
				alice.expect("ERR too-long line longer than 1024 bytes; dropped")
				alice.expect("MSG lobby alice ok")
				alice.c.Close() // the shutdown need not wait for alice to read its BYE
			})
			t.Run("deliver", func(t *testing.T) {
				srv := &Server{}
				addr, stop := start(t, srv)
				defer stop()
				alice := login(t, addr, "alice")
				bob := login(t, addr, "bob")
				alice.expect("JOIN lobby bob")
				idleWait(t, srv, parking, 2)
				bob.send("hi alice\n")
				alice.expect("MSG lobby bob hi alice")
				bob.expect("MSG lobby bob hi alice")
				// alice got a line without sending one: she is still idle.
				idleWait(t, srv, parking, 2)
				bob.send("/msg alice psst\n")
				alice.expect("PRIV bob alice psst")
				alice.c.Close()
				bob.c.Close()
			})
			t.Run("shutdown", func(t *testing.T) {
				srv := &Server{}
				addr, stop := start(t, srv)
				alice := login(t, addr, "alice")
				r := dialRaw(t, addr) // no nickname yet
				r.line()
				idleWait(t, srv, parking, 2)
				stopped := make(chan struct{})
				go func() {
					defer close(stopped)
					stop()
				}()
				for _, c := range []*raw{alice, r} {
					c.until("BYE shutdown server shutting down")
					c.c.Close() // the server need not linger for it
				}
				<-stopped
				if st := srv.Stats(); st.Conns != 0 || st.Parked != 0 {
					t.Errorf("after Shutdown: %d connections, %d parked", st.Conns, st.Parked)
				}
			})
			t.Run("close", func(t *testing.T) {
				srv := &Server{}
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				errc := make(chan error, 1)
				go func() { errc <- srv.Serve(context.Background(), l) }()
				alice := login(t, l.Addr().String(), "alice")
				idleWait(t, srv, parking, 1)
				srv.Close()
				if err := <-errc; !errors.Is(err, ErrServerClosed) {
					t.Errorf("Serve returned %v", err)
				}
				alice.c.SetReadDeadline(time.Now().Add(hang))
				if _, err := io.Copy(io.Discard, alice.c); err != nil && !strings.Contains(err.Error(), "reset") {
					t.Errorf("after Close: %v", err)
				}
				if st := srv.Stats(); st.Conns != 0 || st.Parked != 0 || st.Nicks != 0 {
					t.Errorf("after Close: %d connections, %d parked, %d nicknames", st.Conns, st.Parked, st.Nicks)
				}
			})
			t.Run("idle", func(t *testing.T) {
				srv := &Server{IdleTimeout: 300 * time.Millisecond}
				addr, stop := start(t, srv)
				defer stop()
				alice := login(t, addr, "alice")
				alice.expect("BYE idle nothing received for 300ms")
				alice.expectEOF()
				if d := srv.Stats().Dropped.Idle; d != 1 {
					t.Errorf("Dropped.Idle = %d, want 1", d)
				}
			})
			t.Run("registration", func(t *testing.T) {
				srv := &Server{RegisterTimeout: 300 * time.Millisecond}
				addr, stop := start(t, srv)
				defer stop()
				r := dialRaw(t, addr)
				r.line() // HELLO
				r.expect("BYE timeout no nickname within 300ms")
				r.expectEOF()
			})
		})
	}
}

// TestNoGoroutinePerIdleSession connects idle clients in several rooms
// and counts the server's goroutines: with parking, a few for the whole
// server; then a line still reaches a room, and a shutdown says goodbye
// to all of them.
func TestNoGoroutinePerIdleSession(t *testing.T) {
	if len(parkModes(t)) == 1 {
		t.Skip("sessions are not parked on this system")
	}
	const n, rooms = 200, 4
	before := runtime.NumGoroutine()
	srv := &Server{MaxConnsPerSource: -1}
	addr, stop := start(t, srv)
	clients := make([]*raw, n)
	for i := range clients {
		// One at a time: a client that logs in while the one before is
		// leaving the lobby could get that PART before its own JOIN.
		clients[i] = login(t, addr, fmt.Sprintf("u%d", i))
		clients[i].send(fmt.Sprintf("/join room%d\n", i%rooms))
		clients[i].until(fmt.Sprintf("JOIN room%d u%d", i%rooms, i))
	}
	waitParked(t, srv, n)
	// Beside the test's own: Serve, the poller's Run, and the writers of
	// the last lines, which end an interval after their last write.
	deadline := time.Now().Add(hang)
	for {
		extra := runtime.NumGoroutine() - before
		if extra <= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines for %d idle sessions", extra, n)
		}
		time.Sleep(time.Millisecond)
	}

	clients[0].send("anyone?\n")
	for i := 0; i < n; i += rooms {
		clients[i].until("MSG room0 u0 anyone?")
	}
	stop()
	for _, c := range clients {
		c.until("BYE shutdown server shutting down")
	}
}

// A parked slow client is still dropped: TestSlowClient runs with every
// session parked between lines; this runs it with parking off too.
func TestSlowClientBlocking(t *testing.T) {
	inMode(t, false, TestSlowClient)
}

// A reader of scripted input: each step is bytes to return, or nil for
// "would block".
type stepReader struct{ steps [][]byte }

func (r *stepReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	s := r.steps[0]
	if s == nil {
		r.steps = r.steps[1:]
		return 0, errWouldBlock
	}
	n := copy(p, s)
	if n == len(s) {
		r.steps = r.steps[1:]
	} else {
		r.steps[0] = s[n:]
	}
	return n, nil
}

// TestLineReaderRelease reads lines that arrive in parts, with the
// buffer released at every "would block", as a parked session does: the
// lines come out whole, and a released reader holds no buffer, only the
// line in progress.
func TestLineReaderRelease(t *testing.T) {
	t.Parallel()
	steps := [][]byte{
		[]byte("one\ntw"), nil,
		[]byte("o\r\n"), nil,
		nil,
		[]byte("three"), nil,
		[]byte(" and more than twenty bytes, too long"), nil,
		[]byte(" still\nfour\n"), nil,
		[]byte("\n"),
	}
	pool := newBufPool(bufSize(20))
	lr := new(lineReader)
	lr.init(&stepReader{steps: steps}, 20, pool)
	var got []string
	var held []int // bytes held after each release
	for {
		b, err := lr.next()
		switch {
		case err == errWouldBlock:
			lr.release()
			if lr.buf != nil {
				t.Fatal("buffer kept after release")
			}
			held = append(held, len(lr.line))
			continue
		case err == errLineTooLong:
			got = append(got, "<too-long>")
			continue
		case err != nil:
			if err != io.EOF {
				t.Errorf("ended with %v", err)
			}
		default:
			got = append(got, string(b))
			continue
		}
		break
	}
	want := []string{"one", "two", "<too-long>", "four", ""}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("lines (-want +got):\n%s", d)
	}
	// "tw", nothing, nothing, "three", and nothing while a long line is
	// skipped, then nothing.
	if d := cmp.Diff([]int{2, 0, 0, 5, 0, 0}, held); d != "" {
		t.Errorf("bytes held while released (-want +got):\n%s", d)
	}
}

// A client found to speak IRC by its first line moves to IRC's line
// limit with what it has sent already: here into a larger buffer than
// MaxLineBytes needs, with the first line still being handled.
func TestSniffKeepsBufferedLines(t *testing.T) {
	for _, parking := range parkModes(t) {
		inMode(t, parking, func(t *testing.T) {
			addr, stop := start(t, &Server{MaxLineBytes: 100})
			defer stop()
			bob := login(t, addr, "bob")
			r := dialRaw(t, addr)
			r.line() // HELLO, to a client that has not spoken yet
			r.irc = true
			long := strings.Repeat("y", 300)
			r.send("NICK alice\r\nUSER alice 0 * :Real alice\r\nPRIVMSG #lobby :" + long + "\r\n")
			r.ircExpect(welcome("alice")...)
			r.until(num("366", "alice", "#lobby :End of /NAMES list"))
			bob.expect("JOIN lobby alice")
			bob.expect("MSG lobby alice " + long)
			r.send("QUIT\r\n")
			r.until("ERROR :Closing link: goodbye")
			bob.c.Close()
		})
	}
}

// stillServing returns the part of a Serve call for sessions made by
// hand in tests, whose scope has finished: it starts no goroutine, so a
// session's queue is written by nobody and stays for the test to look
// at.
func stillServing(tb testing.TB) *serving {
	tb.Helper()
	var g track.Group
	scope, err := g.Begin(context.Background(), io.NopCloser(nil), nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	scope.Finish(nil, nil)
	return &serving{scope: scope, lineBufs: newBufPool(bufSize(DefaultMaxLineBytes))}
}

// A write that fails closes the queue before its stop gives the reason;
// a session that ends meanwhile on its own (the client closed) ends with
// its own reason.
func TestFinishAfterFailedWrite(t *testing.T) {
	t.Parallel()
	s := new(Server)
	s.init()
	a, b := net.Pipe()
	defer b.Close()
	ss := newSession(s, stillServing(t), a)
	ss.mu.Lock()
	ss.closed, ss.dead = true, true // what the writer does before it calls stop
	ss.mu.Unlock()
	r := &reason{ByeQuit, "connection closed", "connection closed"}
	ss.finish(r)
	if got := ss.reason(); got != r {
		t.Errorf("ended with %+v, want %+v", got, r)
	}
}
