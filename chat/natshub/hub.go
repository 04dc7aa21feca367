package natshub

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/opt"
)

// Defaults for the zero fields of [Options].
const (
	DefaultPrefix           = "sockkit.chat"
	DefaultNickTTL          = 15 * time.Second
	DefaultEchoTimeout      = 3 * time.Second
	DefaultRequestTimeout   = 2 * time.Second
	DefaultMaxPendingBytes  = 1 << 20
	DefaultReconnectWait    = 100 * time.Millisecond
	DefaultMaxReconnectWait = 5 * time.Second
	DefaultReplicas         = 1
)

// Options configure a [Hub]. The zero value works: servers that connect
// to one NATS server with the zero Options share their rooms.
type Options struct {
	// NATS are options for nats.Connect, applied after the Hub's own, so
	// that they may add credentials (nats.UserCredentials(file)), TLS or
	// a name, or change what the Hub set. The Hub needs
	// nats.ReconnectBufSize(-1), nats.MaxReconnects(-1),
	// nats.IgnoreAuthErrorAbort() and nats.RetryOnFailedConnect(true) to
	// keep its promises: changing them
	// changes what the package documentation says.
	NATS []nats.Option

	// Prefix begins every subject, stream and bucket name the Hub uses:
	// servers with the same Prefix share rooms and nicknames, servers with
	// another one are another chat network on the same NATS. Empty means
	// DefaultPrefix; otherwise it is tokens of ASCII letters, digits, "_"
	// and "-" (not starting with "-", at most 24 bytes each) separated by
	// dots, at most 64 bytes.
	Prefix string

	// NickTTL bounds how long the nicknames of a server that died stay
	// taken: each Hub renews a lease in NATS every NickTTL/3, and the
	// nicknames of a server whose lease has run out are free for the
	// others to take. They also leave /who and /rooms within 4/3 of
	// NickTTL. Zero means DefaultNickTTL; at least 300 ms.
	NickTTL time.Duration

	// EchoTimeout bounds how long a line may take to come back from NATS.
	// Members get a room's lines, their own too, only from NATS, so that
	// all see one order; when a line is not back in time, the link is
	// taken to be broken: the rooms go local-only (the lines waiting are
	// delivered here, and their senders told) and the Hub reconnects.
	// Zero means DefaultEchoTimeout. It is also the NATS ping interval.
	EchoTimeout time.Duration

	// RequestTimeout bounds each request to NATS of the directory (a
	// nickname claimed, say) and of a private message to another server.
	// Zero means DefaultRequestTimeout.
	RequestTimeout time.Duration

	// MaxPendingBytes bounds the lines published and not yet back from
	// NATS, in bytes. A line past it is not sent, and its sender gets
	// "ERR not-delivered": a slow NATS never makes a session wait. Zero
	// means DefaultMaxPendingBytes.
	MaxPendingBytes int

	// ReconnectWait is the first wait before reconnecting to NATS; it
	// doubles with each failed attempt up to MaxReconnectWait, with up to
	// a fifth more at random. Zero means DefaultReconnectWait and
	// DefaultMaxReconnectWait.
	ReconnectWait, MaxReconnectWait time.Duration

	// Replicas is the number of copies NATS keeps of the rooms' stream and
	// the directory's buckets: 1 for one NATS server, 3 in a cluster to
	// survive the loss of a NATS node. Zero means DefaultReplicas.
	Replicas int

	// Logger, if not nil, receives a line when the rooms become local-only
	// or shared (info), and for failures talking to NATS (warn).
	Logger *slog.Logger
}

// settings are the resolved Options.
type settings struct {
	nats                                 []nats.Option
	roomPrefix, privPrefix               string // subjects, ending in "."
	stream, nicksBucket, serversBucket   string
	nickTTL, echoTimeout, requestTimeout time.Duration
	reconnectWait, maxReconnectWait      time.Duration
	maxPending, replicas                 int
	logger                               *slog.Logger
}

