package udpcolor

import (
	"github.com/sockkit/sockkit/internal/admit"

	"log/slog"
	"net/netip"
	"time"

	"golang.org/x/time/rate"
)

// newMember returns a member for name at from, joined now, with a fresh
// key and its own rate limit.
func (s *Server) newMember(name string, from netip.AddrPort, c *conn, now time.Time) *member {
	m := &member{name: name, addr: from, c: c, seen: now, from: now, key: newKey()}
	if s.memberRate > 0 {
		m.lim = rate.NewLimiter(s.memberRate, s.memberBurst)
	}
	return m
}

// memberAt returns the member at from, or nil.
func (s *Server) memberAt(from netip.AddrPort) *member {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byAddr[from]
}

// fromMember handles b, a datagram from the address of member m whose
// verb is that of a signed datagram. It reports done = false when b does
// not parse, for the caller to treat it as a stranger's. Otherwise b is
// dealt with: dropped if its MAC is wrong (it may be spoofed: no answer),
// if its counter has been seen (a replay) or if m is over its rate, and
// else it is the member's msg, ping or leave, which also keeps m alive.
func (s *Server) fromMember(c *conn, m *member, b []byte, now time.Time, scratch []*member) (_ []*member, done bool) {
	p, err := Parse(b)
	if err != nil || !p.Kind.signed() {
		return scratch, false
	}
	if !m.key.Verify(p) {
		s.stats.badMACs.Add(1)
		s.log(slog.LevelDebug, "udpcolor: dropped datagram with a wrong MAC", "from", m.addr, "kind", p.Kind)
		return scratch, true
	}
	s.mu.Lock()
	current := s.byAddr[m.addr] == m
	fresh := current && m.window.accept(p.Seq)
	if fresh {
		m.seen = now
	}
	s.mu.Unlock()
	switch {
	case !current:
		// It left or expired since memberAt: its key is no longer valid.
		return scratch, true
	case !fresh:
		s.stats.replays.Add(1)
		s.log(slog.LevelDebug, "udpcolor: dropped replayed datagram", "from", m.addr, "kind", p.Kind, "seq", p.Seq)
		return scratch, true
	case m.lim != nil && !m.lim.AllowN(now, 1):
		s.gate.Counters.Drop(admit.Rate)
		s.log(slog.LevelDebug, "udpcolor: dropped datagram over its member's rate", "from", m.addr)
		return scratch, true
	}
	switch p.Kind {
	case KindMsg:
		return s.relay(m, p.Text, scratch), true
	case KindLeave:
		s.leave(c, m)
	}
	return scratch, true
}

// leave ends m's membership at its request.
func (s *Server) leave(c *conn, m *member) {
	s.mu.Lock()
	gone := s.byAddr[m.addr] == m
	if gone {
		s.lockedRemove(m)
	}
	s.mu.Unlock()
	if gone {
		s.stats.left.Add(1)
		s.event(m, "left")
		s.send(c, m.addr, Packet{Kind: KindBye, Name: m.name, Text: ByeLeft})
	}
}
