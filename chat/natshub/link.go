package natshub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sockkit/sockkit/internal/track"
)

// link is what the Hub has set up in NATS while the rooms are shared:
// the consumer of the rooms' stream and the directory's buckets and
// watcher. A new one is made each time the connection comes back.
type link struct {
	ctx            context.Context // ends when the link is torn down
	cancel         context.CancelFunc
	nicks, servers jetstream.KeyValue
	cc             jetstream.ConsumeContext
	watch          jetstream.KeyWatcher
	watchDone      chan struct{}
	made           time.Time
}

// stop ends the link's consumer and watcher without waiting for them.
func (l *link) stop() {
	l.cancel()
	if l.cc != nil {
		l.cc.Stop()
	}
	if l.watch != nil {
		l.watch.Stop()
	}
}

// stopLink stops l from a goroutine of its own: stopping a consumer can
// wait for NATS, and the rooms must not.
func (h *Hub) stopLink(l *link) {
	h.stopping.Add(1)
	go func() {
		defer h.stopping.Done()
		l.stop()
	}()
}

// wait waits, briefly at most, for what stop ended: it is used after
// the NATS connection is closed, which ends them too.
func (l *link) wait() {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	if l.cc != nil {
		select {
		case <-l.cc.Closed():
		case <-t.C:
		}
	}
	if l.watchDone != nil {
		select {
		case <-l.watchDone:
		case <-t.C:
		}
	}
}

// supervise makes and tears down links as the connection comes and goes,
// and checks that lines come back from NATS in time.
func (h *Hub) supervise() {
	defer h.wg.Done()
	check := time.NewTicker(max(h.set.echoTimeout/4, time.Millisecond))
	defer check.Stop()
	var retryC <-chan time.Time // set while waiting to set up again
	failures, first := 0, true
	for {
		// A connection that dropped and came back is a new link: what the
		// old one had on its way is gone.
		if lost := h.disconnected.Swap(false); h.current() != nil && (lost || !h.nc.IsConnected()) {
			h.teardown(true)
		}
		if h.current() == nil && h.nc.IsConnected() && retryC == nil {
			if err := h.setup(); err != nil {
				failures++
				h.warn("natshub: cannot share the rooms through NATS; retrying", err)
				retryC = time.After(h.backoff(failures))
			} else {
				failures = 0
			}
		}
		if first {
			first = false
			close(h.firstSetup)
		}
		select {
		case <-h.stop:
			h.teardown(false)
			return
		case <-h.kick:
		case <-retryC:
			retryC = nil
		case <-check.C:
			if l := h.current(); l != nil && h.overdue() {
				h.warn("natshub: lines are not coming back from NATS; reconnecting", errors.New("echo timeout"))
				if time.Since(l.made) > 4*h.set.echoTimeout {
					failures = 0
				}
				failures++
				h.teardown(true)
				retryC = time.After(h.backoff(failures))
				h.nc.ForceReconnect()
			}
		}
	}
}

// leaseLoop renews the lease every NickTTL/3 while the rooms are shared;
// it is not the supervisor's job, so that a slow NATS never delays the
// supervisor's checks.
func (h *Hub) leaseLoop() {
	defer h.wg.Done()
	track.Every(h.stop, h.set.nickTTL/3, func() {
		if l := h.current(); l != nil {
			if err := h.refresh(l); err != nil {
				h.warn("natshub: renewing the lease failed", err)
			}
		}
	})
}

// current returns the link, or nil while the rooms are local-only.
func (h *Hub) current() *link {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.link
}

// opContext returns a context for one request to NATS.
func (h *Hub) opContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, h.set.requestTimeout)
}

