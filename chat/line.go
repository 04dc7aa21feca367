package chat

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// errLineTooLong is returned by lineReader.next for a line longer than
// the limit. The rest of the line is skipped by the following call.
var errLineTooLong = errors.New("chat: line too long")

// minLineBuf is the smallest read buffer of a lineReader.
const minLineBuf = 16

// lineReader reads lines from a client with a buffer of fixed size: a line
// longer than max bytes is reported with errLineTooLong and the rest of it
// is read and thrown away, so memory never grows with the input.
//
// The buffer can be borrowed: with a pool, next takes a buffer from it
// when it needs one, and release gives it back while the reader waits
// (see park.go). A read error leaves what is buffered in place, so a
// source that reports errWouldBlock loses nothing.
type lineReader struct {
	src      io.Reader
	max      int        // longest line, without "\r\n"
	size     int        // buffer size: room for max bytes, "\r" and "\n"
	pool     *sync.Pool // where buffers come from (*[]byte of len size); nil: allocated
	buf      []byte     // nil while released
	from     *[]byte    // buf's entry in the pool it came from, or nil
	fromPool *sync.Pool
	r, w     int    // buf[r:w] is unread
	scanned  int    // buf[r:r+scanned] holds no '\n'
	part     []byte // while released: the line in progress, if any
	skipping bool   // inside an over-long line, up to its '\n'
	err      error  // a read error to report once the buffer is empty
}

func newLineReader(r io.Reader, max int) *lineReader {
	lr := &lineReader{src: r}
	lr.setMax(max, nil)
	return lr
}

// setMax sets the line limit and the pool that buffers come from from
// now on (nil: allocate them); what is buffered is kept. The last line
// next returned stays valid: a buffer too small for the new limit is
// replaced, but left to the garbage collector rather than to its pool.
func (lr *lineReader) setMax(limit int, pool *sync.Pool) {
	lr.max, lr.size, lr.pool = limit, bufSize(limit), pool
	if lr.buf != nil && len(lr.buf) < lr.size {
		lr.part = lr.buf[lr.r:lr.w]
		lr.acquire() // a buffer of the new size, with what is unread
	}
}

// bufSize is the buffer a lineReader of limit max needs.
func bufSize(limit int) int { return max(limit+2, minLineBuf) }

// newBufPool returns a pool of line buffers of size bytes.
func newBufPool(size int) *sync.Pool {
	return &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}}
}

// next returns the next line without its "\n" or "\r\n". The returned
// slice is valid until the following call. A line cut short by the end of
// the input is dropped and io.ErrUnexpectedEOF is returned; any other
// read error is returned as it is, with what is buffered kept for the
// next call.
func (lr *lineReader) next() ([]byte, error) {
	if lr.buf == nil {
		lr.acquire()
	}
	for {
		unread := lr.buf[lr.r:lr.w]
		if i := bytes.IndexByte(unread[lr.scanned:], '\n'); i >= 0 {
			b := unread[:lr.scanned+i]
			lr.r += len(b) + 1
			lr.scanned = 0
			if lr.skipping {
				lr.skipping = false
				continue
			}
			if n := len(b); n > 0 && b[n-1] == '\r' {
				b = b[:n-1]
			}
			if len(b) > lr.max {
				return nil, errLineTooLong
			}
			return b, nil
		}
		lr.scanned = len(unread)
		switch {
		case lr.skipping:
			lr.r, lr.w, lr.scanned = 0, 0, 0 // drop the middle of the long line
		case len(unread) == len(lr.buf):
			lr.r, lr.w, lr.scanned = 0, 0, 0
			lr.skipping = true
			return nil, errLineTooLong
		}
		if err := lr.fill(); err != nil {
			if err == io.EOF && lr.w > lr.r {
				lr.r, lr.w, lr.scanned = 0, 0, 0 // the half line is never delivered
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// fill reads more input after what is unread, which it first moves to
// the start of the buffer if there is no room after it.
func (lr *lineReader) fill() error {
	if err := lr.err; err != nil {
		if err == errWouldBlock {
			lr.err = nil
		}
		return err
	}
	if lr.w == len(lr.buf) {
		lr.w = copy(lr.buf, lr.buf[lr.r:lr.w])
		lr.r = 0
	}
	n, err := lr.src.Read(lr.buf[lr.w:])
	lr.w += n
	if n > 0 {
		lr.err = err // reported once the buffer runs dry
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// acquire gives the reader a buffer, holding the line in progress if
// there is one.
func (lr *lineReader) acquire() {
	if lr.pool != nil {
		lr.from, lr.fromPool = lr.pool.Get().(*[]byte), lr.pool
		lr.buf = *lr.from
	} else {
		lr.from, lr.fromPool = nil, nil
		lr.buf = make([]byte, lr.size)
	}
	lr.r, lr.w, lr.scanned = 0, copy(lr.buf, lr.part), 0
	lr.part = nil
}

// release gives the buffer back to its pool while the reader waits for
// input: nothing stays held unless a line is in progress, whose bytes
// (fewer than the buffer's size) move to an allocation of their own
// size. The next call to next takes a buffer again. A buffer that came
// from no pool (a client's) is kept.
func (lr *lineReader) release() {
	if lr.from == nil {
		return
	}
	if lr.w > lr.r {
		lr.part = append([]byte(nil), lr.buf[lr.r:lr.w]...)
	}
	lr.fromPool.Put(lr.from)
	lr.buf, lr.from, lr.fromPool = nil, nil, nil
	lr.r, lr.w, lr.scanned = 0, 0, 0
}

// input is one line from a client, split into a command and its argument.
type input struct {
	cmd string // command name in lower case without the '/', or "" for a message
	arg string // the message, or the command's argument with spaces trimmed
}

// parseInput splits a line that is already valid and clean text. A line
// starting with '/' is a command; "//" at the start stands for a message
// that starts with one '/'.
func parseInput(line string) input {
	if strings.HasPrefix(line, "//") {
		return input{arg: line[1:]}
	}
	if !strings.HasPrefix(line, "/") {
		return input{arg: line}
	}
	name, arg, _ := strings.Cut(line[1:], " ")
	return input{cmd: strings.ToLower(name), arg: strings.TrimSpace(arg)}
}
