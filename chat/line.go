package chat

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// errLineTooLong is returned by lineReader.next for a line longer than
// the limit. The rest of the line is skipped by the following call.
var errLineTooLong = errors.New("chat: line too long")

// lineReader reads lines from a peer into a buffer of fixed size: a line
// longer than max bytes is reported with errLineTooLong and the rest of
// it is read and thrown away, so memory never grows with the input.
//
// With tn set (the server's side) it also takes telnet's commands out of
// the input, as the package documentation describes under "Telnet": they
// never reach a line, and the limit counts the bytes of the line without
// them. Without tn (the client's side) 0xff is a byte like any other.
type lineReader struct {
	br       *bufio.Reader
	max      int
	skipping bool    // inside an over-long line, up to its '\n'
	line     []byte  // the line read so far
	tn       *telnet // nil: no telnet commands
}

func newLineReader(r io.Reader, max int) *lineReader {
	// Room for max bytes of text, "\r" and "\n". bufio's minimum is 16.
	return &lineReader{br: bufio.NewReaderSize(r, max+2), max: max}
}

// next returns the next line without its "\n" or "\r\n". The returned
// slice is valid until the following call. A line cut short by the end of
// the input is dropped and io.ErrUnexpectedEOF is returned; other read
// errors (a deadline) leave the line read so far for the following call.
func (lr *lineReader) next() ([]byte, error) {
	for {
		if _, err := lr.br.Peek(1); err != nil {
			if err == io.EOF && len(lr.line) > 0 && !lr.skipping {
				lr.line = lr.line[:0]
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		buf, _ := lr.br.Peek(lr.br.Buffered())
		n, line, done, err := lr.scan(buf)
		lr.br.Discard(n)
		if done || err != nil {
			return line, err
		}
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
