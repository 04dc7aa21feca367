package servertest

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/track"
)

// StreamServer is what a stream protocol's Server has in common with the
// others: *echo.Server, *chat.Server and *httpfetch.Server satisfy it.
type StreamServer interface {
	Serve(ctx context.Context, l net.Listener) error
	Shutdown(ctx context.Context) error
	Close() error
}

// PacketServer is what a datagram protocol's Server has in common with
// the others: *echo.Server, *timesync.Server and *udpcolor.Server
// satisfy it.
type PacketServer interface {
	ServePacket(ctx context.Context, pc net.PacketConn) error
	Shutdown(ctx context.Context) error
	Close() error
}

// DialFunc opens a client connection, as a [net.Dialer]'s DialContext
// does. It has the type of the Dial field of every sockkit Client, so a
// Session can pass it on as it is.
type DialFunc = func(ctx context.Context, network, address string) (net.Conn, error)

// BadSetting is a setting out of range for a server of type S: Set puts
// it into a fresh server, and Serve must then fail with an error whose
// text names Field.
type BadSetting[S any] struct {
	// Field is the name of the field Set changes, such as "BufferSize".
	Field string
	// Set changes the field to a value out of its documented range.
	Set func(S)
}

// Stream describes a stream server for [RunStream].
type Stream[S StreamServer] struct {
	// Name is the name of the package, the prefix of its errors
	// ("echo").
	Name string

	// New returns a fresh server, not yet serving: the zero value, or
	// one with what it needs to have something to serve (a directory of
	// files). It must be a pointer to a struct; see the package doc for
	// the fields the suite sets on it.
	New func(t testing.TB) S

	// ErrServerClosed is the package's ErrServerClosed.
	ErrServerClosed error

	// Session opens a client session to the server at addr, through
	// dial, proves that the server works through it (one round trip, one
	// line, one request), ends it, and returns nil. It returns an error
	// when the server refuses the connection or answers wrongly, and it
	// must return once ctx is done. It may be called from several
	// goroutines at once.
	Session func(ctx context.Context, dial DialFunc, addr string) error

	// Hold opens a connection to the server at addr through dial, waits
	// until the server has admitted it where the protocol shows that (a
	// greeting, one round trip), and returns it left idle: the server
	// must end it when it shuts down. The suite closes it.
	Hold func(ctx context.Context, dial DialFunc, addr string) (net.Conn, error)

	// Closing, if not nil, reads from a connection made by Hold once a
	// graceful shutdown has begun, and returns nil when the server has
	// sent what the protocol sends a session that a shutdown ends, such
	// as chat's "BYE shutdown" line. The suite sets a read deadline on c
	// first, and then expects the server to close c. Nil means the server
	// closes such a connection without a word.
	Closing func(c net.Conn) error

	// Stuck, if not nil, opens a connection that a graceful shutdown
	// cannot end, because it is in the middle of a unit of work: a
	// client that sends and never reads, a request whose headers never
	// end. It returns once the server is known to be in the middle of that
	// work (it has sent the first bytes of the reply), or a shutdown
	// could still end it gracefully. Only ShutdownTimeout, or the context
	// of Shutdown, ends it. Nil
	// means that the protocol has no such session (chat ends every
	// session with its BYE line); the subtests that need one use Hold
	// instead, and "ShutdownContextExpires" does not run.
	Stuck func(ctx context.Context, dial DialFunc, addr string) (net.Conn, error)

	// BadSettings lists settings out of range, besides a negative
	// ShutdownTimeout, which the suite tries on every server.
	BadSettings []BadSetting[S]
}

// PacketSession is a session with a datagram server that lasts, such as
// a udpcolor membership, opened by [Packet.Hold].
type PacketSession interface {
	// Ended waits until the server has ended the session as a graceful
	// shutdown ends it (udpcolor: "bye NAME shutdown") and returns nil,
	// or returns an error saying how it ended otherwise, or ctx.Err().
	Ended(ctx context.Context) error
	// Close ends the session on the client's side.
	Close() error
}

// Packet describes a datagram server for [RunPacket].
type Packet[S PacketServer] struct {
	// Name is the name of the package, the prefix of its errors
	// ("timesync").
	Name string

	// New returns a fresh server, not yet serving. It must be a pointer
	// to a struct; see the package doc for the fields the suite sets on
	// it.
	New func(t testing.TB) S

	// ErrServerClosed is the package's ErrServerClosed.
	ErrServerClosed error

	// Session runs one exchange with the server at addr (one NTP query,
	// one echo, one join and leave) and returns nil when it worked. It
	// must return once ctx is done.
	Session func(ctx context.Context, addr string) error

	// Hold, if not nil, opens a session that lasts until the server ends
	// it. Nil means that the server keeps no sessions (timesync).
	Hold func(ctx context.Context, addr string) (PacketSession, error)

	// BadSettings lists settings out of range, besides a negative
	// ShutdownTimeout, which the suite tries on every server.
	BadSettings []BadSetting[S]
}

// patience bounds every wait for something the contract says will
// happen; see the package doc.
const patience = 15 * time.Second

// Durations the suite gives ShutdownTimeout: one so long that only a
// server that ends idle sessions by itself stops before it, one so short
// that only a server that honours the field stops soon after it.
const (
	longShutdown  = time.Hour
	shortShutdown = 10 * time.Millisecond
)

// stuckBound is how soon Serve must return once its context is cancelled
// with ShutdownTimeout set to shortShutdown: long before the default
// ShutdownTimeout, which a server that ignored the field would wait for.
const stuckBound = track.DefaultShutdownTimeout / 2

// patientContext returns a context bounded by patience and cancelled at the end
// of the test.
func patientContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	t.Cleanup(cancel)
	return ctx
}
