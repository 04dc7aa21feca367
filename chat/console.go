package chat

import (
	"context"
	"net"
	"time"
)

// DefaultOperatorNick is the operator's nickname when
// [Server.OperatorNick] is empty.
const DefaultOperatorNick = "operator"

// ServeOperator runs the session of the server's operator, the person at
// the server's own terminal, on c: one end of a connection whose other end
// the program holds, such as a [net.Pipe], and speaks the plain dialect
// on (with [Client.NewConn], say). It is a session like a client's, in
// the same rooms, except that:
//
//   - it may take the nickname [Server.OperatorNick], which no client
//     can;
//   - it has no idle or registration timeout and no flood control, and
//     it is not counted against MaxConns or in [Server.Stats]' Conns;
//   - it starts in UTF-8, whatever [Server.Charset] says (a terminal
//     speaks UTF-8); "/charset" changes it as for anyone.
//
// ServeOperator closes c and returns when the session ends: nil when the
// operator left ("/quit", a quit word, or the other end closed), or
// [ErrServerClosed] when the server shut down, which the operator is told
// with "BYE shutdown" like everyone. Cancelling ctx shuts the server down,
// as it does for [Server.Serve]. A setting out of range is returned at
// once.
func (s *Server) ServeOperator(ctx context.Context, c net.Conn) error {
	s.init()
	if s.setErr != nil {
		c.Close()
		return s.setErr
	}
	// c stands where a listener stands in Serve: nothing to stop
	// accepting at a shutdown, and closed at the end.
	scope, err := s.group.Begin(ctx, c, func() {}, s.set.shutdownTimeout)
	if err != nil {
		return ErrServerClosed
	}
	sv := s.newServing(scope, false) // c is the program's, never parked
	ss := newSession(s, sv, c)
	ss.operator = true
	ss.dialect = dialectPlain
	ss.lim, ss.idleTimeout, ss.registerBy = nil, 0, time.Time{}
	ss.setCharset(utf8Charset)
	if remove, ok := scope.AddConn(c, ss.shutdown); ok {
		done := make(chan struct{})
		ss.remove = func() {
			remove()
			close(done)
		}
		ss.begin()
		<-done
	}
	return scope.Finish(nil, ErrServerClosed)
}
