// Package dgram is the one datagram read loop of sockkit's UDP servers
// (echo, timesync, udpcolor): reading, in batches where the platform can
// (recvmmsg and sendmmsg on Linux), kernel receive timestamps when asked
// for, replies queued and sent together, and one way of telling the read
// errors that end a loop from those that pass.
//
// # Lifecycle
//
// A server starts the loop with [Serve] inside a [track.Scope] whose stop
// function sets a read deadline in the past ([Unblock]); the loop ends
// when a read fails and Config.Stopping reports true. A read deadline that
// someone else set is cleared (and Stopping asked again, so that a
// deadline set by a shutdown meanwhile is never lost); an ICMP "port
// unreachable" reported on the socket (about one earlier reply, not the
// socket), timeouts and passing shortages of buffers ([track.Temporary])
// are skipped; any other error ends the loop and is returned.
//
// # Sizes
//
// Each datagram is read into a buffer one byte larger than
// Config.MaxDatagram; a datagram that fills it, or that the kernel marks
// as cut short, is dropped whole and counted as Oversize.
package dgram

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/track"
)

// batchSize is how many datagrams one recvmmsg or sendmmsg call moves.
const batchSize = 32

// Datagram is one datagram read by the loop.
type Datagram struct {
	// Data is the datagram; it is valid only during the handler's call.
	Data []byte
	// From is its source.
	From Addr
	// RX is when it arrived: the kernel's receive timestamp when
	// Config.RxTimestamps is set and the system has them, otherwise the
	// clock read right after the read.
	RX time.Time
}

// Handler handles one datagram; it sends what it has to send through w.
// It is called from the loop's goroutine only.
type Handler func(w *Writer, d *Datagram)

// Config configures [Serve]. Its fields are resolved by the server.
type Config struct {
	// MaxDatagram is the largest datagram read; larger ones are dropped.
	MaxDatagram int
	// MaxReply is the capacity of the buffers [Writer.Buffer] returns.
	// Zero means admit.Factor times MaxDatagram.
	MaxReply int
	// RxTimestamps asks for kernel receive timestamps (SO_TIMESTAMPNS on
	// Linux) when Now is nil.
	RxTimestamps bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Stopping reports whether the server is shutting down; a failed
	// read then ends the loop.
	Stopping func() bool
	// Counters, if not nil, counts oversize datagrams, replies refused by
	// the anti-amplification rule, the bytes of the datagrams handed to
	// the handler, and the bytes sent.
	Counters *admit.Counters
	// Stamp, if not nil, is called on each reply sent with
	// [Writer.SendStamped], just before the system call that sends it (an
	// NTP server writes its transmit timestamp there).
	Stamp func(reply []byte, now time.Time)
	// Logger, if not nil, gets a debug line for each reply not sent.
	Logger *slog.Logger
	// Name prefixes log messages ("echo").
	Name string
}

// Unblock returns the stop function a server gives [track.Group.Begin]
// for pc: it sets a read deadline in the past, so that the loop's read
// returns while replies in flight can still be written.
func Unblock(pc net.PacketConn) func() {
	return func() { pc.SetReadDeadline(time.Unix(1, 0)) }
}

// Serve reads datagrams from pc and hands each to h until a read fails
// for good. It returns nil when it ended because cfg.Stopping reported
// true, and the read error otherwise. It does not close pc.
func Serve(pc net.PacketConn, cfg Config, h Handler) error {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxReply <= 0 {
		cfg.MaxReply = admit.Factor * cfg.MaxDatagram
	}
	if cfg.Stopping == nil {
		cfg.Stopping = func() bool { return false }
	}
	c := newConn(pc, cfg.RxTimestamps, cfg.Now)
	w := &Writer{c: c, cfg: &cfg}
	if b := newBatch(c, cfg.MaxDatagram); b != nil {
		c.batch = b
		return serveBatch(c, b, &cfg, w, h)
	}
	return serveSingle(c, &cfg, w, h)
}

