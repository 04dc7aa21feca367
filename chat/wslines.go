package chat

import "io"

// wsLines is the decoder of what a browser sends: it turns a sequence of
// WebSocket messages into the stream of lines a TCP client would send.
// Each message is one line, and is followed by a "\n" unless it ends with
// one already, so that "hi", "hi\n" and "hi\r\n" are the same line; an
// empty message adds nothing, and a message that holds several lines
// gives them all. The bytes go on as they are: the session checks lengths,
// UTF-8 and control characters exactly as it does on TCP.
type wsLines struct {
	next func() (io.Reader, error) // the next message, or why there is none
	cur  io.Reader                 // the message being read; nil between two
	last byte                      // the last byte read from cur ('\n' at its start)
	nl   bool                      // a "\n" is owed after the message just read
}

// Read reads the stream. It returns the error of next when the messages
// end, after the "\n" owed to the last one.
func (s *wsLines) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if s.nl {
			s.nl = false
			p[0] = '\n'
			return 1, nil
		}
		if s.cur == nil {
			r, err := s.next()
			if err != nil {
				return 0, err
			}
			s.cur, s.last = r, '\n'
		}
		n, err := s.cur.Read(p)
		if n > 0 {
			s.last = p[n-1]
		}
		if err == io.EOF {
			s.cur, err = nil, nil
			s.nl = s.last != '\n'
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
}
