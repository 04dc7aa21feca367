// Command ntpload is the load tool of bench/timesync.sh: it measures how
// many NTP client requests per second a server answers on loopback.
//
//	ntpload -addr 127.0.0.1:12300 -socks 16 -window 8 -dur 2s
//
// Each of -socks UDP sockets keeps -window SNTPv4 client requests in
// flight: every valid reply (mode 4, origin matching a request of that
// socket) is counted and replaced by a new request. When a socket hears
// nothing for 5 ms, its requests in flight count as lost (until a late
// reply shows otherwise) and it sends a new window. The figures, one per line as "NAME VALUE UNIT":
//
//	ntp/rps   replies per second over all sockets
//	ntp/lost  requests lost
//	ntp/kod   Kiss-o'-Death replies (a server that rate-limits the tool)
//
// Every loop is bounded by -dur and the whole run by -timeout.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/sockkit/sockkit/internal/cli"
)

func main() { cli.Main("ntpload", run) }

type config struct {
	addr    string
	socks   int
	window  int
	dur     time.Duration
	timeout time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ntpload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:12300", "NTP server address")
	fs.IntVar(&cfg.socks, "socks", 16, "client sockets")
	fs.IntVar(&cfg.window, "window", 8, "requests in flight per socket")
	fs.DurationVar(&cfg.dur, "dur", 2*time.Second, "how long to measure")
	fs.DurationVar(&cfg.timeout, "timeout", 2*time.Minute, "bound on the whole run")
	if err := fs.Parse(args); err != nil {
		return cli.ErrUsage
	}
	if fs.NArg() != 0 || cfg.socks < 1 || cfg.window < 1 || cfg.dur <= 0 || cfg.dur > time.Hour {
		fs.Usage()
		return cli.ErrUsage
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	res, err := load(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ntp/rps %.0f req/s\nntp/lost %d req\nntp/kod %d req\n",
		float64(res.replies)/res.elapsed.Seconds(), res.lost, res.kod)
	return nil
}

type result struct {
	replies, lost, kod int64
	elapsed            time.Duration
}

// lossWait is how long a socket waits for a reply before it counts its
// requests in flight as lost and sends a new window. It is short, so that
// a server that drops requests when its socket buffer overflows is not
// left idle by the tool: on loopback a reply comes within microseconds or
// not at all.
const lossWait = 5 * time.Millisecond

// sock is one client socket of the load.
type sock struct {
	b        batcher
	id       uint64
	seq      uint64
	floor    uint64 // requests up to this sequence number were counted lost
	inFlight int
	last     time.Time // when a reply last came, or the window was sent
}

// load runs the load from one goroutine that polls every socket without
// ever sleeping: the tool has a core of its own, and a load tool that
// slept would make the server pay for waking it up with every reply.
// Requests and replies move in batches (sendmmsg, recvmmsg) where the
// system has them.
func load(ctx context.Context, cfg config) (result, error) {
	socks := make([]*sock, cfg.socks)
	defer func() {
		for _, s := range socks {
			if s != nil {
				s.b.close()
			}
		}
	}()
	for i := range socks {
		c, err := net.Dial("udp", cfg.addr)
		if err != nil {
			return result{}, err
		}
		b, err := newBatcher(c, cfg.window)
		if err != nil {
			c.Close()
			return result{}, err
		}
		socks[i] = &sock{b: b, id: uint64(i)}
	}
	var res result
	start := time.Now()
	end := start.Add(cfg.dur)
	now := start
	for iter := 0; ; iter++ {
		if iter%64 == 0 {
			now = time.Now()
			if !now.Before(end) {
				break
			}
			if err := ctx.Err(); err != nil {
				return result{}, err
			}
		}
		for _, s := range socks {
			if err := s.step(&res, cfg.window, now); err != nil {
				return result{}, err
			}
		}
	}
	res.elapsed = time.Since(start)
	return res, nil
}

// step tops up the socket's window of requests and takes what replies
// have come. Transmit timestamps carry the socket's id in the top 16 bits
// and a sequence number below, so that replies are matched without a
// table.
func (s *sock) step(res *result, window int, now time.Time) error {
	if k := window - s.inFlight; k > 0 {
		for i := range k {
			req := s.b.sendBuf(i)
			clear(req)
			req[0] = 0x23 // LI 0, VN 4, mode 3
			s.seq++
			binary.BigEndian.PutUint64(req[40:], s.id<<48|s.seq)
		}
		sent, err := s.b.send(k)
		if err != nil {
			return err
		}
		if s.inFlight == 0 {
			s.last = now
		}
		s.inFlight += sent
	}
	n, err := s.b.recv()
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("server not listening: %w", err)
		}
		return err
	}
	if n == 0 {
		if now.Sub(s.last) > lossWait {
			res.lost += int64(s.inFlight)
			s.inFlight = 0
			s.floor = s.seq
		}
		return nil
	}
	s.last = now
	for i := range n {
		buf := s.b.recvBuf(i)
		origin := binary.BigEndian.Uint64(buf[24:])
		if len(buf) < 48 || buf[0]&7 != 4 || origin>>48 != s.id {
			continue // not a reply to this socket
		}
		if origin&(1<<48-1) > s.floor {
			s.inFlight--
		} else {
			res.lost-- // a late reply: it was counted lost
		}
		if buf[1] == 0 {
			res.kod++
			continue
		}
		res.replies++
	}
	return nil
}

// batcher sends and receives the datagrams of one connected socket, many
// per system call where it can.
type batcher interface {
	sendBuf(i int) []byte    // the i-th request to send
	send(k int) (int, error) // sends the first k requests; returns how many went
	recv() (int, error)      // takes the replies that have come, without waiting; returns how many
	recvBuf(i int) []byte    // the i-th reply of the last recv
	close() error
}
