package natshub

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sockkit/sockkit/chat"
)

// nickState is a nickname held by a client of this server, as the
// directory should have it; guarded by mu.
type nickState struct {
	nick string      // as the client spelled it
	m    chat.Member // nil once released: its entry is to be deleted
	room string
	rev  uint64 // revision of this server's entry in NATS; 0: not known
	gen  uint64 // counts the changes, so that a write knows it is stale
	lost bool   // a client of another server has it in NATS: not written
}

// remoteEntry is an entry of the directory as the watcher saw it.
type remoteEntry struct {
	entry
	rev uint64
}

// errTaken says that a client of another, live server has a nickname.
var errTaken = errors.New("natshub: nickname taken on another server")

const (
	replyOK     = "ok"
	replyNoNick = "no-such-nick"
)

func fold(nick string) string { return strings.ToLower(nick) }

// Claim implements [chat.Directory]. While the rooms are shared it asks
// NATS, which gives each nickname to one server (claims of different
// nicknames go on at once); while they are
// local-only it refuses only the nicknames that the directory last gave
// to a live server, and gives the others here, to be written to NATS
// when the link comes back (where another server may have given it out
// meanwhile: see the package documentation).
func (h *Hub) Claim(m chat.Member, old, nick string) bool {
	key := fold(nick)
	h.mu.Lock()
	if st := h.own[key]; st != nil {
		// A case change, or a nickname released here whose entry is not
		// deleted yet: this server has the entry, and it is m's now.
		if st.m != nil && st.m != m {
			h.mu.Unlock()
			return false
		}
		st.m, st.nick, st.room = m, nick, h.roomOf[m]
		h.changedLocked(key, st)
		h.releaseLocked(m, old, key)
		h.mu.Unlock()
		signal(h.dirKick)
		return true
	}
	l := h.link
	if l == nil {
		if e, ok := h.remote[key]; ok && e.server != h.id && h.live[e.server] {
			h.mu.Unlock()
			return false
		}
	}
	st := &nickState{nick: nick, m: m, room: h.roomOf[m]}
	val := entry{h.id, st.room, nick}.encode()
	h.mu.Unlock()
	var err error
	if l != nil {
		st.rev, err = h.claimKV(l, key, val)
		if errors.Is(err, errTaken) {
			return false
		}
		if err != nil {
			h.warn("natshub: claiming a nickname in NATS failed; taken here until the link works", err)
		}
	}
	h.mu.Lock()
	if other := h.own[key]; other != nil && other.m != m {
		h.mu.Unlock() // another client here claimed it meanwhile
		return false
	}
	h.own[key] = st
	if l == nil || err != nil {
		h.changedLocked(key, st) // to write when the link works
	}
	h.releaseLocked(m, old, key)
	h.mu.Unlock()
	signal(h.dirKick)
	return true
}

// Release implements [chat.Directory].
func (h *Hub) Release(m chat.Member, nick string) {
	h.mu.Lock()
	h.releaseLocked(m, nick, "")
	h.mu.Unlock()
	signal(h.dirKick)
}

// releaseLocked gives up old, held by m, unless it is kept (folded);
// mu is held.
func (h *Hub) releaseLocked(m chat.Member, old, kept string) {
	key := fold(old)
	st := h.own[key]
	if old == "" || key == kept || st == nil || st.m != m {
		return
	}
	if st.lost {
		delete(h.own, key) // the entry is another server's
		return
	}
	st.m = nil
	h.changedLocked(key, st)
}

// changedLocked marks st, the state of key, to be written; mu is held.
func (h *Hub) changedLocked(key string, st *nickState) {
	st.gen++
	h.dirty[key] = true
}

// setRoomLocked records that m is now in room ("" for none) in its
// directory entry; mu is held.
func (h *Hub) setRoomLocked(m chat.Member, room string) {
	key := fold(m.Nick())
	if st := h.own[key]; st != nil && st.m == m && st.room != room {
		st.room = room
		h.changedLocked(key, st)
	}
}

// Lookup implements [chat.Directory]: it finds the clients of other
// servers, while the rooms are shared.
func (h *Hub) Lookup(nick string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.remote[fold(nick)]
	if !ok || !h.visibleLocked(e) {
		return "", false
	}
	return e.nick, true
}

// Private implements [chat.Directory]: a request to the server of to,
// which answers whether it delivered the line, bounded by
// RequestTimeout.
func (h *Hub) Private(from chat.Member, to string, data []byte) {
	h.mu.Lock()
	e, ok := h.remote[fold(to)]
	ok = ok && h.visibleLocked(e)
	h.mu.Unlock()
	if !ok {
		h.tell(from, errNoLink)
		return
	}
	ctx, cancel := h.opContext(h.ctx)
	defer cancel()
	msg := &nats.Msg{Subject: h.set.privPrefix + e.server, Data: data}
	resp, err := h.nc.RequestMsgWithContext(ctx, msg)
	switch {
	case err != nil:
		h.tell(from, notice{chat.CodeNotDelivered, "no answer from the chat server of " + e.nick + "; your message may not have reached them"})
	case string(resp.Data) == replyOK:
		from.Deliver(data)
	default:
		h.tell(from, notice{chat.CodeNoSuchNick, "nobody is called " + e.nick})
	}
}

