package udpcolor

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/sockkit/sockkit"
	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/dgram"
	"github.com/sockkit/sockkit/internal/logrec"
	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/ratelimit"
	"github.com/sockkit/sockkit/internal/textsafe"
	"github.com/sockkit/sockkit/internal/track"
)

// Defaults used where a [Server] field is zero.
const (
	DefaultMaxMembers        = 1024
	DefaultMaxMembersPerAddr = 4
	DefaultMemberTimeout     = 60 * time.Second
	DefaultCookieLifetime    = 30 * time.Second
	DefaultPacketsPerSecond  = 50  // datagrams per second per source IP
	DefaultPacketBurst       = 100 // datagrams
	DefaultShutdownTimeout   = track.DefaultShutdownTimeout
)

// ErrServerClosed is returned by [Server.ServePacket] after [Server.Shutdown]
// or [Server.Close], or once its context is cancelled.
var ErrServerClosed = errors.New("udpcolor: server closed")

// Server is a group chat relay. Its zero value is a working server with
// the limits documented on each field; set the fields before the first
// call to ServePacket and do not change them afterwards.
//
// The server keeps no member state for an address until that address
// has echoed a cookie, never answers a datagram of the protocol that does
// not prove its source with more bytes than it received (nor a plain
// sender with more than three times, in all, what it sent), takes a
// member's msg, ping and leave only with a valid MAC under the key it
// sent that member, and limits every source IP address to a rate of
// datagrams and a share of the member table, so that it can be used
// neither to fill its own memory nor to flood a third party with spoofed
// datagrams, and nobody can speak or leave in a member's name without
// having received its welcome. It also reads the tutorial's plain "name
// : text" datagrams, shows them in the Transcript and answers them
// ([Server.Plain], [Server.Say]). The package documentation describes
// both dialects and the threat model.
//
// A Server must not be copied after first use, nor reused after
// [Server.Shutdown] or [Server.Close].
type Server struct {
	// MaxMembers bounds the member table; joins beyond it get the error
	// "full". Zero means DefaultMaxMembers.
	MaxMembers int

	// MaxMembersPerAddr bounds the members that share one source IP
	// address (an IPv6 source by its /64), all ports together, so that
	// one host cannot fill the member table by joining from many ports;
	// further joins from that address get the error "address-full". An
	// address that is already a member may still rejoin under another
	// name. Zero means DefaultMaxMembersPerAddr; a negative value turns
	// the limit off (MaxMembers still applies), for tests and benchmarks
	// whose members all run on one host. Members behind one NAT share
	// its address: raise it for such a network.
	MaxMembersPerAddr int

	// MemberTimeout is how long a member may stay silent (no msg and no
	// ping) before it is dropped with "bye NAME expired"; members are
	// checked every quarter of it. Zero means DefaultMemberTimeout.
	MemberTimeout time.Duration

	// CookieLifetime is how long a cookie may be echoed after the server
	// issued it. Zero means DefaultCookieLifetime.
	CookieLifetime time.Duration

	// PacketsPerSecond is the sustained number of datagrams per second accepted from
	// one source IP address (an IPv6 source by its /64), all ports
	// together; datagrams beyond it are dropped unread. Each member has
	// an allowance of the same rate of its own, which its signed msg,
	// ping and leave use instead, once their MAC has been checked. Zero
	// means DefaultPacketsPerSecond; a negative value turns both limits off, which is
	// only for trusted networks and benchmarks.
	PacketsPerSecond float64

	// PacketBurst is the number of datagrams a source, or a member, may send at
	// once before PacketsPerSecond applies. Zero means DefaultPacketBurst.
	PacketBurst int

	// ShutdownTimeout bounds the graceful shutdown (with its "bye NAME
	// shutdown" to every member) that cancelling the context given to
	// ServePacket starts. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration

	// Transcript, if not nil, receives every relayed message as
	// "name : text" and every join, leave and expiry as "* name joined",
	// one line each, rendered with Palette and Color. Peer text is
	// sanitised before it is written, and each line is written before the
	// datagrams it reports are sent.
	Transcript io.Writer

	// Palette colours the names in the Transcript. Nil means a zero
	// [Palette], which hashes names into [DefaultColors].
	Palette *Palette

	// Color decides whether the Transcript gets colour escape codes. The
	// zero value, [ColorAuto], colours only a terminal without NO_COLOR.
	Color ColorMode

	// Plain says what becomes of the tutorial's plain "name : text"
	// datagrams (see the package documentation): shown in the
	// Transcript, answered and relayed to members ([PlainRelayed], the
	// zero value), shown and answered only ([PlainShown]), or dropped
	// ([PlainOff]).
	Plain PlainMode

	// PlainRate is how many plain lines per second the server takes
	// from all plain senders together, in bursts of five seconds'
	// worth; more are dropped unanswered. Each plain sender is held to
	// Rate as well, as every source is. Zero means DefaultPlainRate; a
	// negative value means no limit but Rate.
	PlainRate float64

	// PlainRelayRate is how many of the plain lines taken per second,
	// from all plain senders together, are relayed to the members (in
	// bursts of five seconds' worth); the others are only shown in the
	// Transcript. Zero means DefaultPlainRelayRate; a negative value
	// means no limit but PlainRate.
	PlainRelayRate float64

	// Operator says that someone answers plain senders with
	// [Server.Say], as the tutorial's server operator types the reply:
	// plain lines then get no automatic "server : received", and the
	// tutorial's client waits for the operator's line. The example
	// program sets it when its console is on.
	Operator bool

	// Logger, if not nil, receives a record for each join, leave, expiry
	// and dropped datagram (the last at debug level).
	Logger *slog.Logger

	g        track.Group
	initOnce sync.Once
	set      settings // resolved once, by init
	setErr   error
	key      [32]byte
	gate     *admit.Gate
	// memberRate and memberBurst are each member's own limit (the same
	// as a source address's); memberRate is 0 when Rate is negative.
	memberRate  rate.Limit
	memberBurst int
	render      *Renderer
	now         func() time.Time // test hook; time.Now by default

	plainPeers    *plainTable
	plainLim      *rate.Limiter // PlainRate; nil without a limit
	plainRelayLim *rate.Limiter // PlainRelayRate; nil without a limit

	stats stats

	mu        sync.Mutex
	members   map[string]*member // by lower-case name
	byAddr    map[netip.AddrPort]*member
	perAddr   map[netip.Addr]int // members per ratelimit.KeyIP of their address
	lastSweep time.Time
}

