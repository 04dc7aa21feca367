// Package admit is the one admission gate of every sockkit server: it
// decides, per source, whether a connection or a datagram is taken, and it
// holds the counters every server reports.
//
// The checks, in the order servers apply them:
//
//   - total connections: at most MaxConns at once ([Reason] Full);
//   - connections per source: at most MaxPerSource from one IP address, or
//     one IPv6 /64, which is what one host usually holds (SourceFull), so
//     that one host cannot take every slot;
//   - datagram size: larger than the server's limit (Oversize), checked by
//     the datagram loop;
//   - source port: port 0, and ports below 1024 unless the service answers
//     them (Port): a reply to a service port could start a loop with
//     another UDP service (echo, chargen, DNS, NTP);
//   - per-source rate: a token bucket per source ([ratelimit]) (Rate).
//
// And one rule bounds what may be sent back: to a source that has not
// proven its address (a datagram's source can be spoofed), a server sends
// at most [Factor] (three) times the bytes the source sent, the
// anti-amplification limit of QUIC (RFC 9000, section 8.1). Bytes are
// counted as they cross the network: each datagram's payload plus the 28
// bytes of its IPv4 and UDP headers ([Overhead], the smallest there is;
// IPv6 adds 20 more), which is what a reflected flood costs its victim.
// For the large datagrams of QUIC the headers hardly count; for the
// tutorials' few-byte requests they do: a 3-byte name may get the 11-byte
// "Hello, Ada!" back (39 bytes on the wire for 31), a 2-byte "%c" its
// 24-byte date. [Budget] computes it.
package admit

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
)

// Factor is how many times the bytes a source sent may be sent back to it
// before it has proven its address.
const Factor = 3

// Overhead is the size of the IPv4 and UDP headers of a datagram.
const Overhead = 28

// Budget returns how many payload bytes may be sent back in one datagram
// to a source that has not proven its address, after it sent a datagram
// of received payload bytes: Factor times its size on the wire, less the
// reply's own headers.
func Budget(received int) int { return Factor*(received+Overhead) - Overhead }

// DefaultPerSource is the default per-source connection cap for a server
// whose total limit is maxConns: a twentieth of it, at least 8. A negative
// maxConns (no total limit) gives a cap of 1,024.
func DefaultPerSource(maxConns int) int {
	if maxConns < 0 {
		return 1024
	}
	return max(8, maxConns/20)
}

// Conns resolves a stream server's MaxConns and MaxConnsPerSource fields
// (zero: def, and DefaultPerSource of the total; negative: no limit) into
// the connection limits of a Config, the one rule of every stream server.
func Conns(r *opt.Resolver, maxConns, perSource, def int) Config {
	total := opt.Unlimited(r, "MaxConns", maxConns, def)
	return Config{
		MaxConns:     total,
		MaxPerSource: opt.Unlimited(r, "MaxConnsPerSource", perSource, DefaultPerSource(total)),
	}
}

// Reason says why something was refused; OK means it was not.
type Reason uint8

// The reasons of [Gate]'s checks.
const (
	OK Reason = iota
	Full
	SourceFull
	Rate
	Oversize
	Port
	Malformed
	Amplification
	Idle
	Slow
)

var reasonNames = [...]string{"ok", "server full", "too many connections from this address", "over the rate limit",
	"too large", "from a service port", "malformed", "reply larger than 3x the request", "idle", "not reading"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Config sets the limits of a [Gate]. Every field is already resolved by
// the server: a negative value means no limit.
type Config struct {
	// MaxConns bounds the connections open at once; negative: no limit.
	MaxConns int
	// MaxPerSource bounds the connections from one source address;
	// negative: no limit.
	MaxPerSource int
	// AllowLowPorts lets datagrams from ports 1 to 1023 through [Gate.Port].
	AllowLowPorts bool
	// Rate and Burst set the per-source token bucket used by
	// [Gate.Allow]; a negative Rate means no limit, and zero Rate with
	// zero Burst means no limiter either.
	Rate  float64
	Burst int
	// MaxSources bounds the rate limiter's table (zero: its default).
	MaxSources int
}

// Gate applies a server's admission checks and keeps its counters. It is
// safe for concurrent use.
type Gate struct {
	cfg     Config
	limiter *ratelimit.Limiter
	total   atomic.Int64

	mu  sync.Mutex
	per map[netip.Addr]int

	// Counters are the server's counters; the server adds to them too.
	Counters Counters
}

// New returns a Gate for cfg.
func New(cfg Config) *Gate {
	g := &Gate{cfg: cfg, per: make(map[netip.Addr]int)}
	if cfg.Rate > 0 {
		g.limiter = ratelimit.New(ratelimit.Config{Rate: rate.Limit(cfg.Rate), Burst: max(cfg.Burst, 1), MaxSources: cfg.MaxSources})
	}
	return g
}

// Conn admits a new connection from remote. If the reason is OK, the
// Ticket holds its place, which [Ticket.Release] gives back when the
// connection ends; otherwise the refusal is counted and the caller
// refuses the connection (with a protocol error line where the protocol
// has one).
func (g *Gate) Conn(remote net.Addr) (Ticket, Reason) {
	if n := g.total.Add(1); g.cfg.MaxConns >= 0 && n > int64(g.cfg.MaxConns) {
		g.total.Add(-1)
		g.Counters.Drop(Full)
		return Ticket{}, Full
	}
	k := ratelimit.Key(remote)
	g.mu.Lock()
	if g.cfg.MaxPerSource >= 0 && g.per[k] >= g.cfg.MaxPerSource {
		g.mu.Unlock()
		g.total.Add(-1)
		g.Counters.Drop(SourceFull)
		return Ticket{}, SourceFull
	}
	g.per[k]++
	g.mu.Unlock()
	g.Counters.conns.Add(1)
	g.Counters.connsTotal.Add(1)
	return Ticket{g: g, k: k}, OK
}

// A Ticket is an admitted connection's place at its [Gate]. It lives in
// the connection's own state, so that admission allocates nothing per
// connection (a server holding 10,000 idle connections pays for each
// byte), and must not be copied once it may be released. The zero Ticket
// holds no place.
type Ticket struct {
	g        *Gate
	k        netip.Addr
	released uint32 // atomic: 1 once Release has run
}

// Release gives the place back. Only the first call does anything, from
// any goroutine.
func (t *Ticket) Release() {
	if t.g == nil || !atomic.CompareAndSwapUint32(&t.released, 0, 1) {
		return
	}
	g := t.g
	g.mu.Lock()
	if g.per[t.k]--; g.per[t.k] <= 0 {
		delete(g.per, t.k)
	}
	g.mu.Unlock()
	g.total.Add(-1)
	g.Counters.conns.Add(-1)
}

// Sources returns the number of source addresses holding connections.
func (g *Gate) Sources() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.per)
}