// setup makes a link: the stream of the rooms, the directory's buckets,
// this server's lease, a watcher of the directory and a consumer of
// the stream, from its next line on. Then the rooms are shared.
func (h *Hub) setup() (err error) {
	ctx, cancel := context.WithCancel(h.ctx)
	l := &link{ctx: ctx, cancel: cancel, made: time.Now()}
	defer func() {
		if err != nil {
			h.stopLink(l)
			h.links = append(h.links, l)
		}
	}()
	js, err := jetstream.New(h.nc)
	if err != nil {
		return err
	}
	opCtx, opCancel := h.opContext(ctx)
	defer opCancel()
	if _, err := js.CreateOrUpdateStream(opCtx, jetstream.StreamConfig{
		Name:        h.set.stream,
		Description: "sockkit chat: the lines of every room, in the one order all members see",
		Subjects:    []string{h.set.roomPrefix + "*"},
		Storage:     jetstream.MemoryStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      time.Minute,
		MaxBytes:    64 << 20,
		Replicas:    h.set.replicas,
	}); err != nil {
		return fmt.Errorf("stream %s: %w", h.set.stream, err)
	}
	if l.nicks, err = h.bucket(opCtx, js, h.set.nicksBucket, 0,
		"sockkit chat: who has each nickname (server, room, nickname)"); err != nil {
		return err
	}
	if l.servers, err = h.bucket(opCtx, js, h.set.serversBucket, h.set.nickTTL,
		"sockkit chat: a lease per live server, renewed every third of its TTL"); err != nil {
		return err
	}
	if err := h.refresh(l); err != nil {
		return err
	}
	if err := h.startWatch(l); err != nil {
		return fmt.Errorf("watching %s: %w", h.set.nicksBucket, err)
	}
	cons, err := js.OrderedConsumer(opCtx, h.set.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{h.set.roomPrefix + ">"},
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("consumer of %s: %w", h.set.stream, err)
	}
	if l.cc, err = cons.Consume(h.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		h.warn("natshub: consuming the rooms", err)
	})); err != nil {
		return fmt.Errorf("consuming %s: %w", h.set.stream, err)
	}

	h.dmu.Lock()
	h.mu.Lock()
	h.link = l
	h.links = append(h.links, l)
	for k := range h.own {
		h.dirty[k] = true // NATS may have lost them (a restart), or others may have taken them
	}
	announce := h.toldLocal
	h.toldLocal = false
	close(h.sharedCh)
	h.mu.Unlock()
	if announce {
		h.broadcast(infoLine(infoShared))
	}
	h.dmu.Unlock()
	signal(h.dirKick)
	h.info("natshub: rooms shared through NATS")
	return nil
}

// bucket makes or updates the key-value bucket name, in memory, whose
// entries live ttl (0: for ever).
func (h *Hub) bucket(ctx context.Context, js jetstream.JetStream, name string, ttl time.Duration, desc string) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: desc, History: 1, TTL: ttl,
		Storage: jetstream.MemoryStorage, Replicas: h.set.replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	return kv, nil
}

// teardown makes the rooms local-only: the lines on their way are
// delivered here, in order, and their senders told; with notify, every
// member here gets one INFO line saying so.
func (h *Hub) teardown(notify bool) {
	h.dmu.Lock()
	defer h.dmu.Unlock()
	h.mu.Lock()
	l := h.link
	if l == nil {
		h.mu.Unlock()
		return
	}
	h.link = nil
	h.sharedCh = make(chan struct{})
	drain := h.pending
	h.pending, h.pendingSize, h.toPublish = nil, 0, nil
	h.drainedUpTo = h.seq
	for _, p := range drain {
		p.resolved = true
	}
	notify = notify && len(h.members) > 0
	h.toldLocal = h.toldLocal || notify
	h.mu.Unlock()
	l.cancel() // its watcher changes nothing more
	h.stopLink(l)
	for _, p := range drain {
		h.local.Publish(p.room, p.data)
		h.tell(p.from, errDrained)
		h.finished(p)
	}
	if notify {
		h.broadcast(infoLine(infoLocal))
	}
	h.info("natshub: rooms local-only")
}

// broadcast delivers data to every member here; dmu is held.
func (h *Hub) broadcast(data []byte) {
	for _, r := range h.local.Rooms() {
		h.local.Publish(r.Name, data)
	}
}

// overdue reports whether the oldest line on its way has been so for
// longer than EchoTimeout.
func (h *Hub) overdue() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.pending {
		if !p.resolved {
			return time.Since(p.at) > h.set.echoTimeout
		}
	}
	return false
}

// receive handles one line of the rooms' stream: it goes to the members
// here, in the stream's order. One of this server's own lines also ends
// its flight, and tells the senders of any line before it that NATS lost.
func (h *Hub) receive(msg jetstream.Msg) {
	room, ok := strings.CutPrefix(msg.Subject(), h.set.roomPrefix)
	data := msg.Data()
	if !ok || checkRoomLine(room, data) != nil {
		h.dropped.Add(1)
		return
	}
	o, err := parseOrigin(msg.Headers().Get(originHeader))
	if err != nil {
		h.dropped.Add(1)
		return
	}
	h.dmu.Lock()
	defer h.dmu.Unlock()
	var lost []*line
	var done *line
	if o.server == h.id {
		h.mu.Lock()
		if o.seq <= h.drainedUpTo {
			h.mu.Unlock()
			return // delivered here when the rooms went local-only
		}
		for len(h.pending) > 0 && h.pending[0].seq <= o.seq {
			p := h.pending[0]
			h.pending[0] = nil
			h.pending = h.pending[1:]
			if p.resolved {
				continue
			}
			p.resolved = true
			h.pendingSize -= len(p.data)
			if p.seq == o.seq {
				done = p
			} else {
				lost = append(lost, p)
			}
		}
		h.mu.Unlock()
	}
	for _, p := range lost {
		h.tell(p.from, errLost)
		h.finished(p)
	}
	h.local.Publish(room, data)
	h.received.Add(1)
	if done != nil {
		h.finished(done)
	}
}
