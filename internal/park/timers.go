package park

// The parked connections that have a deadline are kept in a binary
// min-heap on it, p.timers, each knowing its index (hidx) so that it can
// leave the heap when it wakes or is unparked. The functions here must be
// called with p.mu held.

func (p *Poller) lockedPushTimer(c *Conn) {
	c.hidx = len(p.timers)
	p.timers = append(p.timers, c)
	p.up(c.hidx)
}

func (p *Poller) lockedRemoveTimer(i int) {
	h := p.timers
	last := len(h) - 1
	h[i].hidx = -1
	if i != last {
		h[i] = h[last]
		h[i].hidx = i
	}
	h[last] = nil
	p.timers = h[:last]
	if i != last {
		p.down(i)
		p.up(i)
	}
}

func (p *Poller) swap(i, j int) {
	h := p.timers
	h[i], h[j] = h[j], h[i]
	h[i].hidx = i
	h[j].hidx = j
}

func (p *Poller) up(i int) {
	h := p.timers
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].deadline <= h[i].deadline {
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
		if l := 2*i + 1; l < len(h) && h[l].deadline < h[least].deadline {
			least = l
		}
		if r := 2*i + 2; r < len(h) && h[r].deadline < h[least].deadline {
			least = r
		}
		if least == i {
			return
		}
		p.swap(i, least)
		i = least
	}
}
