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
//
// # Running it
//
//	go run ./examples/tour   # every protocol live on loopback
//	go test ./...
package sockkit
