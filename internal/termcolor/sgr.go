package termcolor

import "strconv"

// Depth is how many colours output may use: [NoColor], [Colors16] or
// [Colors256]. Its helpers write the escape sequences for a colour at that
// depth, and nothing at NoColor, so that a program writes the same code
// whether or not its output is coloured. Any other value behaves as
// NoColor.
type Depth int

const (
	// NoColor is output without escape sequences.
	NoColor Depth = 0
	// Colors16 is the 16 ANSI colours: SGR 30-37 and 90-97 for the
	// foreground, 40-47 and 100-107 for the background.
	Colors16 Depth = 16
	// Colors256 is the xterm 256-colour palette: SGR 38;5;N and 48;5;N.
	Colors256 Depth = 256
)

// String returns "none", "16 colours" or "256 colours".
func (d Depth) String() string {
	switch d {
	case Colors16:
		return "16 colours"
	case Colors256:
		return "256 colours"
	}
	return "none"
}

// Enabled reports whether d is a colour depth, not [NoColor].
func (d Depth) Enabled() bool { return d == Colors16 || d == Colors256 }

// Reset returns the sequence that ends colouring, ESC [ 0 m, or "" at
// [NoColor].
func (d Depth) Reset() string {
	if !d.Enabled() {
		return ""
	}
	return "\x1b[0m"
}

// Foreground returns the sequence that sets the text colour to c, an index
// in the xterm 256-colour palette, at depth d: ESC [ 38 ; 5 ; c m at 256
// colours, ESC [ 3x m or ESC [ 9x m for [Nearest16] of c at 16 colours,
// and "" at [NoColor].
func (d Depth) Foreground(c uint8) string { return string(d.AppendForeground(nil, c)) }

// Background is [Depth.Foreground] for the background colour: ESC [ 48 ;
// 5 ; c m, or ESC [ 4x m or ESC [ 10x m at 16 colours.
func (d Depth) Background(c uint8) string { return string(d.AppendBackground(nil, c)) }

// AppendForeground appends [Depth.Foreground] of c to b.
func (d Depth) AppendForeground(b []byte, c uint8) []byte { return d.appendSGR(b, c, 30, 90, "38") }

// AppendBackground appends [Depth.Background] of c to b.
func (d Depth) AppendBackground(b []byte, c uint8) []byte { return d.appendSGR(b, c, 40, 100, "48") }

// appendSGR appends the sequence for colour c: at 16 colours base+n for
// the normal colours and bright+n for the bright ones, at 256 extended;5;c.
func (d Depth) appendSGR(b []byte, c uint8, base, bright int, extended string) []byte {
	switch d {
	case Colors16:
		n := int(Nearest16(c))
		code := base + n
		if n >= 8 {
			code = bright + n - 8
		}
		b = append(b, "\x1b["...)
		b = strconv.AppendInt(b, int64(code), 10)
	case Colors256:
		b = append(b, "\x1b["...)
		b = append(b, extended...)
		b = append(b, ";5;"...)
		b = strconv.AppendUint(b, uint64(c), 10)
	default:
		return b
	}
	return append(b, 'm')
}

// Paint returns s with its text colour set to c at depth d, and reset
// after it; s itself at [NoColor]. s must already be safe to print.
func (d Depth) Paint(c uint8, s string) string {
	if !d.Enabled() {
		return s
	}
	return d.Foreground(c) + s + d.Reset()
}

// ansi16 is the RGB value of each of the 16 ANSI colours in xterm's default
// palette.
var ansi16 = [16][3]int{
	{0, 0, 0}, {205, 0, 0}, {0, 205, 0}, {205, 205, 0},
	{0, 0, 238}, {205, 0, 205}, {0, 205, 205}, {229, 229, 229},
	{127, 127, 127}, {255, 0, 0}, {0, 255, 0}, {255, 255, 0},
	{92, 92, 255}, {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
}

// cubeLevels are the six intensities of each axis of the 6x6x6 colour
// cube, indices 16 to 231.
var cubeLevels = [6]int{0, 95, 135, 175, 215, 255}

// RGB returns the red, green and blue of colour index c in xterm's
// default 256-colour palette: the 16 ANSI colours, then the 6x6x6 cube
// (16 + 36r + 6g + b), then 24 greys from 8 to 238 in steps of 10.
func RGB(c uint8) (r, g, b uint8) {
	switch {
	case c < 16:
		v := ansi16[c]
		return uint8(v[0]), uint8(v[1]), uint8(v[2])
	case c < 232:
		i := int(c) - 16
		return uint8(cubeLevels[i/36]), uint8(cubeLevels[i/6%6]), uint8(cubeLevels[i%6])
	default:
		v := uint8(8 + 10*(int(c)-232))
		return v, v, v
	}
}

// Nearest16 returns the one of the 16 ANSI colours (0-15) nearest to
// colour index c of the 256-colour palette: c itself below 16, else the
// colour whose [RGB] value is at the least Euclidean distance from c's,
// the lower index on a tie.
func Nearest16(c uint8) uint8 {
	if c < 16 {
		return c
	}
	r, g, b := RGB(c)
	best, bestDist := 0, -1
	for i, v := range ansi16 {
		dr, dg, db := int(r)-v[0], int(g)-v[1], int(b)-v[2]
		if dist := dr*dr + dg*dg + db*db; bestDist < 0 || dist < bestDist {
			best, bestDist = i, dist
		}
	}
	return uint8(best)
}