// settings are the resolved fields of a Server.
type settings struct {
	maxMembers, maxPerAddr        int
	memberTimeout, cookieLifetime time.Duration
	shutdownTimeout               time.Duration
}

// init resolves the settings, once; a bad one is reported by ServePacket.
func (s *Server) init() {
	s.initOnce.Do(func() {
		if _, err := rand.Read(s.key[:]); err != nil {
			panic("udpcolor: no randomness for the cookie key: " + err.Error())
		}
		if s.now == nil {
			s.now = time.Now
		}
		r := opt.New("udpcolor")
		s.set = settings{
			maxMembers:      opt.Default(r, "MaxMembers", s.MaxMembers, DefaultMaxMembers),
			maxPerAddr:      opt.Unlimited(r, "MaxMembersPerAddr", s.MaxMembersPerAddr, DefaultMaxMembersPerAddr),
			memberTimeout:   opt.Default(r, "MemberTimeout", s.MemberTimeout, DefaultMemberTimeout),
			cookieLifetime:  opt.Default(r, "CookieLifetime", s.CookieLifetime, DefaultCookieLifetime),
			shutdownTimeout: opt.Default(r, "ShutdownTimeout", s.ShutdownTimeout, DefaultShutdownTimeout),
		}
		perSecond := opt.Unlimited(r, "PacketsPerSecond", s.PacketsPerSecond, DefaultPacketsPerSecond)
		burst := opt.Default(r, "PacketBurst", s.PacketBurst, DefaultPacketBurst)
		s.gate = admit.New(admit.Config{Rate: perSecond, Burst: burst})
		if perSecond > 0 {
			s.memberRate, s.memberBurst = rate.Limit(perSecond), burst
		}
		if s.Transcript != nil {
			s.render = NewRenderer(s.Transcript, s.Palette, s.Color)
		}
		s.plainPeers = newPlainTable()
		s.plainLim = plainLimiter(opt.Unlimited(r, "PlainRate", s.PlainRate, DefaultPlainRate))
		s.plainRelayLim = plainLimiter(opt.Unlimited(r, "PlainRelayRate", s.PlainRelayRate, DefaultPlainRelayRate))
		r.Check(s.Plain >= PlainRelayed && s.Plain <= PlainOff, "Plain", s.Plain, "must be PlainRelayed, PlainShown or PlainOff")
		s.members = make(map[string]*member)
		s.byAddr = make(map[netip.AddrPort]*member)
		s.perAddr = make(map[netip.Addr]int)
		r.Check(s.Color == ColorAuto || s.Color == ColorNever || s.Color == ColorAlways, "Color", s.Color, "must be ColorAuto, ColorNever or ColorAlways")
		s.setErr = r.Err()
	})
}

