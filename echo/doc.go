// Package echo implements the Echo Protocol of RFC 862 over TCP and UDP:
// a server that sends back every byte it receives, in order, and a client
// that checks it got back exactly what it sent.
//
// It is the smallest protocol there is, which makes it the clearest
// place to get the things right that every network service needs:
// partial reads, many clients at once, clients that stop reading,
// limits on every resource, a UDP service that cannot be turned against
// third parties, and a shutdown that leaves nothing running.
//
// # Protocol
//
// TCP (RFC 862, port 7 by convention): the client connects and sends any
// bytes; the server writes each byte back as soon as it has read it, in
// the same order, until the client closes its side. There is no framing:
// TCP is a byte stream, and a message sent with one write may arrive in
// several reads, or together with the next one. The server never waits
// for a "whole message"; the client knows how many bytes it sent and
// reads exactly that many back (see [Conn.Echo]).
//
//	client → server:  68 65 6c 6c 6f              "hello"
//	server → client:  68 65 6c 6c 6f              "hello", in one or more segments
//
// With a transform ([Server.Transform]), what goes back is the byte
// stream passed through it: with [Upper], "héllo" (68 c3 a9 6c 6c 6f)
// comes back as "HÉLLO" (48 c3 89 4c 4c 4f), even when c3 and a9 arrive
// in different segments: the server holds back the first byte of a
// character until the rest of it arrives. When the client half-closes
// the connection, the server sends back what its transformer still holds,
// then closes.
//
// The tutorials' greeting server ([Server.Greeting]) is no echo: it
// sends one line and half-closes, without waiting for anything; what the
// client sends is read and dropped until it closes too (for a second at
// most), so that the greeting is not lost to a connection reset.
//
//	server → client:  57 65 6c 63 6f 6d 65 0a     "Welcome\n", then FIN
//
// UDP: each datagram of 1 to [Server.MaxDatagram] bytes (default
// [DefaultMaxDatagram]) is answered with one datagram holding the same
// bytes, through the transform if there is one (a transformer starts
// afresh with each datagram), or the reply of [Server.PacketHandler] such
// as [Hello]. There are no retransmissions on the server's side; the
// client sends again when a reply does not come (see [Client.Retries]).
//
//	client → server:  70 69 6e 67                 "ping"
//	server → client:  70 69 6e 67                 "ping"
//
// # Limits and defaults
//
// TCP: at most [DefaultMaxConns] connections at once, further ones
// closed at once; a connection idle for [DefaultIdleTimeout] is closed;
// a write that cannot finish within [DefaultWriteTimeout] (the peer stopped
// reading) closes the connection. The server reads only after it has
// written back what it read before, so a peer that stops reading fills
// its own socket buffers and is stopped by TCP flow control: the server
// holds at most one buffer ([DefaultBufferSize]) for it, and an idle
// connection holds none. On Linux an idle connection does not even keep a
// goroutine: after 50 to 100 ms without data it is parked in an epoll set of the
// server's own, and a goroutine is started for it again when data (or the
// peer's FIN) arrives. A new connection starts out parked. An idle
// connection then costs about 1.5 KB of the server's memory, most of it
// the runtime's own socket state.
//
// UDP: datagrams larger than MaxDatagram are dropped whole, never echoed
// in part. A datagram is answered only if its source port is neither 0
// nor below 1024 (those belong to services such as echo, chargen, DNS and
// NTP that answer anything, and a spoofed datagram could make two of them
// answer each other forever), and if its source address is within its
// rate ([DefaultPacketsPerSecond], bursts of [DefaultPacketBurst], per
// IPv4 address or IPv6 /64). A reply is never more than [ReplySlack]
// bytes longer than its request. Together these make the server useless
// as a reflector or an amplifier: a victim whose address is spoofed gets
// at most the rate limit of small replies, and any loop with another
// service is cut by the first datagram the rate limit drops.
//
// # Shutdown
//
// [Server.Shutdown] stops accepting and reading, lets each connection
// send back what it has already read, closes it, and waits for every
// goroutine; [Server.Close] closes everything at once. Neither leaves a
// goroutine running.
package echo