func (o *Options) resolve() (settings, error) {
	r := opt.New("natshub")
	prefix := opt.Or(o.Prefix, DefaultPrefix)
	r.Check(validPrefix(prefix), "Prefix", o.Prefix, "must be dot-separated tokens of letters, digits, _ and -, at most 64 bytes")
	name := strings.ReplaceAll(prefix, ".", "_")
	s := settings{
		nats:             o.NATS,
		roomPrefix:       prefix + ".room.",
		privPrefix:       prefix + ".priv.",
		stream:           strings.ToUpper(name) + "_ROOMS",
		nicksBucket:      name + "_nicks",
		serversBucket:    name + "_servers",
		nickTTL:          opt.Range(r, "NickTTL", o.NickTTL, DefaultNickTTL, 300*time.Millisecond, 24*time.Hour),
		echoTimeout:      opt.Range(r, "EchoTimeout", o.EchoTimeout, DefaultEchoTimeout, 10*time.Millisecond, time.Hour),
		requestTimeout:   opt.Range(r, "RequestTimeout", o.RequestTimeout, DefaultRequestTimeout, time.Millisecond, time.Hour),
		maxPending:       opt.Default(r, "MaxPendingBytes", o.MaxPendingBytes, DefaultMaxPendingBytes),
		reconnectWait:    opt.Range(r, "ReconnectWait", o.ReconnectWait, DefaultReconnectWait, time.Millisecond, time.Hour),
		maxReconnectWait: opt.Range(r, "MaxReconnectWait", o.MaxReconnectWait, DefaultMaxReconnectWait, time.Millisecond, 24*time.Hour),
		replicas:         opt.Range(r, "Replicas", o.Replicas, DefaultReplicas, 1, 5),
		logger:           o.Logger,
	}
	r.Check(s.maxReconnectWait >= s.reconnectWait, "MaxReconnectWait", o.MaxReconnectWait, "must not be less than ReconnectWait")
	return s, r.Err()
}

// validPrefix reports whether p is dot-separated tokens that follow the
// rules of room names (letters, digits, "_" and "-", not starting with
// "-", at most 24 bytes each), at most 64 bytes in all.
func validPrefix(p string) bool {
	if len(p) > 64 {
		return false
	}
	for _, tok := range strings.Split(p, ".") {
		if !chat.ValidRoom(tok) {
			return false
		}
	}
	return true
}

// Hub is a [chat.Hub] over NATS: several [chat.Server] processes that
// use Hubs on one NATS share their rooms and their nicknames. It is
// also a [chat.SenderHub] and a [chat.Directory]. The package
// documentation says how, and what it promises. Make one with
// [Connect]; close it with [Hub.Close] after the Server has shut down.
type Hub struct {
	set    settings
	id     string
	nc     *nats.Conn
	priv   *nats.Subscription
	ctx    context.Context // ends at Close: bounds every request
	cancel context.CancelFunc

	kick       chan struct{} // cap 1: the connection changed
	dirKick    chan struct{} // cap 1: directory entries to write
	pubKick    chan struct{} // cap 1: lines to publish
	stop       chan struct{} // closed by Close
	firstSetup chan struct{} // closed after the first attempt to share
	wg         sync.WaitGroup
	stopping   sync.WaitGroup // links being stopped
	closeOnce  sync.Once
	links      []*link // every link made, to wait for at Close; supervisor only

	dmu   sync.Mutex // orders what is delivered to local members
	local chat.LocalHub

	dirMu sync.Mutex // one directory write at a time

	// Guarded by mu (after dmu, if both are held).
	mu          sync.Mutex
	link        *link         // nil while the rooms are local-only
	sharedCh    chan struct{} // closed while shared
	toldLocal   bool          // members were told that rooms are local-only
	members     map[string]map[chat.Member]struct{}
	roomOf      map[chat.Member]string
	flights     map[flightKey]*flight
	seq         uint64  // the last line numbered
	pending     []*line // published, not yet back from NATS, by seq
	pendingSize int
	toPublish   []*line
	drainedUpTo uint64 // own lines up to this one were delivered here already
	own         map[string]*nickState
	dirty       map[string]bool
	remote      map[string]remoteEntry // the directory as NATS has it
	live        map[string]bool        // servers with a lease
	recent      map[string]bool        // servers seen while listing leases
	suspect     map[string]uint64      // entries of dead servers at the last refresh

	disconnected                               atomic.Bool // since the supervisor last looked
	published, received, notDelivered, dropped atomic.Int64
}

