// Package ratelimit limits what each source address may cost a datagram
// server, with a table of bounded size whose idle entries expire.
//
// Each source has a token bucket of [Config.Rate] and [Config.Burst], with
// the semantics of [golang.org/x/time/rate]. Sources are keyed by IP
// address, not port (changing ports gains nothing), and IPv6 sources by
// their /64 prefix, which is what one host usually holds ([Key], [KeyIP]).
// An entry untouched for [Config.Idle] is dropped: its bucket would be full
// again, so forgetting it changes nothing.
//
// # When the table is full
//
// A flood of spoofed source addresses fills a table of M = MaxSources
// entries within seconds. The Limiter then tells apart two kinds of entry:
//
//   - Established entries, of sources that have called [Limiter.AllowN]
//     more than once, are never dropped to make room; only idle expiry
//     removes them. Spoofed floods rarely send twice from one address, so
//     they cannot push out real peers.
//   - Entries of sources seen once are on probation, and a new source
//     takes the place of the oldest of them. A source forgotten this way
//     loses nothing but the tokens of its one event; its next event is
//     judged like a new source's.
//
// A new source that finds the table full (after dropping idle entries) is
// charged to one of B overflow buckets ([Config.OverflowBuckets], by
// default ceil(M/4)), chosen by hashing its key with a random seed of the
// Limiter ([hash/maphash]), so that an attacker can neither aim at the
// bucket of a given source nor learn which sources share one. If that
// bucket allows the event and a probationary entry exists, the source
// takes the oldest one's place with a bucket of its own; otherwise it
// stays outside the table, on its overflow bucket. Overflow buckets work
// like stochastic fairness queueing: a new source shares its bucket with
// the few flood addresses that hash to it, not with the whole flood.
//
// # Bounds
//
// Memory: at most M entries of about 150 bytes each, map included, plus
// 16 bytes per overflow bucket, allocated when the table first fills
// (measured with Go 1.26: 9.7 MB for a full table of 65,536 sources and
// its 16,384 overflow buckets).
//
// Per source: a source is charged to its own bucket while it is in the
// table and to its overflow bucket while it is not (and to both on the
// event that admits it into a full table). An entry that has seen more
// than one event is never evicted, so however often a source is dropped
// and admitted again it gets its own bucket's allowance plus its overflow
// bucket's, about twice what one source may send.
//
// In all: the overflow buckets together allow at most what B sources
// could, B·Burst at once and B·Rate per second, so whatever the flood the
// Limiter lets through no more than the allowance of M+B sources (1.25·M
// by default).
//
// Service for new sources: a flood of new addresses at R per second
// charges each overflow bucket about R/B events per second. While that is
// below Rate, the overflow bucket of a new legitimate source is rarely
// empty and the source gets normal service. With the defaults and a Rate
// of 2, that holds for floods up to about 32,000 spoofed packets per
// second; the flood that fills the table in 4 s charges each bucket about
// 1 per second. Against a faster flood the overflow buckets run dry, and
// the share of a new source's events allowed falls towards B·Rate/R.
//
// The price of that service: once the table is full, a spoofed packet
// looks like the first packet of a new source, so the flood is let through
// as new sources are, up to B·Rate per second in all, no spoofed address
// getting more than any source. A server that would rather let almost
// none of a flood through, and refuse new sources while its table is
// full, sets OverflowBuckets to 1: one bucket shared by every source
// outside the table.
package ratelimit

import (
	"hash/maphash"
	"math"
	"math/bits"
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
	// [rate.Inf] allows everything; zero or less allows Burst events and
	// no more until the entry expires.
	Rate rate.Limit
	// Burst is the bucket size per source: at least 1.
	Burst int
	// MaxSources bounds the table. Zero means DefaultMaxSources.
	MaxSources int
	// Idle is how long an untouched entry is kept. Zero means DefaultIdle.
	Idle time.Duration
	// OverflowBuckets is the number of buckets that sources outside a
	// full table are hashed into (see the package doc). Zero or less
	// means ceil(MaxSources/4); 1 makes them all share one bucket.
	OverflowBuckets int
}

// Limiter is a per-source rate limiter. It is safe for concurrent use.
type Limiter struct {
	rate  float64 // events per nanosecond; +Inf for rate.Inf
	burst float64
	max   int
	nover int   // overflow buckets
	idle  int64 // nanoseconds
	seed  maphash.Seed

	mu sync.Mutex
	m  map[netip.Addr]*entry
	// probation is the sentinel of a circular list of the entries seen
	// once, oldest first after the sentinel.
	probation entry
	// overflow holds the buckets of sources not in a full table; nil
	// until the table first fills.
	overflow  []bucket
	based     bool
	base      time.Time // the time of the first call; clocks count from it
	lastSweep int64
}