// Port reports whether a datagram from port may be answered: never port
// 0, and ports below 1024 only with AllowLowPorts. A negative port (an
// address without one) passes. A refusal is counted.
func (g *Gate) Port(port int) bool {
	if port == 0 || port > 0 && port < 1024 && !g.cfg.AllowLowPorts {
		g.Counters.Drop(Port)
		return false
	}
	return true
}

// Allow takes one event from the bucket of the source with key k (see
// [ratelimit.Key]) at now. A refusal is counted.
func (g *Gate) Allow(k netip.Addr, now time.Time) bool {
	if g.Take(k, now) {
		return true
	}
	g.Counters.Drop(Rate)
	return false
}

// Take is Allow without counting a refusal, for a server that still
// answers some requests past the rate (an NTP server's Kiss-o'-Death).
func (g *Gate) Take(k netip.Addr, now time.Time) bool {
	return g.limiter == nil || g.limiter.AllowN(now, k, 1)
}

// Limited reports whether the gate has a per-source rate limiter.
func (g *Gate) Limited() bool { return g.limiter != nil }

// Counters are the counters behind a server's Stats, updated atomically.
type Counters struct {
	conns, connsTotal, requests, bytesIn, bytesOut atomic.Int64
	drops                                          [Slow + 1]atomic.Int64
}

// Drop counts one refusal for why.
func (c *Counters) Drop(why Reason) {
	if why != OK && int(why) < len(c.drops) {
		c.drops[why].Add(1)
	}
}

// Request counts one unit of work that read in bytes and wrote out bytes.
func (c *Counters) Request(in, out int) {
	c.requests.Add(1)
	c.bytesIn.Add(int64(in))
	c.bytesOut.Add(int64(out))
}

// Bytes counts bytes read and written outside a request.
func (c *Counters) Bytes(in, out int) {
	c.bytesIn.Add(int64(in))
	c.bytesOut.Add(int64(out))
}

// Opened counts a connection (or member) opened without [Gate.Conn]; Closed
// counts it closed.
func (c *Counters) Opened() { c.conns.Add(1); c.connsTotal.Add(1) }

// Closed counts a connection opened with [Counters.Opened] closed.
func (c *Counters) Closed() { c.conns.Add(-1) }

// Open returns the number of connections open now.
func (c *Counters) Open() int64 { return c.conns.Load() }

// Load returns the counters as the public vocabulary of every server.
func (c *Counters) Load() sockkit.Counters {
	return sockkit.Counters{
		Conns:      c.conns.Load(),
		ConnsTotal: c.connsTotal.Load(),
		Requests:   c.requests.Load(),
		BytesIn:    c.bytesIn.Load(),
		BytesOut:   c.bytesOut.Load(),
		Dropped: sockkit.Drops{
			Full:          c.drops[Full].Load(),
			SourceFull:    c.drops[SourceFull].Load(),
			Rate:          c.drops[Rate].Load(),
			Oversize:      c.drops[Oversize].Load(),
			Port:          c.drops[Port].Load(),
			Malformed:     c.drops[Malformed].Load(),
			Amplification: c.drops[Amplification].Load(),
			Idle:          c.drops[Idle].Load(),
			Slow:          c.drops[Slow].Load(),
		},
	}
}
