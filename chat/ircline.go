package chat

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// IRC's line limit (RFC 1459 section 2.3): 512 bytes with the "\r\n",
// so 510 of text.
const (
	ircMaxLine = 512
	ircMaxText = ircMaxLine - 2
	ircMaxArgs = 15 // parameters per message, the last one included
)

// ircMessage is one line from an IRC client, parsed.
type ircMessage struct {
	Command  string   // in upper case: letters, or three digits
	Params   []string // the middle parameters, then the trailing one if any
	Trailing bool     // the last parameter was given after " :"
}

// Errors of parseIRC. errIRCEmpty is for a line with no command, which
// RFC 1459 says to ignore in silence.
var (
	errIRCEmpty   = errors.New("chat: empty IRC line")
	errIRCCommand = errors.New("chat: malformed IRC command")
)

// parseIRC parses one IRC line without its "\r\n" (RFC 1459 section
// 2.3.1, with RFC 2812's limit of 15 parameters). Message tags ("@...")
// and a prefix (":...") are skipped: the server negotiates no tags and
// knows who its clients are. Runs of spaces count as one, as most servers
// allow. A command that is not letters or three digits is errIRCCommand
// (the message then holds what the command was, for the 421 reply).
// Control characters inside parameters (RFC 1459 forbids NUL and CR) are
// left to the checks and the cleaning that every parameter goes through.
func parseIRC(line string) (ircMessage, error) {
	var m ircMessage
	rest := strings.TrimLeft(line, " ")
	if strings.HasPrefix(rest, "@") {
		_, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimLeft(rest, " ")
	}
	if strings.HasPrefix(rest, ":") {
		_, rest, _ = strings.Cut(rest, " ")
		rest = strings.TrimLeft(rest, " ")
	}
	cmd, rest, _ := strings.Cut(rest, " ")
	if cmd == "" {
		return m, errIRCEmpty
	}
	m.Command = strings.ToUpper(cmd)
	if !validIRCCommand(m.Command) {
		return m, errIRCCommand
	}
	for {
		rest = strings.TrimLeft(rest, " ")
		if rest == "" {
			return m, nil
		}
		if rest[0] == ':' || len(m.Params) == ircMaxArgs-1 {
			m.Params = append(m.Params, strings.TrimPrefix(rest, ":"))
			m.Trailing = true
			return m, nil
		}
		var p string
		p, rest, _ = strings.Cut(rest, " ")
		m.Params = append(m.Params, p)
	}
}

// validIRCCommand reports whether s (upper case) is a command word: one
// or more letters, or exactly three digits.
func validIRCCommand(s string) bool {
	if len(s) == 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) {
		return true
	}
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// arg returns the i-th parameter, or "" if there are fewer.
func (m *ircMessage) arg(i int) string {
	if 0 <= i && i < len(m.Params) {
		return m.Params[i]
	}
	return ""
}

// appendIRC appends one IRC line to b: ":prefix" (if not empty), the
// command, the parameters, the last one after " :" (the trailing
// parameter, which may hold spaces), and "\r\n". A parameter is cleaned
// of what cannot be on a line (CR, LF and NUL would end or break it;
// spaces split a middle one, and an empty middle one becomes "*"), and
// the line is cut at a character boundary to fit in 512 bytes.
func appendIRC(b []byte, prefix, command string, params ...string) []byte {
	return appendIRCLine(b, true, prefix, command, params)
}

// appendIRCWords is appendIRC for lines whose parameters are all single
// words, which go without a ":" (":alice!alice@host JOIN #go").
func appendIRCWords(b []byte, prefix, command string, params ...string) []byte {
	return appendIRCLine(b, false, prefix, command, params)
}