// entry is a source in the table.
type entry struct {
	key netip.Addr
	b   bucket
	// prev and next link the entry into the probation list while it has
	// been seen once, and are nil once it is established.
	prev, next *entry
}

// bucket is a token bucket. Times are nanoseconds since Limiter.base.
type bucket struct {
	tokens float64
	last   int64 // the latest time the bucket was used
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
	if cfg.OverflowBuckets <= 0 {
		cfg.OverflowBuckets = (cfg.MaxSources + 3) / 4
	}
	r := float64(cfg.Rate) / float64(time.Second)
	if cfg.Rate == rate.Inf {
		r = math.Inf(1)
	} else if !(r > 0) { // negative or NaN
		r = 0
	}
	l := &Limiter{
		rate:  r,
		burst: float64(cfg.Burst),
		max:   cfg.MaxSources,
		nover: cfg.OverflowBuckets,
		idle:  int64(cfg.Idle),
		seed:  maphash.MakeSeed(),
		m:     make(map[netip.Addr]*entry),
	}
	l.probation.prev, l.probation.next = &l.probation, &l.probation
	return l
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
// at time now, and takes them from its bucket if so. Events from a source
// not in a full table are judged as the package doc describes.
func (l *Limiter) AllowN(now time.Time, k netip.Addr, n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.clock(now)
	if e := l.m[k]; e != nil {
		if e.next != nil {
			unlink(e) // seen twice: established
		}
		return l.take(&e.b, t, n)
	}
	// A sweep costs a pass over the table, so it runs at most every
	// Idle/8, however full the table is: a flood of new sources against a
	// full table costs one map lookup each, not a sweep.
	if since := t - l.lastSweep; since > l.idle/8 && (len(l.m) >= l.max || since > l.idle) {
		l.sweep(t)
	}
	if len(l.m) < l.max {
		e := &entry{key: k, b: bucket{tokens: l.burst, last: t}}
		l.m[k] = e
		l.admit(e)
		return l.take(&e.b, t, n)
	}
	if !l.take(l.overflowBucket(k, t), t, n) {
		return false
	}
	if e := l.probation.next; e != &l.probation {
		// Reuse the oldest probationary entry for k: its source has sent
		// one event only, and its next one is judged like a new source's.
		unlink(e)
		delete(l.m, e.key)
		*e = entry{key: k, b: bucket{tokens: l.burst, last: t}}
		l.m[k] = e
		l.admit(e)
		l.take(&e.b, t, n)
	}
	return true
}

// clock returns now as nanoseconds since the Limiter's first call, which
// keeps the monotonic clock reading of times from time.Now.
func (l *Limiter) clock(now time.Time) int64 {
	if !l.based {
		l.based, l.base = true, now
	}
	return int64(now.Sub(l.base))
}

// take refills b up to time t and takes n tokens from it if it holds them.
// A time before the bucket's last use refills nothing.
func (l *Limiter) take(b *bucket, t int64, n int) bool {
	if t > b.last {
		if l.rate > 0 {
			b.tokens = min(l.burst, b.tokens+float64(t-b.last)*l.rate)
		}
		b.last = t
	}
	if n <= 0 || math.IsInf(l.rate, 1) {
		return true
	}
	if float64(n) > b.tokens {
		return false
	}
	b.tokens -= float64(n)
	return true
}

// overflowBucket returns the overflow bucket of k, allocating the buckets,
// full, the first time the table is full.
func (l *Limiter) overflowBucket(k netip.Addr, t int64) *bucket {
	if l.overflow == nil {
		l.overflow = make([]bucket, l.nover)
		for i := range l.overflow {
			l.overflow[i] = bucket{tokens: l.burst, last: t}
		}
	}
	return &l.overflow[l.overflowIndex(k)]
}

// overflowIndex returns the index of k's overflow bucket: its keyed hash,
// scaled to the number of buckets.
func (l *Limiter) overflowIndex(k netip.Addr) int {
	a := k.As16()
	i, _ := bits.Mul64(maphash.Bytes(l.seed, a[:]), uint64(l.nover))
	return int(i)
}

// admit appends e, a new entry, to the probation list.
func (l *Limiter) admit(e *entry) {
	last := l.probation.prev
	e.prev, e.next = last, &l.probation
	last.next = e
	l.probation.prev = e
}

// unlink removes e from the probation list.
func unlink(e *entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// sweep drops entries idle for longer than Idle. A source idle that long
// has a full bucket again, so forgetting it changes nothing.
func (l *Limiter) sweep(t int64) {
	l.lastSweep = t
	for k, e := range l.m {
		if t-e.b.last > l.idle {
			if e.next != nil {
				unlink(e)
			}
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
