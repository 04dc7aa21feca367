// Package sockkit is a set of classic socket protocols for Go, each in a
// package of its own, written to be imported by programs and read by
// people learning network programming. This package holds no code; it
// introduces the others.
//
// Every package has the same shape: a Server whose zero value is a working
// server with safe limits, with Serve(ctx, net.Listener) for streams or
// ServePacket(ctx, net.PacketConn) for datagrams, a graceful Shutdown(ctx)
// and an immediate Close, both leaving no goroutine behind; a Client whose
// zero value works and whose every call takes a context; a doc.go that
// describes the protocol byte by byte; and runnable examples.
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
