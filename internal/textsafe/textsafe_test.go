package textsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "hello, world", "hello, world"},
		{"unicode kept", "héllo 世界 👩‍💻\tok", "héllo 世界 👩‍💻\tok"},
		{"colour", "\x1b[31mred\x1b[0m", "red"},
		{"cursor and erase", "a\x1b[2K\x1b[1;1Hb", "ab"},
		{"title OSC with BEL", "x\x1b]0;pwned\x07y", "xy"},
		{"OSC 8 link with ST", "\x1b]8;;http://e.x\x1b\\click\x1b]8;;\x1b\\", "click"},
		{"unterminated OSC", "ok\x1b]0;rest", "ok"},
		{"two-byte ESC", "a\x1bcb", "ab"},
		{"charset ESC ( B", "a\x1b(Bb", "ab"},
		{"C1 CSI", "a\u009b31mb", "ab"},
		{"bell backspace CR", "a\x07\x08\rb\n", "ab"},
		{"DEL", "a\x7fb", "ab"},
		{"bidi override", "user\u202egnp.exe", "usergnp.exe"},
		{"isolates", "\u2066a\u2069", "a"},
		{"invalid UTF-8", "a\xffb", "a\ufffdb"},
		{"trailing ESC", "a\x1b", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Clean(tt.in); got != tt.want {
				t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	if err := Check("fine ✓"); err != nil {
		t.Fatalf("Check(safe) = %v", err)
	}
	err := Check("ab\x1b[31m")
	e, ok := err.(*Error)
	if !ok || e.Offset != 2 || e.Rune != 0x1b {
		t.Fatalf("Check = %#v, want control character at 2", err)
	}
	if err := Check("a\xc3"); err == nil || !strings.Contains(err.Error(), "invalid UTF-8 at byte 1") {
		t.Fatalf("Check(truncated UTF-8) = %v", err)
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[31mx", "\x1b]0;t\x07", "\u202e", "\xff\xfe", "\u009b1m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Clean(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Clean(%q) = %q: invalid UTF-8", s, out)
		}
		if err := Check(out); err != nil {
			t.Fatalf("Clean(%q) = %q still unsafe: %v", s, out, err)
		}
		if Clean(out) != out {
			t.Fatalf("Clean not idempotent on %q", s)
		}
		if len(out) > len(s)*3 {
			t.Fatalf("Clean grew %d bytes to %d", len(s), len(out))
		}
	})
}