// line is one room line of this server on its way through NATS.
type line struct {
	seq      uint64
	room     string
	from     chat.Member // nil when not known
	data     []byte
	at       time.Time
	resolved bool // delivered, failed or drained; guarded by mu
}

// flightKey and flight count a member's lines on their way to a room, so
// that leaving the room waits for them: a member sees its own PART.
type flightKey struct {
	room string
	m    chat.Member
}

type flight struct {
	n       int
	leaving bool
}

// Connect returns a Hub that connects to the NATS server at url (several
// may be given, separated by commas; empty means nats.DefaultURL). It
// waits for the first connection and the setting up of the rooms'
// stream and the directory, each bounded by o.RequestTimeout; if NATS
// cannot be reached, or cannot set up the stream or buckets yet, the Hub
// starts with local-only rooms and keeps trying in the background
// ([Hub.Shared] tells). Connect fails for bad options, and when a NATS
// server is reached but the connection is refused, or cannot be made:
// credentials that NATS does not accept or that cannot be read (a bad
// creds file), TLS that does not agree, and the like, which trying again
// would not mend. The error says what NATS said.
func Connect(url string, o Options) (*Hub, error) {
	set, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if url == "" {
		url = nats.DefaultURL
	}
	h := &Hub{
		set:        set,
		id:         newID(),
		kick:       make(chan struct{}, 1),
		dirKick:    make(chan struct{}, 1),
		pubKick:    make(chan struct{}, 1),
		stop:       make(chan struct{}),
		firstSetup: make(chan struct{}),
		sharedCh:   make(chan struct{}),
		members:    make(map[string]map[chat.Member]struct{}),
		roomOf:     make(map[chat.Member]string),
		flights:    make(map[flightKey]*flight),
		own:        make(map[string]*nickState),
		dirty:      make(map[string]bool),
		remote:     make(map[string]remoteEntry),
		live:       make(map[string]bool),
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	poke := func(*nats.Conn) { signal(h.kick) }
	opts := []nats.Option{
		nats.Name("sockkit chat " + h.id),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		// Credentials refused once the Hub runs (revoked, expired, the
		// server's trust changed) are retried with the backoff like any
		// other loss, rather than given up on after two: the rooms stay
		// local-only, with the reason in the log, until NATS takes them.
		nats.IgnoreAuthErrorAbort(),
		nats.ReconnectBufSize(-1),
		nats.CustomReconnectDelay(h.backoff),
		nats.PingInterval(set.echoTimeout),
		nats.MaxPingsOutstanding(2),
		nats.Timeout(set.requestTimeout),
		nats.ConnectHandler(poke),
		nats.ReconnectHandler(poke),
		nats.ClosedHandler(poke),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			h.disconnected.Store(true)
			if err != nil {
				h.warn("natshub: disconnected from NATS", err)
			}
			signal(h.kick)
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			h.warn("natshub: NATS error", err)
		}),
	}
	// A first attempt without RetryOnFailedConnect tells a NATS that
	// cannot be reached, which may come, from one that refuses us, which
	// would refuse every retry in silence.
	nc, err := nats.Connect(url, append(append(opts, set.nats...), nats.RetryOnFailedConnect(false))...)
	if err != nil && unreachable(err) {
		nc, err = nats.Connect(url, append(opts, set.nats...)...)
	}
	if err != nil {
		h.cancel()
		if errors.Is(err, nats.ErrAuthorization) {
			return nil, fmt.Errorf("natshub: NATS refused the credentials (or their absence): %w", err)
		}
		return nil, fmt.Errorf("natshub: connecting to NATS: %w", err)
	}
	h.nc = nc
	if h.priv, err = nc.Subscribe(set.privPrefix+h.id, h.receivePrivate); err != nil {
		nc.Close()
		h.cancel()
		return nil, err
	}
	h.wg.Add(4)
	go h.supervise()
	go h.publishLoop()
	go h.dirLoop()
	go h.leaseLoop()
	<-h.firstSetup
	return h, nil
}

