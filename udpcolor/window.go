package udpcolor

// replayWindowSize is how many counters a replay window remembers: the
// highest seen and the ones below it.
const replayWindowSize = 64

// replayWindow accepts each counter of a member once. UDP may deliver
// datagrams out of order, so it accepts a counter that is above the
// highest seen so far, or one of the replayWindowSize-1 counters below
// it that has not been seen yet, as IPsec and DTLS do (RFC 4303 section
// 3.4.3, RFC 9147 section 4.5.1); anything else is a replay, or too old
// to tell. Its zero value has seen nothing. Callers check the MAC first,
// so that only the member can move the window.
type replayWindow struct {
	top  uint64 // the highest counter accepted; 0 before the first
	seen uint64 // bit i is set when counter top-i has been accepted
}

// accept reports whether seq is new, and remembers it if so. Counter 0
// is never valid.
func (w *replayWindow) accept(seq uint64) bool {
	switch {
	case seq == 0:
		return false
	case seq > w.top:
		if shift := seq - w.top; shift < replayWindowSize {
			w.seen = w.seen<<shift | 1
		} else {
			w.seen = 1
		}
		w.top = seq
		return true
	}
	d := w.top - seq
	if d >= replayWindowSize || w.seen&(1<<d) != 0 {
		return false
	}
	w.seen |= 1 << d
	return true
}