func (s *Server) maxMembers() int               { return s.set.maxMembers }
func (s *Server) maxMembersPerAddr() int        { return s.set.maxPerAddr }
func (s *Server) memberTimeout() time.Duration  { return s.set.memberTimeout }
func (s *Server) cookieLifetime() time.Duration { return s.set.cookieLifetime }

// log writes a record if there is a Logger (see [logrec.Log]).
func (s *Server) log(level slog.Level, msg string, args ...any) {
	logrec.Log(s.Logger, level, msg, args...)
}

// Stats counts what a [Server] has done since it started. In the shared
// [sockkit.Counters], Conns is the number of members now, ConnsTotal the
// joins admitted (after a valid cookie), Requests the msg datagrams
// relayed, BytesOut the bytes sent; Dropped.Full counts joins refused
// because the table was full, Dropped.SourceFull joins refused because
// their address already had MaxMembersPerAddr members, Dropped.Rate,
// Oversize, Malformed and Port the datagrams dropped unread (plain lines
// over PlainRate among them), and Dropped.Amplification the answers to
// plain senders not sent because they would have been more than three
// times what the sender sent.
type Stats struct {
	sockkit.Counters
	Left       int64 // members that sent leave or rejoined under another name
	Expired    int64 // members dropped by MemberTimeout
	Cookies    int64 // cookies sent
	BadCookies int64 // echoed cookies refused (forged, expired, other address or name)
	Relayed    int64 // relay datagrams sent (one per other member per message)
	BadMACs    int64 // msg, ping and leave datagrams from a member's address whose MAC is wrong
	Replays    int64 // member datagrams with a valid MAC and a counter already seen, or too old

	Plain        int64 // plain lines taken (shown in the Transcript)
	PlainReplies int64 // datagrams sent to plain senders: acknowledgements, "name taken" answers and the operator's lines
}

type stats struct {
	left, expired, cookies, badCookies, relayed atomic.Int64
	badMACs, replays                            atomic.Int64
	plain, plainReplies                         atomic.Int64
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	s.init()
	return Stats{
		Counters:   s.gate.Counters.Load(),
		Left:       s.stats.left.Load(),
		Expired:    s.stats.expired.Load(),
		Cookies:    s.stats.cookies.Load(),
		BadCookies: s.stats.badCookies.Load(),
		Relayed:    s.stats.relayed.Load(),
		BadMACs:    s.stats.badMACs.Load(),
		Replays:    s.stats.replays.Load(),

		Plain:        s.stats.plain.Load(),
		PlainReplies: s.stats.plainReplies.Load(),
	}
}