func appendIRCLine(b []byte, trailing bool, prefix, command string, params []string) []byte {
	start := len(b)
	if prefix != "" {
		b = append(b, ':')
		b = appendIRCWord(b, prefix)
		b = append(b, ' ')
	}
	b = appendIRCWord(b, command)
	for i, p := range params {
		b = append(b, ' ')
		if trailing && i == len(params)-1 {
			b = append(b, ':')
			b = appendIRCText(b, p)
		} else {
			b = appendIRCWord(b, p)
		}
	}
	if len(b)-start > ircMaxText {
		b = b[:start+utf8Prefix(string(b[start:]), ircMaxText)]
	}
	return append(b, '\r', '\n')
}

// appendIRCWord appends s without the bytes a middle parameter cannot
// hold (space, CR, LF, NUL), and without a leading ':'.
func appendIRCWord(b []byte, s string) []byte {
	s = strings.TrimLeft(s, ":")
	if s == "" {
		return append(b, '*')
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\r' && c != '\n' && c != 0 {
			b = append(b, c)
		}
	}
	return b
}

// appendIRCText appends s without CR, LF and NUL.
func appendIRCText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\r' && c != '\n' && c != 0 {
			b = append(b, c)
		}
	}
	return b
}

// utf8Prefix returns the length of the longest prefix of s that is at
// most n bytes and does not end inside a UTF-8 sequence.
func utf8Prefix(s string, n int) int {
	if len(s) <= n {
		return len(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// ircText makes text from an IRC client what every user may see: the
// IRC formatting (bold, colours, ...) is removed, then everything
// [textsafe.Clean] removes. The text is valid UTF-8 already.
func ircText(s string) string {
	return textsafe.Clean(stripIRCFormatting(s))
}

// stripIRCFormatting removes mIRC-style formatting: 0x02 bold, 0x1d
// italics, 0x1f underline, 0x1e strike-through, 0x11 monospace, 0x16
// reverse, 0x0f reset, 0x03 colour with its digits ("\x0304,12"), and
// 0x04 hex colour with its digits ("\x04ff0000,00ff00").
func stripIRCFormatting(s string) string {
	if !strings.ContainsAny(s, "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case 0x02, 0x0f, 0x11, 0x16, 0x1d, 0x1e, 0x1f:
			i++
		case 0x03:
			i = skipColour(s, i+1, 2, isDigit)
		case 0x04:
			i = skipColour(s, i+1, 6, isHex)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipColour skips a colour's "F[,B]" after its control byte at s[i-1]:
// up to n digits (as ok says), then, only if digits came first, a comma
// and up to n more digits when at least one follows it.
func skipColour(s string, i, n int, ok func(byte) bool) int {
	j := skipN(s, i, n, ok)
	if j > i && j+1 < len(s) && s[j] == ',' && ok(s[j+1]) {
		j = skipN(s, j+1, n, ok)
	}
	return j
}

func skipN(s string, i, n int, ok func(byte) bool) int {
	for end := min(len(s), i+n); i < end && ok(s[i]); i++ {
	}
	return i
}

func isHex(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// ctcp splits a CTCP request or reply ("\x01VERSION\x01", "\x01ACTION
// waves\x01") into its command, in upper case, and its argument. ok is
// false for text that is not CTCP. The closing 0x01 may be missing, as
// some clients leave it out.
func ctcp(text string) (cmd, arg string, ok bool) {
	if !strings.HasPrefix(text, "\x01") {
		return "", "", false
	}
	body := strings.TrimSuffix(text[1:], "\x01")
	cmd, arg, _ = strings.Cut(body, " ")
	return strings.ToUpper(cmd), arg, true
}

// ircFirstLine reports whether the first line a client sends on a port
// that serves both dialects is IRC's: CAP, NICK, USER or PASS, in any
// case, then a space and something more. A nickname of the plain
// dialect never contains a space, so such a line cannot be one.
func ircFirstLine(line []byte) bool {
	word, rest, ok := strings.Cut(string(line), " ")
	if !ok || strings.TrimSpace(rest) == "" {
		return false
	}
	switch strings.ToUpper(word) {
	case "CAP", "NICK", "USER", "PASS":
		return true
	}
	return false
}
