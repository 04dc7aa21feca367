package udpcolor

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
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
	var buf bytes.Buffer
	r := NewRenderer(&buf, NewPalette(map[string]Color{"alex": 33}), ColorAlways)
	r.Message("alex", "hi")
	r.Event("alex", "joined")
	want := "\x1b[38;5;33malex\x1b[0m : hi\n* \x1b[38;5;33malex\x1b[0m joined\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
	if got := r.Name("alex"); got != "\x1b[38;5;33malex\x1b[0m" {
		t.Errorf("Name = %q", got)
	}
}

func TestRendererCleansPeerText(t *testing.T) {
	var buf bytes.Buffer
	r := NewRenderer(&buf, nil, ColorNever)
	r.Message("ev\x1b[31mil", "a\x1b]0;title\x07b\u202ec\x07d\r")
	if got, want := buf.String(), "evil : abcd\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestColorAuto(t *testing.T) {
	// A buffer is not a terminal.
	if NewRenderer(&bytes.Buffer{}, nil, ColorAuto).Colored() {
		t.Error("ColorAuto coloured a bytes.Buffer")
	}
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if NewRenderer(f, nil, ColorAuto).Colored() {
		t.Error("ColorAuto coloured a regular file")
	}
	t.Setenv("NO_COLOR", "1")
	if NewRenderer(os.Stdout, nil, ColorAuto).Colored() {
		t.Error("ColorAuto coloured despite NO_COLOR")
	}
	if !NewRenderer(&bytes.Buffer{}, nil, ColorAlways).Colored() {
		t.Error("ColorAlways did not colour")
	}
	if NewRenderer(os.Stdout, nil, ColorNever).Colored() {
		t.Error("ColorNever coloured")
	}
}