// receivePrivate delivers a private message from another server to the
// client here it is for, and answers whether there is one.
func (h *Hub) receivePrivate(msg *nats.Msg) {
	e, err := checkLine(msg.Data, map[chat.Kind]bool{chat.KindPrivate: true})
	if err != nil {
		h.dropped.Add(1)
		msg.Respond([]byte(replyNoNick))
		return
	}
	h.mu.Lock()
	var m chat.Member
	if st := h.own[fold(e.Target)]; st != nil && !st.lost {
		m = st.m
	}
	h.mu.Unlock()
	if m == nil {
		msg.Respond([]byte(replyNoNick))
		return
	}
	m.Deliver(msg.Data)
	msg.Respond([]byte(replyOK))
}

// claimKV gives key to this server in NATS: it creates the entry, or
// takes it over from a server whose lease has run out (or from this
// one's past), and returns the entry's revision; errTaken if a live
// server has it.
func (h *Hub) claimKV(l *link, key string, val []byte) (uint64, error) {
	ctx, cancel := h.opContext(l.ctx)
	defer cancel()
	for range 3 {
		rev, err := l.nicks.Create(ctx, key, val)
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, err
		}
		cur, err := l.nicks.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return 0, err
		}
		if e, err := parseEntry(key, cur.Value()); err == nil && e.server != h.id {
			_, err := l.servers.Get(ctx, e.server)
			if err == nil {
				return 0, errTaken
			}
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				return 0, err
			}
		}
		rev, err = l.nicks.Update(ctx, key, val, cur.Revision())
		if err == nil {
			return rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, err
		}
	}
	return 0, errTaken
}

// dirLoop writes the changed nicknames to NATS while the link works,
// and again a second later after a failure.
func (h *Hub) dirLoop() {
	defer h.wg.Done()
	var retry <-chan time.Time
	for {
		select {
		case <-h.stop:
			return
		case <-h.dirKick:
		case <-retry:
		}
		retry = nil
		if err := h.syncDirectory(); err != nil {
			h.warn("natshub: writing the directory failed; retrying", err)
			retry = time.After(time.Second)
		}
	}
}

// syncDirectory writes every changed nickname, one at a time.
func (h *Hub) syncDirectory() error {
	for {
		select {
		case <-h.stop:
			return nil
		default:
		}
		h.mu.Lock()
		l, key := h.link, ""
		for k := range h.dirty {
			key = k
			break
		}
		h.mu.Unlock()
		if l == nil || key == "" {
			return nil
		}
		h.dirMu.Lock()
		err := h.syncKey(l, key)
		h.dirMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// syncKey writes key's state to NATS: the entry, or its deletion once
// released. A nickname that turns out to be another live server's is
// lost for this one's client, which is told. dirMu is held.
func (h *Hub) syncKey(l *link, key string) error {
	h.mu.Lock()
	st := h.own[key]
	if st == nil {
		delete(h.dirty, key)
		h.mu.Unlock()
		return nil
	}
	s := *st // the state to write
	h.mu.Unlock()

	ctx, cancel := h.opContext(l.ctx)
	defer cancel()
	var rev uint64
	var err error
	gone, lost := false, false
	switch {
	case s.lost:
		gone = s.m == nil
	case s.m == nil:
		if s.rev == 0 {
			s.rev, err = h.ownRevision(ctx, l, key)
		}
		if err == nil && s.rev != 0 {
			err = l.nicks.Delete(ctx, key, jetstream.LastRevision(s.rev))
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				err = nil // no longer this server's entry
			}
		}
		gone = err == nil
	default:
		val := entry{h.id, s.room, s.nick}.encode()
		if s.rev != 0 {
			rev, err = l.nicks.Update(ctx, key, val, s.rev)
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				s.rev, err = 0, nil
			}
		}
		if s.rev == 0 && err == nil {
			rev, err = h.claimKV(l, key, val)
			if errors.Is(err, errTaken) {
				lost, err = true, nil
			}
		}
	}
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case gone && st.gen == s.gen:
		delete(h.own, key)
	case gone:
		st.rev = 0 // claimed again meanwhile: to be created anew
	case lost:
		st.lost, st.rev = true, 0
		if st.m != nil {
			st.m.Deliver(infoLine(lostText(st.nick)))
		}
	case rev != 0:
		st.rev = rev
	}
	if st.gen == s.gen {
		delete(h.dirty, key)
	}
	return nil
}

