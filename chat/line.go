package chat

import (
	"bufio"
	"errors"
	"io"
	"strings"
)

// errLineTooLong is returned by lineReader.next for a line longer than
// the limit. The rest of the line is skipped by the following call.
var errLineTooLong = errors.New("chat: line too long")

// lineReader reads lines from a client with a buffer of fixed size: a line
// longer than max bytes is reported with errLineTooLong and the rest of it
// is read and thrown away, so memory never grows with the input.
type lineReader struct {
	br       *bufio.Reader
	max      int
	skipping bool // inside an over-long line, up to its '\n'
}

func newLineReader(r io.Reader, max int) *lineReader {
	// Room for max bytes of text, "\r" and "\n". bufio's minimum is 16.
	return &lineReader{br: bufio.NewReaderSize(r, max+2), max: max}
}

// next returns the next line without its "\n" or "\r\n". The returned
// slice is valid until the following call. A line cut short by the end of
// the input is dropped and io.EOF (or the read error) is returned.
func (lr *lineReader) next() ([]byte, error) {
	for lr.skipping {
		_, err := lr.br.ReadSlice('\n')
		switch err {
		case nil:
			lr.skipping = false
		case bufio.ErrBufferFull:
		default:
			return nil, err
		}
	}
	b, err := lr.br.ReadSlice('\n')
	switch err {
	case nil:
	case bufio.ErrBufferFull:
		lr.skipping = true
		return nil, errLineTooLong
	default:
		if err == io.EOF && len(b) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	b = b[:len(b)-1]
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	if len(b) > lr.max {
		return nil, errLineTooLong
	}
	return b, nil
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