// unreachable reports whether err, from a first attempt to connect to
// NATS, means that no NATS server answered, or none could take one more
// connection: what a NATS that is starting or coming back may mend.
func unreachable(err error) bool {
	var ne net.Error
	var oe *net.OpError
	if errors.Is(err, nats.ErrTLS) || errors.As(err, &oe) && oe.Op == "remote error" || // a TLS alert from the server
		errors.As(err, new(tls.AlertError)) || errors.As(err, new(*tls.CertificateVerificationError)) {
		// A TLS handshake that failed (a certificate refused, either way)
		// came from a server that answered; only one that timed out did not.
		return errors.As(err, &ne) && ne.Timeout()
	}
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, nats.ErrNoServers) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrMaxConnectionsExceeded) ||
		errors.Is(err, nats.ErrMaxAccountConnectionsExceeded)
}

// newID returns a random server ID.
func newID() string {
	var b [idLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// backoff is the delay before the attempt-th reconnection.
func (h *Hub) backoff(attempt int) time.Duration {
	d := h.set.reconnectWait
	for i := 1; i < attempt && d < h.set.maxReconnectWait; i++ {
		d *= 2
	}
	d = min(d, h.set.maxReconnectWait)
	return d + mrand.N(d/5+1)
}

// signal wakes whoever waits on c (cap 1) without blocking.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (h *Hub) warn(msg string, err error) {
	if h.set.logger != nil {
		h.set.logger.Warn(msg, "err", err, "server", h.id)
	}
}

func (h *Hub) info(msg string) {
	if h.set.logger != nil {
		h.set.logger.Info(msg, "server", h.id)
	}
}

// ServerID returns the ID of this Hub in NATS: 16 hex digits, new for
// each Hub.
func (h *Hub) ServerID() string { return h.id }

// Shared reports whether the rooms are shared through NATS now, rather
// than local-only.
func (h *Hub) Shared() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.link != nil
}

// WaitShared waits until the rooms are shared through NATS, or ctx ends.
func (h *Hub) WaitShared(ctx context.Context) error {
	for {
		h.mu.Lock()
		c := h.sharedCh
		h.mu.Unlock()
		select {
		case <-c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-h.stop:
			return chat.ErrServerClosed
		}
	}
}

// Stats counts what a [Hub] has done since it was made.
type Stats struct {
	Shared       bool  // the rooms are shared now
	Published    int64 // this server's lines published to NATS
	Received     int64 // lines from NATS delivered to this server's members
	NotDelivered int64 // lines whose senders got "ERR not-delivered"
	Dropped      int64 // messages from NATS refused as malformed
	Pending      int   // lines on their way through NATS now
	Nicks        int   // nicknames this server holds
	RemoteNicks  int   // nicknames the directory gives to other servers
}

// Stats returns the Hub's counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{
		Shared: h.link != nil, Published: h.published.Load(), Received: h.received.Load(),
		NotDelivered: h.notDelivered.Load(), Dropped: h.dropped.Load(),
	}
	for _, p := range h.pending {
		if !p.resolved {
			s.Pending++
		}
	}
	for _, st := range h.own {
		if st.m != nil {
			s.Nicks++
		}
	}
	for _, e := range h.remote {
		if h.visibleLocked(e) {
			s.RemoteNicks++
		}
	}
	return s
}

// Close releases this server's nicknames in NATS (bounded by
// RequestTimeout), closes the connection and waits for the Hub's
// goroutines. Close the Hub after the [chat.Server] that uses it has
// shut down. It is idempotent and returns nil.
func (h *Hub) Close() error {
	h.shutdown(true)
	return nil
}

