package sockkit

import (
	"fmt"
	"os"
	"time"
)

// Counters are the counters every sockkit server reports, under the same
// names, as the first part of its Stats: each package's Stats type embeds
// Counters and adds what only that protocol counts.
//
// A stream server counts connections; a datagram server counts sources (the
// addresses that have sent it something it answered) in Conns and
// ConnsTotal instead, as documented by its Stats type.
type Counters struct {
	// Conns is the number of connections (or, for datagram servers,
	// members or sessions) open now.
	Conns int64
	// ConnsTotal is the number of connections accepted since the server
	// started, or datagrams answered for a datagram server.
	ConnsTotal int64
	// Requests counts the units of work done: lines, requests, round
	// trips or datagrams, as the package documents.
	Requests int64
	// BytesIn and BytesOut count the payload bytes read and written.
	BytesIn, BytesOut int64
	// Dropped counts what the server refused, by reason.
	Dropped Drops
}

// Drops counts what a server refused, by reason. A reason that a protocol
// cannot meet stays zero.
type Drops struct {
	// Full: refused because the server was at its total connection (or
	// member) limit.
	Full int64
	// SourceFull: refused because the source address (its /64 for IPv6)
	// already held its share of the connection slots.
	SourceFull int64
	// Rate: over the source's rate limit.
	Rate int64
	// Oversize: a datagram, line or request larger than the limit.
	Oversize int64
	// Port: a datagram from port 0, or from a port below 1024 where the
	// server does not answer service ports.
	Port int64
	// Malformed: input the protocol could not read.
	Malformed int64
	// Amplification: a reply that would have sent a source that has not
	// proven its address more than three times the bytes it sent.
	Amplification int64
	// Idle: connections closed for sending nothing, or too little, for
	// too long (idle timeouts, slow drips, registration timeouts).
	Idle int64
	// Slow: peers dropped because they did not read what was sent to
	// them.
	Slow int64
}

// TimeoutError is returned by a client call when no usable reply came back
// after every attempt. It unwraps to [os.ErrDeadlineExceeded].
type TimeoutError struct {
	// Op names what timed out, prefixed with the package, such as
	// "echo: udp round trip".
	Op string
	// Attempts is the number of requests sent.
	Attempts int
	// Timeout is the time each attempt waited.
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s: no reply after %d attempts of %v", e.Op, e.Attempts, e.Timeout)
}

// Unwrap returns [os.ErrDeadlineExceeded].
func (e *TimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }
