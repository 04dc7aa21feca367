package main

import (
	"bufio"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/sockkit/sockkit/internal/termcolor"
)

// console is where a person types lines and reads what comes in: on a
// terminal, an input line that what comes in does not break, with the
// line history on the arrow keys; anywhere else, lines read as they
// come and text written as it is.
type console interface {
	// ReadLine returns the next line typed, without its line ending, and
	// io.EOF at the end of the input (on a terminal: Ctrl-D on an empty
	// line, or Ctrl-C).
	ReadLine() (string, error)
	// Write prints text that came in, whole lines at a time, above the
	// line being typed; that line is drawn again under it as it was.
	Write(p []byte) (int, error)
	// Close gives the terminal back in the mode it was in. Lines may no
	// longer be read after it.
	Close() error
}

// prompt is the start of the input line on a terminal.
const prompt = "> "

// openConsole returns the console of stdin and stdout: a terminal line
// editor when both are the same kind of thing a person sits at (each a
// terminal), plain lines otherwise, and plain lines too if the terminal
// cannot be put in raw mode.
func openConsole(stdin io.Reader, stdout io.Writer) console {
	in, inOK := stdin.(*os.File)
	out, outOK := stdout.(*os.File)
	if inOK && outOK && termcolor.IsTerminal(in) && termcolor.IsTerminal(out) {
		if c, err := newTermConsole(in, out); err == nil {
			return c
		}
	}
	return newPlainConsole(stdin, stdout)
}

// plainConsole reads lines with a bufio.Scanner and writes as it is
// told: for pipes, files, and terminals in their usual line mode.
type plainConsole struct {
	sc *bufio.Scanner
	io.Writer
}

func newPlainConsole(r io.Reader, w io.Writer) *plainConsole {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 1<<20)
	return &plainConsole{sc: sc, Writer: w}
}

func (c *plainConsole) ReadLine() (string, error) {
	if !c.sc.Scan() {
		if err := c.sc.Err(); err != nil {
			return "", err
		}
		return "", io.EOF
	}
	return strings.TrimSuffix(c.sc.Text(), "\r"), nil
}

func (c *plainConsole) Close() error { return nil }

// termConsole is a [term.Terminal] on stdin and stdout in raw mode: it
// echoes and edits the line being typed itself, keeps the history the
// arrow keys go through, and moves the line out of the way of what is
// written.
type termConsole struct {
	t       *term.Terminal
	in, out *os.File

	mu       sync.Mutex // guards restore and width
	restore  *term.State
	width    int
	restored bool
}

func newTermConsole(in, out *os.File) (*termConsole, error) {
	var st *term.State
	var err error
	if cerr := control(in, func(fd int) { st, err = term.MakeRaw(fd) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	c := &termConsole{
		t: term.NewTerminal(struct {
			io.Reader
			io.Writer
		}{in, out}, prompt),
		in:      in,
		out:     out,
		restore: st,
	}
	c.resize()
	return c, nil
}

// control runs f with the descriptor of f's file, leaving the file's
// non-blocking mode alone (as [os.File.Fd] would not).
func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// resize tells the line editor the terminal's width when it has
// changed, so that a line longer than the screen is redrawn right. It
// is checked before each write and after each line, cheaper than a
// signal handler and the same on every system.
func (c *termConsole) resize() {
	var w, h int
	var err error
	if control(c.out, func(fd int) { w, h, err = term.GetSize(fd) }) != nil || err != nil || w <= 0 {
		return
	}
	c.mu.Lock()
	changed := w != c.width
	c.width = w
	c.mu.Unlock()
	if changed {
		c.t.SetSize(w, h)
	}
}

func (c *termConsole) ReadLine() (string, error) {
	line, err := c.t.ReadLine()
	c.resize()
	return line, err
}

func (c *termConsole) Write(p []byte) (int, error) {
	c.resize()
	return c.t.Write(p)
}

func (c *termConsole) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.restored {
		return nil
	}
	c.restored = true
	// The input line goes: what follows, the shell's prompt or a last
	// error, starts on a clean line.
	c.out.WriteString("\r\x1b[K")
	var err error
	if cerr := control(c.in, func(fd int) { err = term.Restore(fd, c.restore) }); cerr != nil {
		return cerr
	}
	return err
}
