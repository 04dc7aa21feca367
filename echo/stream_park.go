package echo

import (
	"log/slog"
	"time"

	"github.com/sockkit/sockkit/internal/park"
	"github.com/sockkit/sockkit/internal/track"
)

// Idle TCP connections are parked (see internal/park): after linger
// without data a connection gives up its goroutine and waits in the
// poller of its Serve call, which starts a goroutine for it again when
// data or the peer's FIN arrives. Where parking is unsupported (every
// system but Linux) the poller is nil and connections wait in their
// goroutines.

// noParking makes every Serve call serve as where parking is unsupported;
// a variable only so that tests can cover that path on Linux.
var noParking = false

// newPoller returns the poller for the connections of one Serve call,
// its Run started in scope, or nil where connections cannot be parked.
// Because Run is one of the scope's goroutines, a graceful shutdown still
// lets the scope start goroutines for the connections that Close hands
// back.
func newPoller(scope *track.Scope) *park.Poller {
	if noParking {
		return nil
	}
	p, err := park.New()
	if err != nil {
		return nil
	}
	if !scope.Go(p.Run) {
		p.Close()
		return nil
	}
	return p
}

// useParker lets sc be parked by p when it idles; nothing happens if p
// is nil or sc has no descriptor.
func (sc *streamConn) useParker(p *park.Poller) {
	if sc.raw == nil {
		return
	}
	if p.Register(&sc.parking, sc.raw, sc) != nil {
		return
	}
	sc.wait = linger
	if sc.idle > 0 {
		sc.wait = min(linger, sc.idle)
	}
	sc.rearm = sc.wait / 2
}

// park hands sc to the poller until it has something to do, and reports
// whether it did; the caller must then leave sc alone. It reports false,
// leaving sc to its goroutine, if the poller is closing or a graceful
// shutdown has begun.
func (sc *streamConn) park() bool {
	var deadline time.Time
	if sc.idle > 0 {
		deadline = start.Add(sc.lastActive + sc.idle)
	}
	sc.s.parked.Add(1)
	if sc.parking.Park(deadline) != nil {
		sc.s.parked.Add(-1)
		return false
	}
	// shutdown sets draining, then unparks; a connection that parked
	// after that looks at draining, so either finds the other.
	if sc.draining.Load() && sc.parking.Unpark() {
		sc.s.parked.Add(-1)
		return false
	}
	return true
}

// Wake implements [park.Waker]: the poller hands a parked connection back.
func (sc *streamConn) Wake(ev park.Event) {
	sc.s.parked.Add(-1)
	switch ev {
	case park.Expired:
		sc.s.log(slog.LevelDebug, "echo: idle timeout; closing", "remote", sc.c.RemoteAddr(), "timeout", sc.idle)
		sc.end()
	case park.Closed:
		// The Serve call is ending: finish like a graceful shutdown
		// (or, if the server is closed, resume closes at once).
		sc.draining.Store(true)
		sc.resume()
	default:
		sc.resume()
	}
}
