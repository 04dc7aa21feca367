package udpcolor

import (
	"net/netip"
	"strings"
	"time"
)

// member is an address that has proven itself and joined.
type member struct {
	name string
	addr netip.AddrPort
	c    *conn
	seen time.Time
}

// Members returns the number of members.
func (s *Server) Members() int {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.members)
}

// admissible returns the error code that refuses name to from, or "".
func (s *Server) admissible(from netip.AddrPort, name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lockedAdmissible(from, name)
}

func (s *Server) lockedAdmissible(from netip.AddrPort, name string) string {
	if o := s.members[strings.ToLower(name)]; o != nil && o.addr != from {
		return CodeNameTaken
	}
	if s.byAddr[from] == nil && len(s.members) >= s.maxMembers() {
		return CodeFull
	}
	return ""
}

func (s *Server) lockedRemove(m *member) {
	delete(s.members, strings.ToLower(m.name))
	if s.byAddr[m.addr] == m {
		delete(s.byAddr, m.addr)
	}
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
		s.event(m.name, "expired")
		s.send(m.c, m.addr, Packet{Kind: KindBye, Name: m.name, Text: ByeExpired})
	}
}