// ServePacket reads datagrams from pc and relays them until [Server.Shutdown]
// or [Server.Close] is called, ctx is cancelled, or reading fails. It
// always returns a non-nil error ([ErrServerClosed] after a shutdown, a
// close or a cancelled ctx) and closes pc. A graceful shutdown says
// "bye NAME shutdown" to every member that joined through pc.
//
// ServePacket may be called on several packet conns at once; they share
// one member table.
func (s *Server) ServePacket(ctx context.Context, pc net.PacketConn) error {
	s.init()
	return s.g.Run(ctx, pc, dgram.Unblock(pc), s.set.shutdownTimeout, s.setErr, ErrServerClosed, func(sc *track.Scope) error {
		c := &conn{pc: pc, counters: &s.gate.Counters}
		quit := make(chan struct{})
		defer close(quit)
		sc.Go(func() { s.sweepLoop(quit) })
		var scratch []*member
		err := dgram.Serve(pc, dgram.Config{
			MaxDatagram: MaxDatagram,
			Stopping:    sc.Stopping,
			Counters:    &s.gate.Counters,
			Logger:      s.Logger,
			Name:        "udpcolor",
		}, func(w *dgram.Writer, d *dgram.Datagram) {
			if from, ok := d.From.AddrPort(); ok {
				scratch = s.handle(c, w, d, from, scratch[:0])
			}
		})
		// The members of c are forgotten either way; a graceful shutdown
		// says bye to them first.
		s.farewell(c, s.g.Graceful())
		return err
	})
}

// sweepLoop expires silent members until quit is closed.
func (s *Server) sweepLoop(quit <-chan struct{}) {
	track.Every(quit, max(s.memberTimeout()/4, 10*time.Millisecond), func() { s.sweep(s.now()) })
}

// farewell forgets the members of c, saying bye to them if bye is set.
func (s *Server) farewell(c *conn, bye bool) {
	s.mu.Lock()
	var ms []*member
	for _, m := range s.members {
		if m.c == c {
			ms = append(ms, m)
			s.lockedRemove(m)
		}
	}
	s.mu.Unlock()
	for _, m := range ms {
		if !bye || s.send(c, m.addr, Packet{Kind: KindBye, Name: m.name, Text: ByeShutdown}) != nil {
			return
		}
	}
}

// handle processes one datagram d from an address. It returns scratch
// for reuse.
func (s *Server) handle(c *conn, w *dgram.Writer, d *dgram.Datagram, from netip.AddrPort, scratch []*member) []*member {
	now := s.now()
	b := d.Data
	if !s.gate.Port(int(from.Port())) {
		// Port 0 is not a real source, and low ports belong to services
		// (echo, DNS, NTP...) that answer anything: answering them could
		// start an endless loop between two servers. (The loop has
		// dropped datagrams larger than MaxDatagram already.)
		s.log(slog.LevelDebug, "udpcolor: dropped datagram from a service port", "from", from)
		return scratch
	}
	s.maybeSweep(now)
	// A member's own datagrams are checked against its key before the
	// rate of its address, and count against the member's own rate:
	// datagrams spoofed from its address must not use up its allowance.
	if m := s.memberAt(from); m != nil && signedVerb(b) {
		if scratch, done := s.fromMember(c, m, b, now, scratch); done {
			return scratch
		}
	}
	if !s.gate.Allow(ratelimit.KeyIP(from.Addr()), now) {
		s.log(slog.LevelDebug, "udpcolor: dropped datagram over its source's rate", "from", from)
		return scratch
	}
	// From here on nothing proves that the datagram comes from its
	// source address, even if a member holds that address: an answer
	// is never larger than the datagram.
	if !protocolVerb(b) {
		s.plain(c, w, d, from, now)
		return scratch
	}
	p, err := Parse(b)
	if err != nil {
		s.gate.Counters.Drop(admit.Malformed)
		s.log(slog.LevelDebug, "udpcolor: dropped malformed datagram", "from", from, "err", err)
		switch {
		case otherVersionJoin(b):
			s.reply(c, from, len(b), Packet{Kind: KindError, Code: CodeVersion, Text: "this server speaks " + joinVerb})
		case clientVerb(b) || s.memberAt(from) != nil:
			// A stranger hears about it only if it used a client's verb:
			// an error sent in answer to anything else could be the start
			// of a loop with another service that answers garbage.
			s.reply(c, from, len(b), Packet{Kind: KindError, Code: CodeBadRequest})
		}
		return scratch
	}
	switch p.Kind {
	case KindJoin:
		s.join(c, from, len(b), p, now)
	case KindMsg:
		s.reply(c, from, len(b), Packet{Kind: KindError, Code: CodeNotMember})
	case KindPing, KindLeave:
		// Not from a member: nothing to keep alive or end.
	default:
		// A kind only servers send (cookie, welcome, relay, bye, error, plain) is
		// dropped without a word: answering an error with an error would
		// let one spoofed datagram set two servers talking forever.
		s.gate.Counters.Drop(admit.Malformed)
		s.log(slog.LevelDebug, "udpcolor: dropped a server's datagram", "from", from, "kind", p.Kind)
	}
	return scratch
}

