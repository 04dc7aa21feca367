package udpcolor

import (
	"bytes"
	"flag"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/sockkit/sockkit/internal/termcolor"
)

// xterm returns the RGB components of a 256-colour cube index.
func xterm(c Color) (r, g, b float64) {
	levels := []float64{0, 95, 135, 175, 215, 255}
	n := int(c) - 16
	return levels[n/36], levels[n/6%6], levels[n%6]
}

func luminance(r, g, b float64) float64 {
	lin := func(v float64) float64 {
		v /= 255
		if v <= 0.03928 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

func TestDefaultColorsReadable(t *testing.T) {
	t.Parallel()
	seen := map[Color]bool{}
	for _, c := range DefaultColors {
		if c < 16 || c > 231 {
			t.Errorf("colour %d is not in the 6x6x6 cube", c)
			continue
		}
		if seen[c] {
			t.Errorf("colour %d listed twice", c)
		}
		seen[c] = true
		l := luminance(xterm(c))
		onWhite, onBlack := 1.05/(l+0.05), (l+0.05)/0.05
		if onWhite < 3.5 || onBlack < 3.5 {
			t.Errorf("colour %d: contrast %.2f on white, %.2f on black; want >= 3.5 on both", c, onWhite, onBlack)
		}
	}
}

func TestPaletteStable(t *testing.T) {
	t.Parallel()
	// These assignments are part of the API: a name keeps its colour.
	var p Palette
	for name, want := range map[string]Color{"alex": 167, "alice": 198, "bob": 166, "carol": 29} {
		if got := p.Color(name); got != want {
			t.Errorf("Color(%q) = %d, want %d", name, got, want)
		}
	}
	if p.Color("alice") != (&Palette{}).Color("alice") {
		t.Error("two palettes disagree")
	}
}

func TestPaletteFixed(t *testing.T) {
	t.Parallel()
	p := NewPalette(map[string]Color{"alex": 2})
	if got := p.Color("alex"); got != 2 {
		t.Errorf("fixed colour = %d, want 2", got)
	}
	p.Set("bob", 9)
	if got := p.Color("bob"); got != 9 {
		t.Errorf("Set colour = %d, want 9", got)
	}
	custom := &Palette{Colors: []Color{42}}
	if got := custom.Color("anyone"); got != 42 {
		t.Errorf("custom list colour = %d, want 42", got)
	}
}

func TestPaletteSpread(t *testing.T) {
	t.Parallel()
	var p Palette
	used := map[Color]int{}
	for i := range 1000 {
		used[p.Color("user"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('a'+i/26%26)))]++
	}
	if len(used) != len(DefaultColors) {
		t.Errorf("1000 names used %d of %d colours", len(used), len(DefaultColors))
	}
}

func TestRenderer(t *testing.T) {
	t.Parallel()
	p := NewPalette(map[string]Color{"alex": 33, "bea": 196})
	tests := []struct {
		name  string
		depth termcolor.Depth
		want  string
		alex  string
	}{
		{"256 colours", termcolor.Colors256,
			"\x1b[38;5;33malex\x1b[0m : hi\n* \x1b[38;5;33malex\x1b[0m joined\n\x1b[38;5;196mbea\x1b[0m : yo\n",
			"\x1b[38;5;33malex\x1b[0m"},
		// Colour 33 (0, 135, 255) is nearest to cyan (0, 205, 205), 196 to bright red.
		{"16 colours", termcolor.Colors16,
			"\x1b[36malex\x1b[0m : hi\n* \x1b[36malex\x1b[0m joined\n\x1b[91mbea\x1b[0m : yo\n",
			"\x1b[36malex\x1b[0m"},
		{"no colour", termcolor.NoColor, "alex : hi\n* alex joined\nbea : yo\n", "alex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			r := newRenderer(&buf, p, tt.depth)
			r.Message("alex", "hi")
			r.Event("alex", "joined")
			r.Message("bea", "yo")
			if buf.String() != tt.want {
				t.Errorf("got %q, want %q", buf.String(), tt.want)
			}
			if got := r.Name("alex"); got != tt.alex {
				t.Errorf("Name = %q, want %q", got, tt.alex)
			}
		})
	}
}

func TestRendererCleansPeerText(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := NewRenderer(&buf, nil, ColorNever)
	r.Message("ev\x1b[31mil", "a\x1b]0;title\x07b\u202ec\x07d\r")
	if got, want := buf.String(), "evil : abcd\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// NewRenderer decides colour with internal/termcolor: a terminal, TERM
// set and not dumb, NO_COLOR unset or empty; always and never override.
func TestNewRendererColorMode(t *testing.T) {
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name          string
		w             io.Writer
		mode          ColorMode
		term, noColor string
		want          bool
	}{
		{"auto, buffer", &bytes.Buffer{}, ColorAuto, "xterm-256color", "", false},
		{"auto, regular file", f, ColorAuto, "xterm-256color", "", false},
		{"always, buffer", &bytes.Buffer{}, ColorAlways, "xterm-256color", "", true},
		{"always, NO_COLOR set", &bytes.Buffer{}, ColorAlways, "xterm", "1", true},
		{"always, TERM dumb", &bytes.Buffer{}, ColorAlways, "dumb", "", true},
		{"never", &bytes.Buffer{}, ColorNever, "xterm-256color", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TERM", tt.term)
			t.Setenv("NO_COLOR", tt.noColor)
			if got := NewRenderer(tt.w, nil, tt.mode).Colored(); got != tt.want {
				t.Errorf("Colored() = %v, want %v", got, tt.want)
			}
		})
	}
}

// The -color flag of the programs is a ColorMode.
func TestColorModeFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		arg  string
		want ColorMode
	}{{"auto", ColorAuto}, {"always", ColorAlways}, {"NEVER", ColorNever}} {
		var m ColorMode
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.Var(&m, "color", "")
		if err := fs.Parse([]string{"-color", tt.arg}); err != nil || m != tt.want {
			t.Errorf("-color %s: %v, %v; want %v", tt.arg, m, err, tt.want)
		}
	}
	var m ColorMode
	if err := m.Set("purple"); err == nil {
		t.Error("Set(purple) succeeded")
	}
}
