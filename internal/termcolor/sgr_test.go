package termcolor

import (
	"fmt"
	"testing"
)

func TestRGB(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c       uint8
		r, g, b uint8
	}{
		{0, 0, 0, 0}, {1, 205, 0, 0}, {12, 92, 92, 255}, {15, 255, 255, 255},
		{16, 0, 0, 0}, {17, 0, 0, 95}, {21, 0, 0, 255}, {46, 0, 255, 0},
		{59, 95, 95, 95}, {196, 255, 0, 0}, {208, 255, 135, 0}, {231, 255, 255, 255},
		{232, 8, 8, 8}, {244, 128, 128, 128}, {255, 238, 238, 238},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.c), func(t *testing.T) {
			r, g, b := RGB(tt.c)
			if r != tt.r || g != tt.g || b != tt.b {
				t.Errorf("RGB(%d) = %d,%d,%d, want %d,%d,%d", tt.c, r, g, b, tt.r, tt.g, tt.b)
			}
		})
	}
}

func TestNearest16(t *testing.T) {
	t.Parallel()
	tests := []struct {
		c, want uint8
		why     string
	}{
		{16, 0, "cube black"},
		{21, 4, "pure blue: xterm's blue is nearer than its light blue"},
		{26, 4, "udpcolor's first colour"},
		{46, 10, "pure green"},
		{160, 1, "dark red"},
		{196, 9, "pure red"},
		{208, 3, "orange"},
		{226, 11, "pure yellow"},
		{231, 15, "cube white"},
		{232, 0, "darkest grey"},
		{244, 8, "middle grey"},
		{250, 7, "light grey"},
		{255, 7, "lightest grey"},
	}
	for _, tt := range tests {
		t.Run(tt.why, func(t *testing.T) {
			if got := Nearest16(tt.c); got != tt.want {
				t.Errorf("Nearest16(%d) = %d, want %d", tt.c, got, tt.want)
			}
		})
	}
	dist := func(a, b uint8) int {
		ar, ag, ab := RGB(a)
		br, bg, bb := RGB(b)
		dr, dg, db := int(ar)-int(br), int(ag)-int(bg), int(ab)-int(bb)
		return dr*dr + dg*dg + db*db
	}
	for c := 0; c < 256; c++ {
		got := Nearest16(uint8(c))
		if c < 16 && got != uint8(c) {
			t.Errorf("Nearest16(%d) = %d, not itself", c, got)
		}
		if got > 15 {
			t.Fatalf("Nearest16(%d) = %d, not an ANSI colour", c, got)
		}
		for o := uint8(0); o < 16; o++ {
			if c >= 16 && dist(uint8(c), o) < dist(uint8(c), got) {
				t.Errorf("Nearest16(%d) = %d, but %d is nearer", c, got, o)
			}
		}
	}
}

func TestEscapes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d         Depth
		c         uint8
		fg, bg    string
		reset     string
		paint     string
		enabled   bool
		depthName string
	}{
		{Colors256, 196, "\x1b[38;5;196m", "\x1b[48;5;196m", "\x1b[0m", "\x1b[38;5;196mhi\x1b[0m", true, "256 colours"},
		{Colors256, 0, "\x1b[38;5;0m", "\x1b[48;5;0m", "\x1b[0m", "\x1b[38;5;0mhi\x1b[0m", true, "256 colours"},
		{Colors16, 196, "\x1b[91m", "\x1b[101m", "\x1b[0m", "\x1b[91mhi\x1b[0m", true, "16 colours"},
		{Colors16, 160, "\x1b[31m", "\x1b[41m", "\x1b[0m", "\x1b[31mhi\x1b[0m", true, "16 colours"},
		{Colors16, 7, "\x1b[37m", "\x1b[47m", "\x1b[0m", "\x1b[37mhi\x1b[0m", true, "16 colours"},
		{Colors16, 8, "\x1b[90m", "\x1b[100m", "\x1b[0m", "\x1b[90mhi\x1b[0m", true, "16 colours"},
		{Colors16, 15, "\x1b[97m", "\x1b[107m", "\x1b[0m", "\x1b[97mhi\x1b[0m", true, "16 colours"},
		{NoColor, 196, "", "", "", "hi", false, "none"},
		{Depth(8), 196, "", "", "", "hi", false, "none"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%d", tt.d, tt.c), func(t *testing.T) {
			check := func(what, got, want string) {
				t.Helper()
				if got != want {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			check("Foreground", tt.d.Foreground(tt.c), tt.fg)
			check("Background", tt.d.Background(tt.c), tt.bg)
			check("AppendForeground", string(tt.d.AppendForeground([]byte("x"), tt.c)), "x"+tt.fg)
			check("AppendBackground", string(tt.d.AppendBackground([]byte("x"), tt.c)), "x"+tt.bg)
			check("Reset", tt.d.Reset(), tt.reset)
			check("Paint", tt.d.Paint(tt.c, "hi"), tt.paint)
			check("String", tt.d.String(), tt.depthName)
			if tt.d.Enabled() != tt.enabled {
				t.Errorf("Enabled = %v", tt.d.Enabled())
			}
		})
	}
}
