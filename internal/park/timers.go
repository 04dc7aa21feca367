package park

// The deadlines of parked connections are kept in a binary min-heap,
// p.timers, each connection knowing the index of its own (hidx) so that
// it can leave the heap when it wakes or is unparked. Keeping the
// deadline here rather than in the Conn costs nothing for connections
// parked without one. The functions below must be called with p.mu held.

// timer is the deadline of one parked connection.
type timer struct {
	at int64 // since p.base
	c  *Conn
}

func (p *Poller) lockedPushTimer(t timer) {
	t.c.hidx = int32(len(p.timers))
	p.timers = append(p.timers, t)
	p.up(len(p.timers) - 1)
}

func (p *Poller) lockedRemoveTimer(i int) {
	h := p.timers
	last := len(h) - 1
	h[i].c.hidx = -1
	if i != last {
		h[i] = h[last]
		h[i].c.hidx = int32(i)
	}
	h[last] = timer{}
	p.timers = h[:last]
	if i != last {
		p.down(i)
		p.up(i)
	}
}

func (p *Poller) swap(i, j int) {
	h := p.timers
	h[i], h[j] = h[j], h[i]
	h[i].c.hidx = int32(i)
	h[j].c.hidx = int32(j)
}

func (p *Poller) up(i int) {
	h := p.timers
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].at <= h[i].at {
			return
		}
		p.swap(i, parent)
		i = parent
	}
}

func (p *Poller) down(i int) {
	h := p.timers
	for {
		least := i
		if l := 2*i + 1; l < len(h) && h[l].at < h[least].at {
			least = l
		}
		if r := 2*i + 2; r < len(h) && h[r].at < h[least].at {
			least = r
		}
		if least == i {
			return
		}
		p.swap(i, least)
		i = least
	}
}
