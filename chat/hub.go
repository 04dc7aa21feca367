package chat

import (
	"sort"
	"sync"
)

// Member is a session as a [Hub] sees it.
type Member interface {
	// Nick returns the member's current nickname.
	Nick() string
	// Deliver queues line, one complete server line ending in "\n", for
	// the member. It never blocks and does not keep line after it
	// returns. A member that cannot take more is disconnected by its
	// session; Deliver does not report it.
	Deliver(line []byte)
}

// RoomInfo describes one room in the answer to [Hub.Rooms].
type RoomInfo struct {
	Name    string
	Members int
}

// Hub is the fan-out of a [Server]: it knows which members are in which
// room and delivers what is published to a room to each of its members.
// The Server calls it from many goroutines at once.
//
// An implementation must deliver the lines published to one room to
// every member of that room in one and the same order, and must never
// block on a member. [LocalHub], the default, does this in one process. A
// Hub backed by a message bus would publish each line to a subject per
// room and deliver what it receives to its local members; lines are
// self-describing server lines ([ParseEvent] reads them), so they can
// cross the bus as they are. Nicknames stay unique per Server; rooms
// shared by several servers also need a shared nickname namespace, which
// a Hub provides by implementing [Directory] too. A Hub that can fail to
// carry a line implements [SenderHub], so that the sender hears of it.
type Hub interface {
	// Join adds m to room, creating the room if needed.
	Join(room string, m Member)
	// Leave removes m from room; an empty room disappears.
	Leave(room string, m Member)
	// Publish delivers line to every member of room, in order with the
	// other lines published to that room. line is not kept.
	Publish(room string, line []byte)
	// Rooms lists the rooms that have members, sorted by name.
	Rooms() []RoomInfo
	// Who lists the nicknames of the members of room, sorted.
	Who(room string) []string
}

// CodeNotDelivered is the code of the ERR line that a [SenderHub] or a
// [Directory] sends to a member whose line did not reach everyone it was
// for: the link to the other servers was down, too slow, or lost it.
// The text says which, and whether this server's own members got it.
const CodeNotDelivered = "not-delivered"

// SenderHub is a [Hub] that may fail to carry a line to every member of
// a room, such as one over a network. The [Server] calls PublishFrom
// instead of Publish, with the member who sent the line; when the line
// does not reach everyone, the Hub tells that member with an ERR line
// ([CodeNotDelivered]) delivered to it, so that nothing a user sent is
// lost without a word. PublishFrom must not block, like Publish.
type SenderHub interface {
	Hub
	// PublishFrom is Publish for a line sent by from, which may have
	// left the room (its QUIT line, say). line is not kept.
	PublishFrom(room string, from Member, line []byte)
}

// Directory is a nickname namespace shared by several servers, which a
// [Hub] provides by implementing it too. A [Server] keeps the nicknames
// of its own clients unique by itself; with a Directory it also asks
// before giving one out, tells when one is given up, and looks up the
// nicknames that none of its own clients has, for /msg. Nicknames are
// compared without regard to case. The Server calls it from many
// goroutines at once; Claim and Private may wait for the network (the
// session of the client that asked waits meanwhile, nobody else).
type Directory interface {
	// Claim reports whether m, a client of this server, may take nick:
	// false if a client of another server has it. When it returns true,
	// m holds nick and no longer old, its previous nickname ("" for
	// none), which may differ from nick only in case.
	Claim(m Member, old, nick string) bool
	// Release gives up nick, which m held.
	Release(m Member, nick string)
	// Lookup reports whether a client of another server has nick, and
	// returns it as that client spelled it.
	Lookup(nick string) (string, bool)
	// Private delivers line, a PRIV line from from to the nickname to
	// (one that Lookup found), to its owner on the other server, and the
	// sender's copy to from; when it cannot, from gets an ERR line
	// instead (no-such-nick, or [CodeNotDelivered]).
	Private(from Member, to string, line []byte)
}

// LocalHub is the in-process [Hub]: a map of rooms, each with its own
// lock, held while a line is handed to its members (which only append it
// to their queues). The zero value is ready to use.
type LocalHub struct {
	mu    sync.RWMutex
	rooms map[string]*localRoom
}

type localRoom struct {
	mu      sync.Mutex
	members []Member
	index   map[Member]int
}

// Join implements [Hub].
func (h *LocalHub) Join(room string, m Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms == nil {
		h.rooms = make(map[string]*localRoom)
	}
	r := h.rooms[room]
	if r == nil {
		r = &localRoom{index: make(map[Member]int)}
		h.rooms[room] = r
	}
	r.mu.Lock()
	if _, ok := r.index[m]; !ok {
		r.index[m] = len(r.members)
		r.members = append(r.members, m)
	}
	r.mu.Unlock()
}

// Leave implements [Hub].
func (h *LocalHub) Leave(room string, m Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[room]
	if r == nil {
		return
	}
	r.mu.Lock()
	if i, ok := r.index[m]; ok {
		last := len(r.members) - 1
		r.members[i] = r.members[last]
		r.index[r.members[i]] = i
		r.members[last] = nil
		r.members = r.members[:last]
		delete(r.index, m)
	}
	if len(r.members) == 0 {
		delete(h.rooms, room)
	}
	r.mu.Unlock()
}

// Publish implements [Hub].
func (h *LocalHub) Publish(room string, line []byte) {
	h.mu.RLock()
	r := h.rooms[room]
	h.mu.RUnlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	for _, m := range r.members {
		m.Deliver(line)
	}
	r.mu.Unlock()
}

// Rooms implements [Hub].
func (h *LocalHub) Rooms() []RoomInfo {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]RoomInfo, 0, len(h.rooms))
	for name, r := range h.rooms {
		r.mu.Lock()
		out = append(out, RoomInfo{Name: name, Members: len(r.members)})
		r.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Who implements [Hub].
func (h *LocalHub) Who(room string) []string {
	h.mu.RLock()
	r := h.rooms[room]
	h.mu.RUnlock()
	if r == nil {
		return nil
	}
	r.mu.Lock()
	ms := append([]Member(nil), r.members...)
	r.mu.Unlock()
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Nick()
	}
	sort.Strings(out)
	return out
}