// join handles a join datagram of n bytes from an address.
func (s *Server) join(c *conn, from netip.AddrPort, n int, p Packet, now time.Time) {
	if n < MinJoin {
		s.log(slog.LevelDebug, "udpcolor: dropped unpadded join", "from", from, "size", n)
		return
	}
	if r := s.admissible(from, p.Name); r.code != "" {
		s.refuse(c, from, n, r)
		return
	}
	if p.Cookie == "" {
		s.stats.cookies.Add(1)
		s.reply(c, from, n, Packet{Kind: KindCookie, Name: p.Name, Cookie: s.cookie(now, from, p.Name)})
		return
	}
	if !s.validCookie(now, from, p.Name, p.Cookie) {
		s.stats.badCookies.Add(1)
		s.reply(c, from, n, Packet{Kind: KindError, Code: CodeBadCookie})
		return
	}
	// The address has proven itself: from here on the answer may be
	// larger than the join.
	s.mu.Lock()
	if m := s.byAddr[from]; m != nil && m.name == p.Name {
		// A retry whose welcome was lost: the same key again, and the
		// counters go on. (Resetting them would let a datagram captured
		// since be replayed; a new key would break a client that takes
		// the first of two welcomes, and a client that lost its key
		// joins from a new socket.)
		m.seen = now
		key := m.key
		s.mu.Unlock()
		s.send(c, from, Packet{Kind: KindWelcome, Name: p.Name, Key: key})
		return
	}
	r := s.lockedAdmissible(from, p.Name)
	var old, nm *member
	if r.code == "" {
		old = s.byAddr[from]
		if old != nil {
			s.lockedRemove(old)
		}
		nm = s.newMember(p.Name, from, c, now)
		s.lockedAdd(nm)
	}
	s.mu.Unlock()
	if r.code != "" {
		s.refuse(c, from, n, r)
		return
	}
	if old != nil {
		s.stats.left.Add(1)
		s.event(old, "left")
	}
	s.event(nm, "joined")
	s.send(c, from, Packet{Kind: KindWelcome, Name: p.Name, Key: nm.key})
}

// relay sends text from m to every other member.
func (s *Server) relay(m *member, text string, targets []*member) []*member {
	text = textsafe.Clean(text)
	if text == "" {
		return targets
	}
	out, err := Packet{Kind: KindRelay, Name: m.name, Text: text}.Append(nil)
	if err != nil {
		return targets
	}
	if s.render != nil {
		s.render.Message(m.name, text)
	}
	s.gate.Counters.Request(0, 0)
	return s.broadcast(out, m, targets)
}