// serveSingle is the loop of Serve that reads one datagram per call.
func serveSingle(c *conn, cfg *Config, w *Writer, h Handler) error {
	in := make([]byte, cfg.MaxDatagram+1)
	d := &Datagram{}
	for {
		n, from, rx, trunc, err := c.read(in)
		if err != nil {
			if c.readFailed(err, cfg) {
				return loopErr(err, cfg)
			}
			continue
		}
		if trunc || n > cfg.MaxDatagram {
			cfg.drop(admit.Oversize)
			continue
		}
		d.Data, d.From, d.RX = in[:n], from, rx
		cfg.received(n)
		h(w, d)
		w.flush()
		w.reset()
	}
}

func loopErr(err error, cfg *Config) error {
	if cfg.Stopping() || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (cfg *Config) received(n int) {
	if cfg.Counters != nil {
		cfg.Counters.Bytes(n, 0)
	}
}

func (cfg *Config) drop(why admit.Reason) {
	if cfg.Counters != nil {
		cfg.Counters.Drop(why)
	}
}

// readFailed reports whether a read error ends the loop, and clears what
// passes: a deadline set by someone else, an ICMP error about an earlier
// reply, a passing shortage of buffers.
func (c *conn) readFailed(err error, cfg *Config) bool {
	if cfg.Stopping() || errors.Is(err, net.ErrClosed) {
		return true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Someone else set a deadline on pc; it is not ours to keep. A
		// shutdown may have set its own meanwhile: look again after
		// clearing, or its deadline would be lost.
		c.pc.SetReadDeadline(time.Time{})
		return cfg.Stopping()
	}
	if track.Temporary(err) {
		time.Sleep(5 * time.Millisecond) // let buffers free up rather than spin
		return false
	}
	var ne net.Error
	return !isRefused(err) && !(errors.As(err, &ne) && ne.Timeout())
}

// Writer queues the datagrams a handler sends; the loop sends them
// together after the handler returns (or when the queue is full).
type Writer struct {
	c    *conn
	cfg  *Config
	bufs [][]byte
	next int
	q    []pending
}

type pending struct {
	to    Addr
	b     []byte
	stamp bool
}

// Buffer returns an empty buffer with room for Config.MaxReply bytes,
// valid until the handler returns.
func (w *Writer) Buffer() []byte {
	if w.next == len(w.bufs) {
		w.bufs = append(w.bufs, make([]byte, 0, w.cfg.MaxReply))
	}
	b := w.bufs[w.next][:0]
	w.next++
	return b
}

// Send queues b for to; b must stay unchanged until the handler returns.
// It is for addresses that have proven themselves (or for replies
// already checked against [Writer.Reply]'s rule).
func (w *Writer) Send(to Addr, b []byte) { w.queue(to, b, false) }

// SendStamped is Send, with Config.Stamp called on b just before it goes.
func (w *Writer) SendStamped(to Addr, b []byte) { w.queue(to, b, true) }

// Reply queues b as the reply to d, a datagram from a source that has not
// proven its address, if b is no larger than the anti-amplification
// budget ([admit.Budget]) of d; otherwise it counts the refusal and
// reports false.
func (w *Writer) Reply(d *Datagram, b []byte) bool {
	if len(b) > admit.Budget(len(d.Data)) {
		w.cfg.drop(admit.Amplification)
		return false
	}
	w.queue(d.From, b, false)
	return true
}

func (w *Writer) queue(to Addr, b []byte, stamp bool) {
	if len(b) == 0 || !to.IsValid() {
		return
	}
	w.q = append(w.q, pending{to: to, b: b, stamp: stamp})
	if len(w.q) >= batchSize {
		w.flush()
	}
}

// flush sends what is queued.
func (w *Writer) flush() {
	if len(w.q) == 0 {
		return
	}
	if w.cfg.Stamp != nil {
		now := w.cfg.Now()
		for _, p := range w.q {
			if p.stamp {
				w.cfg.Stamp(p.b, now)
			}
		}
	}
	w.c.write(w.q, w.cfg)
	w.q = w.q[:0]
}

// reset makes the buffers free for the next handler calls.
func (w *Writer) reset() { w.next = 0 }

func (cfg *Config) sent(p pending, err error) {
	if err != nil {
		if cfg.Logger != nil {
			cfg.Logger.Log(context.Background(), slog.LevelDebug, cfg.Name+": datagram not sent", "remote", p.to.String(), "err", err)
		}
		return
	}
	if cfg.Counters != nil {
		cfg.Counters.Bytes(0, len(p.b))
	}
}
