package udpcolor

import (
	"hash/fnv"
	"io"
	"sync"

	"github.com/sockkit/sockkit/internal/termcolor"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// Color is a colour of the xterm 256-colour palette, by index, as set
// with the escape sequence ESC [ 38 ; 5 ; N m; a [Renderer] on a terminal
// of 16 colours shows the nearest of those.
type Color uint8

// DefaultColors is the curated list that [Palette] hashes names into: 24
// saturated colours of the 6x6x6 cube whose contrast ratio (WCAG 2) is at
// least 3.5:1 both against black and against white, so a name stays
// readable on dark and light terminals alike. The list and its order are
// part of the API: a name keeps its colour from one release to the next.
var DefaultColors = []Color{
	26, 28, 29, 30, 31, 33, 62, 63, 64, 68, 94, 98,
	100, 128, 130, 134, 160, 161, 163, 164, 166, 167, 196, 198,
}

// Palette maps names to colours. A name with a fixed assignment ([Palette.Set])
// gets that colour; any other name gets a colour chosen by a stable hash
// (32-bit FNV-1a of the name's bytes, modulo the number of colours), so the
// same name has the same colour in every process, run and release.
//
// The zero value hashes into [DefaultColors]. A Palette is safe for
// concurrent use.
type Palette struct {
	// Colors is the list that names are hashed into. Nil or empty means
	// [DefaultColors]. Do not change it while the Palette is in use.
	Colors []Color

	mu    sync.RWMutex
	fixed map[string]Color
}

// NewPalette returns a Palette with the fixed assignments of fixed (the
// tutorial's dictionary, as colour indices), hashing other names into
// [DefaultColors].
func NewPalette(fixed map[string]Color) *Palette {
	p := &Palette{}
	for name, c := range fixed {
		p.Set(name, c)
	}
	return p
}

// Set assigns colour c to name for good, overriding the hash.
func (p *Palette) Set(name string, c Color) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fixed == nil {
		p.fixed = make(map[string]Color)
	}
	p.fixed[name] = c
}

// Color returns the colour of name.
func (p *Palette) Color(name string) Color {
	p.mu.RLock()
	c, ok := p.fixed[name]
	p.mu.RUnlock()
	if ok {
		return c
	}
	colors := p.Colors
	if len(colors) == 0 {
		colors = DefaultColors
	}
	h := fnv.New32a()
	io.WriteString(h, name)
	return colors[h.Sum32()%uint32(len(colors))]
}

// ColorMode says whether a [Renderer], and a [Server]'s Transcript, get
// colour escape codes. It is the one colour switch of every program of
// this module: a *ColorMode is a [flag.Value] that accepts "auto",
// "always" and "never" (in any letter case) and prints itself the same
// way, so that a program declares its -color flag with
//
//	var mode udpcolor.ColorMode
//	flag.Var(&mode, "color", "colour names: auto, always or never")
//
// Its zero value is [ColorAuto].
type ColorMode = termcolor.Mode

// The colour modes.
const (
	// ColorAuto colours only a terminal (an *os.File that is one; files
	// and pipes are not) whose TERM is set and is not "dumb", and only
	// while the NO_COLOR environment variable is unset or empty
	// (https://no-color.org).
	ColorAuto = termcolor.Auto
	// ColorAlways colours names even into files and pipes, and even with
	// NO_COLOR set: the explicit override of ColorAuto's choice.
	ColorAlways = termcolor.Always
	// ColorNever never emits escape codes.
	ColorNever = termcolor.Never
)

// Renderer prints chat lines with coloured names. Every name and text is
// passed through a sanitiser that removes control characters, escape
// sequences and bidirectional overrides before it is written, so a peer
// can neither move the cursor nor disguise what it wrote; only the
// Renderer's own colour codes reach the writer.
//
// A name's [Color] is an index of the xterm 256-colour palette; on a
// terminal that has only the 16 ANSI colours (its TERM does not contain
// "256color" and COLORTERM is neither "truecolor" nor "24bit") the name
// gets the nearest of those instead.
//
// Each line is written with one Write call. A Renderer is safe for
// concurrent use.
type Renderer struct {
	mu      sync.Mutex
	w       io.Writer
	palette *Palette
	depth   termcolor.Depth
	buf     []byte
}

// NewRenderer returns a Renderer writing to w with the colours of p (nil
// means a zero [Palette]), mode deciding whether escape codes are
// emitted, and how many colours, for w in the process's environment.
func NewRenderer(w io.Writer, p *Palette, mode ColorMode) *Renderer {
	return newRenderer(w, p, termcolor.Detect(w, mode))
}

// newRenderer returns a Renderer with a colour depth already decided.
func newRenderer(w io.Writer, p *Palette, depth termcolor.Depth) *Renderer {
	if p == nil {
		p = &Palette{}
	}
	return &Renderer{w: w, palette: p, depth: depth}
}

// Colored reports whether r emits colour escape codes.
func (r *Renderer) Colored() bool { return r.depth.Enabled() }

// Message writes "name : text" and a newline.
func (r *Renderer) Message(name, text string) error {
	return r.line("", name, " : ", text)
}

// Print writes m as [Renderer.Message] does, or, for a plain sender's
// line (m.Unverified), as "name (unverified) : text".
func (r *Renderer) Print(m Message) error {
	if m.Unverified {
		return r.line("", m.Name, " (unverified) : ", m.Text)
	}
	return r.Message(m.Name, m.Text)
}

// Event writes "* name what" and a newline, for joins, leaves and
// expiries.
func (r *Renderer) Event(name, what string) error {
	return r.line("* ", name, " ", what)
}

func (r *Renderer) line(prefix, name, sep, text string) error {
	name, text = textsafe.Clean(name), textsafe.Clean(text)
	r.mu.Lock()
	defer r.mu.Unlock()
	b := append(r.buf[:0], prefix...)
	b = r.appendName(b, name)
	b = append(b, sep...)
	b = append(b, text...)
	b = append(b, '\n')
	r.buf = b
	_, err := r.w.Write(b)
	return err
}

// Name returns name, made safe and coloured as r prints it, without a
// newline.
func (r *Renderer) Name(name string) string {
	return string(r.appendName(nil, textsafe.Clean(name)))
}

func (r *Renderer) appendName(b []byte, name string) []byte {
	if !r.depth.Enabled() {
		return append(b, name...)
	}
	b = r.depth.AppendForeground(b, uint8(r.palette.Color(name)))
	b = append(b, name...)
	return append(b, r.depth.Reset()...)
}
