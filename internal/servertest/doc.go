// Package servertest is the lifecycle contract of every sockkit server,
// written as tests that each protocol package runs against its own Server,
// in the spirit of golang.org/x/net/nettest's TestConn.
//
// A package describes its server once, as a [Stream] (for Serve on a
// [net.Listener]) or a [Packet] (for ServePacket on a [net.PacketConn]),
// and calls [RunStream] or [RunPacket] from a test of its own:
//
//	func TestConformance(t *testing.T) {
//		servertest.RunStream(t, servertest.Stream[*echo.Server]{
//			Name:            "echo",
//			New:             func(testing.TB) *echo.Server { return new(echo.Server) },
//			ErrServerClosed: echo.ErrServerClosed,
//			Session:         tcpRoundTrip, // one echo through the package's Client
//			Hold:            holdTCP,      // a connection admitted, then left idle
//		})
//	}
//
// The package's own tests run the suite against a small reference server
// that meets the contract, and against variants of it that each break one
// rule (an error that wraps ErrServerClosed, an ignored ShutdownTimeout, a
// leaked goroutine, a missing closing line...), which the suite must fail
// in the subtest meant to catch each.
//
// # The contract
//
// This is the "Server shape" of the project's conventions, each rule with
// the subtest that checks it:
//
//   - Serve and ServePacket always return a non-nil error and close the
//     listener or packet conn they were given. After Shutdown, Close or the
//     cancelling of the context given to Serve, that error is exactly the
//     package's ErrServerClosed, not an error wrapping it: callers compare
//     with ==, as they do with net/http. Every subtest that stops a server
//     checks both.
//   - Shutdown(ctx) is graceful: it stops accepting, asks every session to
//     end, and waits for them ("ServeShutdown"). A session that is idle, or
//     only waiting for its peer, is ended at once, with the protocol's
//     closing words where it has some (chat's "BYE shutdown", udpcolor's
//     "bye NAME shutdown"): see [Stream.Closing] and [PacketSession].
//     Only a session in the middle of a unit of work (a reply its peer
//     does not read, a request not sent in full) may hold a shutdown up.
//     If ctx ends first, Shutdown closes what is left and returns
//     ctx.Err() ("ShutdownContextExpires", for stream servers whose
//     protocol has a session that can hold a shutdown up: [Stream.Stuck]).
//   - Close is immediate and idempotent: it closes the listener and every
//     connection at once and waits for the server's goroutines; a second
//     Close returns nil ("CloseTwice").
//   - Cancelling the context given to Serve starts the same graceful
//     shutdown as Shutdown ("CancelContext"), bounded by the Server's
//     ShutdownTimeout field: when it runs out, what is left is closed and
//     Serve returns ErrServerClosed ("CancelContextStuck", stream servers
//     only: nothing a datagram client does can hold a shutdown up).
//   - A server is not reused: Serve on a server that has been shut down
//     or closed returns ErrServerClosed at once and closes its listener
//     ("ServeAfterShutdown", "ServeAfterClose"); Shutdown before any Serve
//     works and makes the first Serve return the same way
//     ("ShutdownBeforeServe").
//   - No goroutine started by the server outlives Shutdown or Close, also
//     with several Serve calls at once on one server ("NoGoroutineLeft";
//     every serial subtest checks it too, with go.uber.org/goleak).
//   - A setting out of range makes Serve return an error naming the field,
//     never a panic and never ErrServerClosed ("BadSettings": a negative
//     ShutdownTimeout for every server, and the package's own
//     [BadSetting] list).
//   - A stream server caps the connections from one source address with
//     its MaxConnsPerSource field: a connection past the cap is refused
//     while another source still gets in, and a slot is given back when a
//     connection ends ("MaxConnsPerSource"; the other source is 127.0.0.2,
//     dialled with a [net.Dialer] LocalAddr, which Linux routes on the
//     loopback by itself).
//   - Every server has a Stats method returning a struct that embeds
//     [sockkit.Counters], and counts the sessions the suite runs
//     ("Stats"): a stream server counts each connection in ConnsTotal and
//     those open in Conns; a datagram server counts a session in Requests
//     or ConnsTotal, and a lasting one in Conns; Conns is 0 once Serve has
//     returned.
//   - ErrServerClosed reads "<pkg>: server closed" ("ErrServerClosed").
//
// # Fields found by name
//
// Two settings belong to the contract itself and carry the same name in
// every package: ShutdownTimeout (a [time.Duration]) and, for stream
// servers, MaxConnsPerSource (an int). The suite sets them itself, by
// reflection, on the struct that [Stream.New] or [Packet.New] returns, in
// the subtests that need them, and it finds the Stats method the same
// way. A server that lacks one of them therefore fails the subtests that
// need it, with a message naming what is missing, instead of failing to
// compile: the other subtests still say how far the server meets the
// contract. New must return a pointer to a struct.
//
// # Serial and parallel subtests
//
// The subtests that stop a server check, after it has stopped, that no
// goroutine is left that was not there when they began
// (goleak.VerifyNone with goleak.IgnoreCurrent). Such a check sees every
// goroutine of the process, so these subtests do not call t.Parallel:
// another test's server would be blamed. For the same reason the test that
// calls RunStream or RunPacket must not call t.Parallel either. The
// subtests that check behaviour on a server of their own (the connection
// cap, Stats, bad settings, the error text) run in parallel, after the
// serial ones, and leave leak checking to those.
//
// # Waiting
//
// Nothing here measures speed. Every wait for something the contract
// says will happen is bounded by a patience of 15 seconds, after which
// the subtest fails saying what did not happen, so that a broken server
// fails its test instead of hanging the run. The one bound that is not a
// patience is that of "CancelContextStuck": with ShutdownTimeout set to
// 10 ms, Serve must have returned before half of the default
// ShutdownTimeout has passed, or the server is taken to have ignored the
// field.
package servertest
