// Package ratelimit limits what each source address may cost a datagram
// server, with a table of bounded size whose idle entries expire.
//
// Each source has a token bucket ([golang.org/x/time/rate]). Sources are
// keyed by IP address, not port (changing ports gains nothing), and IPv6
// sources by their /64 prefix, which is what one host usually holds.
// When the table is full even after dropping idle entries, new sources
// share one overflow bucket: memory stays bounded, a flood of spoofed
// addresses cannot evict the buckets of real peers, and it still cannot
// get more than one source's allowance through.
package ratelimit

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults used where a [Config] field is zero.
const (
	DefaultMaxSources = 65536
	DefaultIdle       = time.Minute
)

// Config sets the limit of each source.
type Config struct {
	// Rate is the sustained number of events (packets, or bytes when
	// callers pass sizes to AllowN) per second allowed per source.
	Rate rate.Limit
	// Burst is the bucket size per source: at least 1.
	Burst int
	// MaxSources bounds the table. Zero means DefaultMaxSources.
	MaxSources int
	// Idle is how long an untouched entry is kept. Zero means DefaultIdle.
	Idle time.Duration
}

// Limiter is a per-source rate limiter. It is safe for concurrent use.
type Limiter struct {
	cfg       Config
	mu        sync.Mutex
	m         map[netip.Addr]*entry
	overflow  *rate.Limiter
	lastSweep time.Time
}

type entry struct {
	lim  *rate.Limiter
	seen time.Time
}

// New returns a Limiter for cfg.
func New(cfg Config) *Limiter {
	if cfg.MaxSources <= 0 {
		cfg.MaxSources = DefaultMaxSources
	}
	if cfg.Idle <= 0 {
		cfg.Idle = DefaultIdle
	}
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	return &Limiter{
		cfg:      cfg,
		m:        make(map[netip.Addr]*entry),
		overflow: rate.NewLimiter(cfg.Rate, cfg.Burst),
	}
}

// Key returns the table key of a source address: the IP for IPv4 (and
// IPv4-mapped IPv6), the /64 prefix for IPv6, and the zero Addr for
// addresses that are not IP.
func Key(a net.Addr) netip.Addr {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		if a == nil {
			return netip.Addr{}
		}
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		ip = ap.Addr()
	}
	return KeyIP(ip)
}

// KeyIP is [Key] for an IP address.
func KeyIP(ip netip.Addr) netip.Addr {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}

// Allow reports whether one event from src is allowed now.
func (l *Limiter) Allow(src net.Addr) bool { return l.AllowN(time.Now(), Key(src), 1) }

// AllowN reports whether n events from the source with key k are allowed
// at time now, and takes them from its bucket if so.
func (l *Limiter) AllowN(now time.Time, k netip.Addr, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.m[k]
	if e == nil {
		// A sweep costs a pass over the table, so it runs at most every
		// Idle/8, however full the table is: a flood of new sources
		// against a full table costs one map lookup each, not a sweep.
		if now.Sub(l.lastSweep) > l.cfg.Idle/8 && (len(l.m) >= l.cfg.MaxSources || now.Sub(l.lastSweep) > l.cfg.Idle) {
			l.sweep(now)
		}
		if len(l.m) >= l.cfg.MaxSources {
			return l.overflow.AllowN(now, n)
		}
		e = &entry{lim: rate.NewLimiter(l.cfg.Rate, l.cfg.Burst)}
		l.m[k] = e
	}
	e.seen = now
	return e.lim.AllowN(now, n)
}

// sweep drops entries idle for longer than cfg.Idle. A source idle that
// long has a full bucket again, so forgetting it changes nothing.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, e := range l.m {
		if now.Sub(e.seen) > l.cfg.Idle {
			delete(l.m, k)
		}
	}
}

// Len returns the number of sources in the table.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