// broadcast sends out to every member but except (nil: every member).
// It returns targets, emptied, for reuse.
func (s *Server) broadcast(out []byte, except *member, targets []*member) []*member {
	s.mu.Lock()
	for _, o := range s.members {
		if o != except {
			targets = append(targets, o)
		}
	}
	s.mu.Unlock()
	sent := 0
	for i, o := range targets {
		if o.c.write(out, o.addr) == nil {
			sent++
		}
		targets[i] = nil
	}
	s.stats.relayed.Add(int64(sent))
	return targets
}

// event records a join, leave or expiry of m.
func (s *Server) event(m *member, what string) {
	if what == "joined" {
		s.log(slog.LevelInfo, "udpcolor: member "+what, "name", m.name, "from", m.addr)
	} else {
		s.log(slog.LevelInfo, "udpcolor: member "+what, "name", m.name, "from", m.addr, "duration", s.now().Sub(m.from).Round(time.Millisecond))
	}
	if s.render != nil {
		s.render.Event(m.name, what)
	}
}

// refuse answers a join of n bytes with the error datagram of r.
func (s *Server) refuse(c *conn, from netip.AddrPort, n int, r refusal) {
	switch r.code {
	case CodeAddrFull:
		s.gate.Counters.Drop(admit.SourceFull)
	case CodeFull:
		s.gate.Counters.Drop(admit.Full)
	}
	s.reply(c, from, n, Packet{Kind: KindError, Code: r.code, Text: r.detail})
}

// reply answers a datagram of reqLen bytes that nothing proves to come
// from its source address with p, unless p is larger: the server never
// amplifies a spoofed datagram. (The project's rule allows three times
// the request; the protocol's answers to strangers all fit in one. Only
// the answers to plain senders, which are short lines that a tutorial's
// few-byte datagram must get, use the three times: see plainAnswer.)
func (s *Server) reply(c *conn, to netip.AddrPort, reqLen int, p Packet) {
	out, err := p.Append(nil)
	if err != nil {
		return
	}
	if len(out) > reqLen {
		s.log(slog.LevelDebug, "udpcolor: reply larger than request not sent", "to", to, "kind", p.Kind)
		return
	}
	c.write(out, to)
}

// send sends p to a member.
func (s *Server) send(c *conn, to netip.AddrPort, p Packet) error {
	out, err := p.Append(nil)
	if err != nil {
		return err
	}
	return c.write(out, to)
}

// Shutdown stops reading, says "bye NAME shutdown" to every member, and
// waits until every ServePacket has returned or ctx is done, in which
// case it closes everything and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error { return s.g.Shutdown(ctx) }

// Close stops the server at once, without saying bye, and waits until
// every ServePacket has returned. It is idempotent.
func (s *Server) Close() error { return s.g.Close() }

// conn is a packet conn of the server; members remember the one they
// joined through.
type conn struct {
	pc       net.PacketConn
	counters *admit.Counters
}

func (c *conn) write(b []byte, to netip.AddrPort) error {
	err := dgram.WriteTo(c.pc, b, dgram.AddrPort(to))
	if err == nil {
		c.counters.Bytes(0, len(b))
	}
	return err
}

// clientVerb reports whether b starts with a verb that clients send
// (join/2, msg, ping, leave), followed by a space or nothing.
func clientVerb(b []byte) bool {
	verb, _, _ := bytes.Cut(b, []byte{' '})
	switch string(verb) {
	case joinVerb, "msg", "ping", "leave":
		return true
	}
	return false
}

// signedVerb reports whether b starts with the verb of a datagram that
// members sign (msg, ping, leave) and a space.
func signedVerb(b []byte) bool {
	return bytes.HasPrefix(b, []byte("msg ")) || bytes.HasPrefix(b, []byte("ping ")) || bytes.HasPrefix(b, []byte("leave "))
}