func lostText(nick string) string {
	return "a user of another chat server has the nickname " + nick +
		" too (one of you took it while the servers were apart); private messages from other servers go to them: choose another nickname with /nick"
}

// ownRevision returns the revision of key's entry if it is this
// server's, else 0.
func (h *Hub) ownRevision(ctx context.Context, l *link, key string) (uint64, error) {
	cur, err := l.nicks.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if e, err := parseEntry(key, cur.Value()); err != nil || e.server != h.id {
		return 0, nil
	}
	return cur.Revision(), nil
}

// startWatch reads the directory as it is into a fresh copy, then keeps
// it up to date from a goroutine until the link is torn down.
func (h *Hub) startWatch(l *link) error {
	w, err := l.nicks.WatchAll(l.ctx) // the watcher lives as long as the link
	if err != nil {
		return err
	}
	ctx, cancel := h.opContext(l.ctx)
	defer cancel()
	l.watch = w
	fresh := make(map[string]remoteEntry)
initial:
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("the watcher ended")
			}
			if e == nil {
				break initial
			}
			h.applyEntry(fresh, e, false)
		case <-ctx.Done():
			w.Stop()
			for range w.Updates() {
			}
			return ctx.Err()
		}
	}
	h.mu.Lock()
	h.remote = fresh
	h.mu.Unlock()
	l.watchDone = make(chan struct{})
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer close(l.watchDone)
		for e := range w.Updates() {
			h.mu.Lock()
			if e != nil && l.ctx.Err() == nil {
				h.applyEntry(h.remote, e, true)
			}
			h.mu.Unlock()
		}
	}()
	return nil
}

// applyEntry applies one change of the directory to remote. When live,
// remote is the Hub's own (mu held), and a change to one of this server's
// entries by another server is noticed: a deletion (another server took
// this one for dead) is written again, a takeover loses the nickname.
func (h *Hub) applyEntry(remote map[string]remoteEntry, e jetstream.KeyValueEntry, live bool) {
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(remote, key)
		if st := h.own[key]; live && st != nil && st.m != nil && !st.lost && e.Revision() > st.rev && st.rev != 0 {
			st.rev = 0
			h.changedLocked(key, st)
			signal(h.dirKick)
		}
		return
	}
	ent, err := parseEntry(key, e.Value())
	if err != nil {
		h.dropped.Add(1)
		delete(remote, key)
		return
	}
	remote[key] = remoteEntry{ent, e.Revision()}
	if !live {
		return
	}
	h.live[ent.server] = true
	if h.recent != nil {
		h.recent[ent.server] = true
	}
	if st := h.own[key]; ent.server != h.id && st != nil && st.m != nil && !st.lost && st.rev != 0 && e.Revision() > st.rev {
		st.lost, st.rev = true, 0
		st.m.Deliver(infoLine(lostText(st.nick)))
	}
}

// refresh renews this server's lease, learns which servers have one,
// and deletes the entries of servers that had none at two refreshes in
// a row (so that a server that has only just started is not taken for
// dead).
func (h *Hub) refresh(l *link) error {
	ctx, cancel := h.opContext(l.ctx)
	defer cancel()
	if _, err := l.servers.Put(ctx, h.id, []byte(h.id)); err != nil {
		return err
	}
	h.mu.Lock()
	h.recent = make(map[string]bool)
	h.mu.Unlock()
	lister, err := l.servers.ListKeys(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{h.id: true}
	for k := range lister.Keys() {
		live[k] = true
	}
	h.mu.Lock()
	for s := range h.recent {
		live[s] = true
	}
	h.live, h.recent = live, nil
	suspect := make(map[string]uint64)
	var stale []remoteEntry
	for key, e := range h.remote {
		if !live[e.server] {
			if rev, ok := h.suspect[key]; ok && rev == e.rev {
				stale = append(stale, e)
			} else {
				suspect[key] = e.rev
			}
		}
	}
	h.suspect = suspect
	h.mu.Unlock()
	for _, e := range stale {
		// Another server may delete it first; the revision decides.
		l.nicks.Delete(ctx, fold(e.nick), jetstream.LastRevision(e.rev))
	}
	return nil
}

// withdraw deletes this server's entries and lease from NATS, as Close
// does, within twice RequestTimeout.
func (h *Hub) withdraw() {
	l := h.current()
	if l == nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, 2*h.set.requestTimeout)
	defer cancel()
	h.dirMu.Lock()
	defer h.dirMu.Unlock()
	h.mu.Lock()
	revs := make(map[string]uint64)
	for key, st := range h.own {
		if !st.lost && st.rev != 0 {
			revs[key] = st.rev
		}
	}
	h.mu.Unlock()
	for key, rev := range revs {
		if l.nicks.Delete(ctx, key, jetstream.LastRevision(rev)) != nil && ctx.Err() != nil {
			return
		}
	}
	l.servers.Delete(ctx, h.id)
}