// shutdown closes the Hub; graceful, it first takes this server's
// nicknames and lease out of NATS, as a server that dies does not.
func (h *Hub) shutdown(graceful bool) {
	h.closeOnce.Do(func() {
		if graceful {
			h.withdraw()
		}
		close(h.stop)
		h.cancel()
		h.wg.Wait() // the supervisor has torn the link down
		h.nc.Close()
		h.stopping.Wait()
		for _, l := range h.links {
			l.wait()
		}
	})
}

// Join implements [chat.Hub].
func (h *Hub) Join(room string, m chat.Member) {
	h.mu.Lock()
	ms := h.members[room]
	if ms == nil {
		ms = make(map[chat.Member]struct{})
		h.members[room] = ms
	}
	ms[m] = struct{}{}
	h.roomOf[m] = room
	if f := h.flights[flightKey{room, m}]; f != nil {
		f.leaving = false
	}
	h.local.Join(room, m)
	h.setRoomLocked(m, room)
	alone := h.link == nil
	if alone {
		h.toldLocal = true
	}
	h.mu.Unlock()
	signal(h.dirKick)
	if alone {
		m.Deliver(infoLine(infoLocal))
	}
}

// Leave implements [chat.Hub]. A member with lines on their way to the
// room stays a member here until they are back, so that it sees them.
func (h *Hub) Leave(room string, m chat.Member) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if ms := h.members[room]; ms != nil {
		delete(ms, m)
		if len(ms) == 0 {
			delete(h.members, room)
		}
	}
	if h.roomOf[m] == room {
		delete(h.roomOf, m)
		h.setRoomLocked(m, "")
		signal(h.dirKick)
	}
	if f := h.flights[flightKey{room, m}]; f != nil {
		f.leaving = true
		return
	}
	h.local.Leave(room, m)
}

// Publish implements [chat.Hub]: it is PublishFrom without a sender to
// tell of a failure.
func (h *Hub) Publish(room string, data []byte) { h.PublishFrom(room, nil, data) }

// PublishFrom implements [chat.SenderHub]. While the rooms are shared
// the line goes to NATS, and members here get it when it comes back; while
// they are local-only it goes to this server's members at once.
func (h *Hub) PublishFrom(room string, from chat.Member, data []byte) {
	if h.enqueue(room, from, data) {
		return
	}
	// Local-only, unless the rooms became shared meanwhile: that change
	// takes dmu, which is held from here to the delivery.
	h.dmu.Lock()
	defer h.dmu.Unlock()
	if !h.enqueue(room, from, data) {
		h.local.Publish(room, data)
	}
}

// enqueue queues a line for NATS if the rooms are shared, and reports
// whether they are. A line past MaxPendingBytes is refused, with an ERR
// line for its sender.
func (h *Hub) enqueue(room string, from chat.Member, data []byte) bool {
	h.mu.Lock()
	if h.link == nil {
		h.mu.Unlock()
		return false
	}
	if h.pendingSize+len(data) > h.set.maxPending {
		h.mu.Unlock()
		h.tell(from, errBusy)
		return true
	}
	h.seq++
	p := &line{seq: h.seq, room: room, from: from, data: append([]byte(nil), data...), at: time.Now()}
	h.pending = append(h.pending, p)
	h.pendingSize += len(p.data)
	h.toPublish = append(h.toPublish, p)
	if from != nil {
		k := flightKey{room, from}
		f := h.flights[k]
		if f == nil {
			f = new(flight)
			h.flights[k] = f
		}
		f.n++
	}
	h.mu.Unlock()
	signal(h.pubKick)
	return true
}

// publishLoop publishes the queued lines, in order, from one goroutine:
// NATS keeps the order of one connection's messages.
func (h *Hub) publishLoop() {
	defer h.wg.Done()
	for {
		select {
		case <-h.stop:
			return
		case <-h.pubKick:
		}
		h.mu.Lock()
		batch := h.toPublish
		h.toPublish = nil
		h.mu.Unlock()
		for _, p := range batch {
			msg := &nats.Msg{
				Subject: h.set.roomPrefix + p.room,
				Data:    p.data,
				Header:  nats.Header{originHeader: []string{origin{h.id, p.seq}.String()}},
			}
			if err := h.nc.PublishMsg(msg); err != nil {
				h.publishFailed(p, err)
				continue
			}
			h.published.Add(1)
		}
	}
}

