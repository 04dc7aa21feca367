// Package textsafe makes text from peers safe to show on a terminal.
//
// A peer's text can carry terminal escape sequences (which move the
// cursor, change the window title, or rewrite what other people said),
// raw control characters (which ring bells or erase lines), and Unicode
// bidirectional overrides (which make text read differently from the
// bytes it is made of, "Trojan Source"). [Clean] removes all of these;
// [Check] says whether a text has any, for servers that refuse such input
// with an error instead.
package textsafe

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as it is: C0 control
// characters other than tab, DEL, C1 control characters, bidirectional
// controls (U+061C, U+200E, U+200F, U+202A..U+202E, U+2066..U+2069), the
// line and paragraph separators U+2028 and U+2029, and U+FEFF.
func Unsafe(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f,
		r >= 0x202a && r <= 0x202e,
		r >= 0x2066 && r <= 0x2069,
		r == 0x2028, r == 0x2029, r == 0xfeff:
		return true
	}
	return false
}

// Error describes the first unsafe part of a text.
type Error struct {
	Offset int    // byte offset in the text
	Rune   rune   // the offending rune, or utf8.RuneError for invalid UTF-8
	Reason string // "invalid UTF-8", "control character", "bidirectional control"
}

func (e *Error) Error() string {
	if e.Rune == utf8.RuneError {
		return fmt.Sprintf("%s at byte %d", e.Reason, e.Offset)
	}
	return fmt.Sprintf("%s %U at byte %d", e.Reason, e.Rune, e.Offset)
}

// Check returns nil if s is valid UTF-8 with no unsafe rune, and an
// [*Error] naming the first problem otherwise.
func Check(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return &Error{Offset: i, Rune: r, Reason: "invalid UTF-8"}
			}
		}
		if Unsafe(r) {
			reason := "control character"
			if r > 0x9f {
				reason = "bidirectional or invisible control"
			}
			return &Error{Offset: i, Rune: r, Reason: reason}
		}
	}
	return nil
}

// Clean returns s made safe for a terminal: invalid UTF-8 becomes U+FFFD,
// whole escape sequences (CSI, OSC, DCS, SOS, PM, APC and two-byte ESC
// sequences, in their 7-bit and C1 forms) are removed, and so is every
// other rune for which [Unsafe] is true. Text that is already safe is
// returned unchanged, without allocating.
func Clean(s string) string {
	if Check(s) == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
			i++
		case r == 0x1b:
			i = skipEscape(s, i+1)
		case r == 0x9b: // C1 CSI
			i = skipCSI(s, i+size)
		case r == 0x90, r == 0x98, r == 0x9d, r == 0x9e, r == 0x9f: // C1 DCS, SOS, OSC, PM, APC
			i = skipString(s, i+size)
		case Unsafe(r):
			i += size
		default:
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return b.String()
}

// skipEscape skips what follows an ESC at s[i:] and returns the index
// after the sequence.
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch c := s[i]; {
	case c == '[':
		return skipCSI(s, i+1)
	case c == ']', c == 'P', c == 'X', c == '^', c == '_':
		return skipString(s, i+1)
	case c >= 0x20 && c <= 0x2f: // intermediates, then one final byte
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return i + 1
	}
	return i
}

// skipCSI skips parameter bytes, intermediate bytes and the final byte of
// a control sequence.
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips a control string up to and including its terminator
// (BEL, ESC \ or C1 ST). An unterminated string runs to the end of s.
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == 0x07:
			return i + 1
		case s[i] == 0x1b:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}
