package chat

import "net"

// Connections that come through crypto/tls (tls.NewListener, or an
// https server's hijacked connection) are served like any other: the
// handshake happens on the session's first read or write, under its
// deadlines. What the server does to the socket itself (SO_SNDBUF) it
// does to the TCP connection under the TLS one.

// setWriteBuffer sets the send buffer (SO_SNDBUF) of c, or of the
// connection under c when c is a TLS connection (or anything else with
// a NetConn method), to n bytes. Connections without one are left alone.
func setWriteBuffer(c net.Conn, n int) error {
	for range 4 { // a TLS connection over a TLS connection, at most a few
		if wb, ok := c.(interface{ SetWriteBuffer(int) error }); ok {
			return wb.SetWriteBuffer(n)
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		c = u.NetConn()
	}
	return nil
}