// publishFailed handles a line NATS did not take. While the connection
// is down the line waits for the rooms to go local-only, which delivers
// it here; any other failure (a line too long for NATS) is final.
func (h *Hub) publishFailed(p *line, err error) {
	if !h.nc.IsConnected() {
		signal(h.kick)
		return
	}
	h.warn("natshub: publish failed", err)
	h.mu.Lock()
	if p.resolved {
		h.mu.Unlock()
		return
	}
	p.resolved = true
	h.pendingSize -= len(p.data)
	h.mu.Unlock()
	h.tell(p.from, errRefused)
	h.finished(p)
}

// finished ends p's flight: the member leaves the room now if it asked
// to while p was on its way.
func (h *Hub) finished(p *line) {
	if p.from == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	k := flightKey{p.room, p.from}
	f := h.flights[k]
	if f == nil {
		return
	}
	if f.n--; f.n > 0 {
		return
	}
	delete(h.flights, k)
	if f.leaving {
		h.local.Leave(p.room, p.from)
	}
}

// tell delivers one of the notices below to m, if there is one.
func (h *Hub) tell(m chat.Member, n notice) {
	if n.code == chat.CodeNotDelivered {
		h.notDelivered.Add(1)
	}
	if m != nil {
		m.Deliver(n.line())
	}
}

// notice is an ERR or INFO line that the Hub sends a member.
type notice struct{ code, text string }

func (n notice) line() []byte {
	e := chat.Event{Kind: chat.KindInfo, Text: n.text}
	if n.code != "" {
		e = chat.Event{Kind: chat.KindError, Code: n.code, Text: n.text}
	}
	return []byte(e.String() + "\n")
}

func infoLine(text string) []byte { return notice{text: text}.line() }

// The notices, and the INFO texts that every member of a room gets.
var (
	errBusy    = notice{chat.CodeNotDelivered, "not sent: the link to the other chat servers is busy; nobody got your line, try again"}
	errRefused = notice{chat.CodeNotDelivered, "not sent: NATS refused your line (too long?); nobody got it"}
	errLost    = notice{chat.CodeNotDelivered, "lost on its way through NATS: nobody got your line, try again"}
	errDrained = notice{chat.CodeNotDelivered, "the link to the other chat servers went down while your line was on its way: people here got it, those on other servers may not have"}
	errNoLink  = notice{chat.CodeNotDelivered, "not sent: the link to the other chat servers is down"}
)

const (
	infoLocal  = "your room is local-only: the link to the other chat servers (NATS) is down; reconnecting"
	infoShared = "your room is shared with the other chat servers again"
)

// Rooms implements [chat.Hub]: the rooms of every server, while they are
// shared; this server's alone while they are local-only.
func (h *Hub) Rooms() []chat.RoomInfo {
	h.mu.Lock()
	count := make(map[string]int)
	for room, ms := range h.members {
		count[room] += len(ms)
	}
	for _, e := range h.remote {
		if h.visibleLocked(e) && e.room != "" {
			count[e.room]++
		}
	}
	h.mu.Unlock()
	out := make([]chat.RoomInfo, 0, len(count))
	for name, n := range count {
		out = append(out, chat.RoomInfo{Name: name, Members: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Who implements [chat.Hub], over every server like Rooms.
func (h *Hub) Who(room string) []string {
	h.mu.Lock()
	var out []string
	for m := range h.members[room] {
		out = append(out, m.Nick())
	}
	for _, e := range h.remote {
		if h.visibleLocked(e) && e.room == room {
			out = append(out, e.nick)
		}
	}
	h.mu.Unlock()
	sort.Strings(out)
	return out
}

// visibleLocked reports whether e, from the directory, is a client of
// another server that is alive, while the rooms are shared; mu is held.
func (h *Hub) visibleLocked(e remoteEntry) bool {
	return h.link != nil && e.server != h.id && h.live[e.server]
}
