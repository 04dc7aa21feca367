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

// lineReader reads lines from a peer into a buffer of fixed size: a line
// longer than max bytes is reported with errLineTooLong and the rest of
// it is read and thrown away, so memory never grows with the input.
//
// With tn set (the server's side) it also takes telnet's commands out of
// the input, as the package documentation describes under "Telnet": they
// never reach a line, and the limit counts the bytes of the line without
// them. Without tn (the client's side) 0xff is a byte like any other.
//
// The read buffer can be borrowed: with a pool, next takes one from it
// when it needs to read, and release gives it back while the reader
// waits for input (see park.go); the line read so far stays in line.
type lineReader struct {
	src      io.Reader
	max      int
	size     int        // of the read buffer
	pool     *sync.Pool // where read buffers come from (*[]byte of len size); nil: allocated
	buf      []byte     // the read buffer; nil while released
	from     *[]byte    // buf's entry in pool, or nil
	r, w     int        // buf[r:w] is unread
	err      error      // a read error to return once buf is empty
	skipping bool       // inside an over-long line, up to its '\n'
	line     []byte     // the line read so far
	tn       *telnet    // nil: no telnet commands
}

func newLineReader(r io.Reader, max int) *lineReader {
	lr := new(lineReader)
	lr.init(r, max, nil)
	return lr
}

// init sets lr up to read lines of at most limit bytes from src, with
// read buffers from pool (nil: its own).
func (lr *lineReader) init(src io.Reader, limit int, pool *sync.Pool) {
	lr.src, lr.max, lr.size, lr.pool = src, limit, bufSize(limit), pool
}

// bufSize is the read buffer for lines of at most limit bytes: room for
// a whole line, "\r" and "\n".
func bufSize(limit int) int { return max(limit+2, minLineBuf) }

// newBufPool returns a pool of read buffers of size bytes.
func newBufPool(size int) *sync.Pool {
	return &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}}
}

// next returns the next line without its "\n" or "\r\n". The returned
// slice is valid until the following call. A line cut short by the end of
// the input is dropped and io.ErrUnexpectedEOF is returned; other read
// errors (a deadline, errWouldBlock) leave the line read so far for the
// following call.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if lr.r == lr.w {
			if err := lr.fill(); err != nil {
				if err == io.EOF && len(lr.line) > 0 && !lr.skipping {
					lr.line = lr.line[:0]
					err = io.ErrUnexpectedEOF
				}
				return nil, err
			}
		}
		n, line, done, err := lr.scan(lr.buf[lr.r:lr.w])
		lr.r += n
		if done || err != nil {
			return line, err
		}
	}
}

// fill reads into the buffer, which is empty, taking one if it has none.
func (lr *lineReader) fill() error {
	if err := lr.err; err != nil {
		lr.err = nil
		return err
	}
	if lr.buf == nil {
		if lr.pool != nil {
			lr.from = lr.pool.Get().(*[]byte)
			lr.buf = *lr.from
		} else {
			lr.buf = make([]byte, lr.size)
		}
	}
	n, err := lr.src.Read(lr.buf)
	lr.r, lr.w = 0, n
	if n > 0 {
		lr.err = err // returned by the next fill
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// release gives the read buffer back to its pool while the reader waits
// for input, if it holds nothing unread: then nothing stays held but the
// line in progress, if there is one (at most max bytes, moved to an
// allocation of its own size). The next read takes a buffer again. A
// buffer of the reader's own (a client's) is kept.
func (lr *lineReader) release() {
	if lr.from != nil && lr.r == lr.w {
		lr.pool.Put(lr.from)
		lr.buf, lr.from = nil, nil
		lr.r, lr.w = 0, 0
	}
	switch {
	case len(lr.line) == 0:
		lr.line = nil
	case cap(lr.line) > len(lr.line):
		lr.line = append([]byte(nil), lr.line...)
	}
}

// scan reads buf until a line ends, or turns out too long, and returns
// how many bytes of buf it took, and the line (done) or errLineTooLong.
// It returns neither when buf ends first.
func (lr *lineReader) scan(buf []byte) (int, []byte, bool, error) {
	i := 0
	for i < len(buf) {
		if lr.tn != nil && lr.tn.state != tnData {
			c := buf[i]
			i++
			switch lr.tn.step(c) {
			case tnByte:
				if lr.add([]byte{tnIAC}) {
					return i, nil, false, errLineTooLong
				}
			case tnBytes:
				if lr.add([]byte{tnIAC}) {
					return i, nil, false, errLineTooLong
				}
				i-- // c, taken as data
			case tnErase:
				lr.line, lr.skipping = lr.line[:0], false
			}
			continue
		}
		// A run of ordinary bytes, up to a '\n' or an IAC.
		run := buf[i:]
		iac := -1
		if lr.tn != nil {
			if iac = bytes.IndexByte(run, tnIAC); iac >= 0 {
				run = run[:iac]
			}
		}
		nl := bytes.IndexByte(run, '\n')
		if nl >= 0 {
			run = run[:nl]
		}
		i += len(run)
		if lr.add(run) {
			return i, nil, false, errLineTooLong
		}
		switch {
		case nl >= 0:
			i++
			if lr.skipping {
				lr.skipping = false
				continue
			}
			line := lr.line
			lr.line = lr.line[:0]
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > lr.max {
				return i, nil, false, errLineTooLong
			}
			return i, line, true, nil
		case iac >= 0:
			i++
			lr.tn.start()
		}
	}
	return i, nil, false, nil
}

// add appends p to the line, unless an over-long line is being skipped.
// It reports whether the line has just become too long: max bytes, "\r"
// and one more, without its '\n'. The line is then dropped, and the rest
// of it will be skipped.
func (lr *lineReader) add(p []byte) bool {
	if lr.skipping {
		return false
	}
	if len(lr.line)+len(p) >= lr.max+2 {
		lr.line, lr.skipping = lr.line[:0], true
		return true
	}
	lr.line = append(lr.line, p...)
	return false
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
