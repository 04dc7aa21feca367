// Package sockkit is a set of classic socket protocols for Go, each in a
// package of its own, written to be imported by programs and read by
// people learning network programming. This package holds no server of
// its own; it introduces the others, and holds the vocabulary they share: [Counters],
// the core of every server's Stats, and [TimeoutError].
//
// Every package has the same shape: a Server whose zero value is a working
// server with safe limits, with Serve(ctx, net.Listener) for streams or
// ServePacket(ctx, net.PacketConn) for datagrams, a graceful Shutdown(ctx)
// and an immediate Close, both leaving no goroutine behind; a Client whose
// zero value works and whose every call takes a context; a doc.go that
// describes the protocol byte by byte; and runnable examples.
//
// # Lifecycle
//
// One rule for every server, decided once:
//
//   - Serve and ServePacket own their accept or read loop and every
//     goroutine they start, and always return a non-nil error. They close
//     the listener or packet conn they were given.
//   - Shutdown(ctx) is graceful: it stops accepting (or reading), lets each
//     session end as its protocol says (chat clients get "BYE shutdown",
//     udpcolor members "bye NAME shutdown", an HTTP request in flight is
//     answered), and waits for every goroutine; when ctx ends first, it
//     closes what is left and returns ctx.Err(). Close is immediate and
//     idempotent.
//   - Cancelling the context given to Serve starts the same graceful
//     shutdown, bounded by the Server's ShutdownTimeout field (default 5
//     seconds), after which what is left is closed. A program passes its
//     signal.NotifyContext context straight to Serve.
//   - Serve returns exactly the package's ErrServerClosed after any of the
//     three, and at once when called on a server that has shut down: a
//     server is not reused.
//
// # Settings
//
// Each Server and Client resolves its fields once, when it starts, into a
// private copy. Zero means the documented default. A negative value means
// "no limit" only for the fields whose documentation says so; any other
// out-of-range value makes Serve return an error naming the package, the
// field and the value ("echo: BufferSize -1: must be positive"). No
// setting can make a server panic.
//
// # Admission and amplification
//
// One admission gate decides, in every server, whether a connection or a
// datagram is taken: connections in total (MaxConns) and per source
// address (MaxConnsPerSource, an IPv6 source counted by its /64, so that
// one host cannot take every slot), datagram sizes, source ports (no
// replies to ports below 1024, which belong to services that would answer
// back), and per-source rates. One rule bounds what a UDP server sends to
// a source that has not proven its address: at most three times the bytes
// the source sent, counted on the wire with 28 bytes of IPv4 and UDP
// headers per datagram (the anti-amplification limit of QUIC, RFC 9000
// section 8.1), on top of the per-source rate. A spoofed request can
// therefore never make a sockkit server send its victim more than three
// times what the attacker sent.
//
// # Packages
//
//   - [github.com/sockkit/sockkit/echo]: the Echo Protocol (RFC 862) over TCP
//     and UDP. The server sends back every byte in order, optionally through
//     a transform such as upper case, holds no buffer for idle connections,
//     disconnects peers that stop reading, and cannot be used as a UDP
//     reflector or amplifier. The client keeps one connection for many round
//     trips and reads back exactly the bytes it sent.
//   - [github.com/sockkit/sockkit/chat]: a multi-user chat room over TCP in
//     plain text lines: people join with nc or telnet, programs with
//     chat.Dial, and every line the server sends starts with a keyword (MSG,
//     JOIN, ERR, BYE, ...) so that it can be both read and parsed. Each client
//     has a byte-bounded queue and one batching writer, so a client that stops
//     reading is dropped without delaying anyone else; rooms go through a
//     small Hub interface whose default is in-process.
//   - [github.com/sockkit/sockkit/timesync]: time over UDP. An SNTPv4 server
//     (RFC 4330, RFC 5905) that strict clients such as chronyd and ntpdig
//     accept, a client that measures clock offset and delay with the NTP
//     clock filter, and the tutorials' format service, which answers a
//     strftime format with the server's time, on the same port. Both are
//     rate-limited per source and never reply with more than they received.
//   - [github.com/sockkit/sockkit/httpfetch]: serving and downloading files
//     on net/http. The server serves a directory with ranges, ETags and
//     content types and cannot be led outside its root; the client writes to
//     a temporary file renamed only when complete and verified, resumes with
//     If-Range so that a changed file is never spliced, splits large files
//     into parallel ranges and retries only what is worth retrying.
//   - [github.com/sockkit/sockkit/udpcolor]: a group chat over UDP. Members
//     join through a stateless cookie exchange, the server relays each
//     message to the others as "name : text", never sends an unproven
//     address more than it received, and limits every source; a Palette and
//     Renderer give each name a stable colour and strip control and escape
//     sequences from peer text.
//
// Performance is measured in the separate module bench/, against
// reference implementations (a C epoll server, cloudwego/netpoll, chronyd,
// curl, aria2c, nginx) in the same run; see README.md.
//
// # Running it
//
//	go run ./examples/tour   # every protocol live on loopback
//	go test ./...
package sockkit
