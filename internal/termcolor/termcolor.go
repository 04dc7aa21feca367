// Package termcolor decides, once and the same way for every program of the
// module, whether output gets colour and how many colours it may use, and
// writes the escape sequences (SGR, ECMA-48 "Select Graphic Rendition")
// that set them.
//
// # When to colour
//
// A program has a -color flag of type [Mode] ("auto", the default,
// "always" or "never") and asks [Detect] for the [Depth] of its output:
//
//	var mode termcolor.Mode
//	fs.Var(&mode, "color", "colour the output: auto, always or never")
//	...
//	depth := termcolor.Detect(stdout, mode)
//
// In auto mode, output is coloured only when all of these hold:
//   - the writer is a terminal: an [*os.File] whose descriptor
//     [golang.org/x/term.IsTerminal] accepts (files, pipes and writers
//     that are not files are not terminals);
//   - TERM is set and is not "dumb";
//   - NO_COLOR is unset or empty (https://no-color.org: present and not
//     empty disables colour, whatever its value).
//
// "never" never colours. "always" colours even into a pipe or a file, and
// even when NO_COLOR is set: an explicit command-line choice overrides the
// environment, as no-color.org asks.
//
// # How many colours
//
// Output that is coloured gets 256 colours ([Colors256]) when TERM
// contains "256color" or COLORTERM is "truecolor" or "24bit", and the 16
// ANSI colours ([Colors16]) otherwise. Programs pick colours by index in
// the xterm 256-colour palette; at 16 colours, [Depth.Foreground] and the
// other helpers use [Nearest16] of that index.
//
// Escape codes are only the program's own: text from peers must be made
// safe (internal/textsafe) before it is written between them.
//
// # Testing
//
// [Env] holds the environment that [Detect] reads, so that tests can give
// any TERM, NO_COLOR or terminal without touching the real ones.
package termcolor

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// Mode is the value of a program's -color flag. A *Mode is a
// [flag.Value]; its zero value is [Auto], the default.
type Mode int

const (
	// Auto colours only terminals, as the package doc describes.
	Auto Mode = iota
	// Always colours whatever the writer and the environment.
	Always
	// Never colours nothing.
	Never
)

var modeNames = [...]string{Auto: "auto", Always: "always", Never: "never"}

// String returns "auto", "always" or "never"; a value that is none of the
// three constants is "auto", as [Detect] treats it.
func (m Mode) String() string {
	if m < 0 || int(m) >= len(modeNames) {
		return modeNames[Auto]
	}
	return modeNames[m]
}

// Set sets m from a flag argument: "auto", "always" or "never", in any
// letter case. Any other argument is an error that names the three.
func (m *Mode) Set(s string) error {
	for i, name := range modeNames {
		if strings.EqualFold(s, name) {
			*m = Mode(i)
			return nil
		}
	}
	return fmt.Errorf("termcolor: invalid colour mode %q (want auto, always or never)", s)
}

// Get returns m, for [flag.Getter].
func (m *Mode) Get() any { return *m }

// Env is the environment that colour is decided in. Its zero value reads
// the real process environment and terminals.
type Env struct {
	// Getenv returns the value of an environment variable, "" when it is
	// unset. Nil means [os.Getenv].
	Getenv func(key string) string
	// IsTerminal reports whether w is a terminal. Nil means
	// [IsTerminal].
	IsTerminal func(w io.Writer) bool
}

// Detect returns the colour depth of output to w under mode, in the real
// environment: Env{}.Detect(w, mode).
func Detect(w io.Writer, mode Mode) Depth { return Env{}.Detect(w, mode) }

// Detect returns the colour depth of output to w under mode in e, by the
// rules of the package doc: [NoColor] when w gets no colour.
func (e Env) Detect(w io.Writer, mode Mode) Depth {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	isTerminal := e.IsTerminal
	if isTerminal == nil {
		isTerminal = IsTerminal
	}
	termName := getenv("TERM")
	switch mode {
	case Never:
		return NoColor
	case Always:
	default:
		if termName == "" || termName == "dumb" || getenv("NO_COLOR") != "" || !isTerminal(w) {
			return NoColor
		}
	}
	if ct := getenv("COLORTERM"); strings.Contains(termName, "256color") ||
		strings.EqualFold(ct, "truecolor") || strings.EqualFold(ct, "24bit") {
		return Colors256
	}
	return Colors16
}

// IsTerminal reports whether w is a terminal: an [*os.File] whose
// descriptor [golang.org/x/term.IsTerminal] accepts. Any other writer,
// and a nil or closed file, is not a terminal. Unlike [os.File.Fd], it
// leaves the file's non-blocking mode alone.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	is := false
	if err := rc.Control(func(fd uintptr) { is = term.IsTerminal(int(fd)) }); err != nil {
		return false
	}
	return is
}
