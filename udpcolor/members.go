package udpcolor

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sockkit/sockkit/internal/ratelimit"
	"golang.org/x/time/rate"
)

// member is an address that has proven itself and joined.
type member struct {
	name string
	addr netip.AddrPort
	c    *conn
	key  Key           // sent in the welcome; signs the member's datagrams
	lim  *rate.Limiter // the member's own rate; nil when Rate is negative
	from time.Time     // when it joined

	// Guarded by Server.mu:
	seen   time.Time    // the last datagram that proved to be the member's
	window replayWindow // the counters seen
}

// Members returns the number of members.
func (s *Server) Members() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.members)
}

// refusal is why a join is refused: an error code and its detail.
type refusal struct{ code, detail string }

// admissible returns why name is refused to from, or a zero refusal.
func (s *Server) admissible(from netip.AddrPort, name string) refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedAdmissible(from, name)
}

// lockedAdmissible is admissible with s.mu held. An address that is
// already a member may always rejoin (under a new name, giving up the
// old one): it does not take a second place.
func (s *Server) lockedAdmissible(from netip.AddrPort, name string) refusal {
	if strings.EqualFold(name, OperatorName) {
		return refusal{CodeNameTaken, name} // the operator's, always
	}
	if o := s.members[strings.ToLower(name)]; o != nil && o.addr != from {
		return refusal{CodeNameTaken, name}
	}
	if s.byAddr[from] != nil {
		return refusal{}
	}
	if limit := s.maxMembersPerAddr(); limit > 0 && s.perAddr[ratelimit.KeyIP(from.Addr())] >= limit {
		return refusal{CodeAddrFull, fmt.Sprintf("at most %d members per address", limit)}
	}
	if len(s.members) >= s.maxMembers() {
		return refusal{CodeFull, name}
	}
	return refusal{}
}

// lockedAdd puts m in the member table, which must have room for it.
func (s *Server) lockedAdd(m *member) {
	s.members[strings.ToLower(m.name)] = m
	s.byAddr[m.addr] = m
	s.perAddr[ratelimit.KeyIP(m.addr.Addr())]++
	s.gate.Counters.Opened()
}

// lockedRemove takes m out of the member table.
func (s *Server) lockedRemove(m *member) {
	if s.members[strings.ToLower(m.name)] != m {
		return
	}
	delete(s.members, strings.ToLower(m.name))
	if s.byAddr[m.addr] == m {
		delete(s.byAddr, m.addr)
	}
	k := ratelimit.KeyIP(m.addr.Addr())
	if s.perAddr[k]--; s.perAddr[k] <= 0 {
		delete(s.perAddr, k)
	}
	s.gate.Counters.Closed()
}

// maybeSweep sweeps when a quarter of the member timeout has passed since
// the last sweep, so that expiry does not depend on the ticker alone.
func (s *Server) maybeSweep(now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastSweep) >= s.memberTimeout()/4
	s.mu.Unlock()
	if due {
		s.sweep(now)
	}
}

// sweep drops the members silent for longer than the member timeout.
func (s *Server) sweep(now time.Time) {
	timeout := s.memberTimeout()
	var gone []*member
	s.mu.Lock()
	s.lastSweep = now
	for _, m := range s.members {
		if now.Sub(m.seen) > timeout {
			gone = append(gone, m)
			s.lockedRemove(m)
		}
	}
	s.mu.Unlock()
	s.stats.expired.Add(int64(len(gone)))
	for _, m := range gone {
		s.event(m, "expired")
		s.send(m.c, m.addr, Packet{Kind: KindBye, Name: m.name, Text: ByeExpired})
	}
}
