package timesync

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// FormatError reports a strftime format that cannot be used: an unknown
// or incomplete conversion, or text that is not safe (control characters,
// invalid UTF-8).
type FormatError struct {
	Format string // the format, as given
	Offset int    // byte offset of the problem in Format
	Reason string // what is wrong, such as "unknown conversion %Q"
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("timesync: bad format at byte %d: %s", e.Offset, e.Reason)
}

// conv is one piece of a parsed format: literal text, or a conversion.
type conv struct {
	verb  byte   // 0 for literal text
	width int    // digits for %N (1 to 9)
	text  string // literal text when verb is 0
}

// parseFormat splits a strftime format into literal text and
// conversions. It is the one parser of formats, used by [Strftime] and by
// the server on every request.
func parseFormat(f string) ([]conv, error) {
	if err := textsafe.Check(f); err != nil {
		te := err.(*textsafe.Error)
		return nil, &FormatError{Format: f, Offset: te.Offset, Reason: te.Reason}
	}
	var cs []conv
	start := 0
	for i := 0; i < len(f); {
		if f[i] != '%' {
			i++
			continue
		}
		if start < i {
			cs = append(cs, conv{text: f[start:i]})
		}
		at := i
		i++
		if i == len(f) {
			return nil, &FormatError{Format: f, Offset: at, Reason: "incomplete conversion %"}
		}
		c := conv{verb: f[i], width: 9}
		if f[i] >= '1' && f[i] <= '9' {
			if i+1 == len(f) {
				return nil, &FormatError{Format: f, Offset: at, Reason: "incomplete conversion " + f[at:]}
			}
			if f[i+1] != 'N' {
				return nil, &FormatError{Format: f, Offset: at, Reason: "unknown conversion " + safePrefix(f[at:], 3)}
			}
			c = conv{verb: 'N', width: int(f[i] - '0')}
			i++
		} else if !knownVerb(f[i]) {
			return nil, &FormatError{Format: f, Offset: at, Reason: "unknown conversion " + safePrefix(f[at:], 2)}
		}
		cs = append(cs, c)
		i++
		start = i
	}
	if start < len(f) {
		cs = append(cs, conv{text: f[start:]})
	}
	return cs, nil
}

// safePrefix returns the first n runes of s (s is valid UTF-8).
func safePrefix(s string, n int) string {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

// knownVerb reports whether %c is a conversion. The set is the
// locale-independent table of C's and Python's strftime (with the GNU
// extensions %k, %l, %P and %s), with %c, %x and %X as in the C locale,
// and this package's %N, %1N to %9N and %f.
func knownVerb(c byte) bool {
	return c < 128 && maxWidth[c] > 0
}

// maxWidth is the most bytes each conversion produces for a year from 0
// to 9999, indexed by verb; zero for bytes that are not conversions. %Z
// is the server's zone abbreviation (at most 6 bytes in the IANA
// database); 16 leaves room for names of fixed zones. %N is given for
// its widest form, 9 digits.
var maxWidth = [128]int{
	'a': 3, 'A': 9, 'b': 3, 'B': 9, 'c': 24, 'C': 2, 'd': 2, 'D': 8,
	'e': 2, 'f': 6, 'F': 10, 'g': 2, 'G': 4, 'h': 3, 'H': 2, 'I': 2,
	'j': 3, 'k': 2, 'l': 2, 'm': 2, 'M': 2, 'n': 1, 'N': 9, 'p': 2,
	'P': 2, 'r': 11, 'R': 5, 's': 12, 'S': 2, 't': 1, 'T': 8, 'u': 1,
	'U': 2, 'V': 2, 'w': 1, 'W': 2, 'x': 8, 'X': 8, 'y': 2, 'Y': 4,
	'z': 5, 'Z': 16, '%': 1,
}

// maxLen returns the most bytes the parsed format cs can produce, for a
// year from 0 to 9999 and a zone abbreviation of up to 16 bytes.
func maxLen(cs []conv) int {
	n := 0
	for _, c := range cs {
		switch c.verb {
		case 0:
			n += len(c.text)
		case 'N':
			n += c.width
		default:
			n += maxWidth[c.verb]
		}
	}
	return n
}

// The conversions that stand for others, parsed once.
var (
	convC = mustParse("%a %b %e %H:%M:%S %Y") // %c in the C locale
	convD = mustParse("%m/%d/%y")             // %D, and %x in the C locale
	convF = mustParse("%Y-%m-%d")
	convR = mustParse("%H:%M")
	convr = mustParse("%I:%M:%S %p") // %r in the C locale
	convT = mustParse("%H:%M:%S")    // %T, and %X in the C locale
)

func mustParse(f string) []conv {
	cs, err := parseFormat(f)
	if err != nil {
		panic(err)
	}
	return cs
}

// Strftime formats t (in its own location) with a strftime format; the
// conversions are listed in the package documentation. Names of months
// and days are English, as in the C locale.
func Strftime(format string, t time.Time) (string, error) {
	b, err := AppendStrftime(nil, format, t)
	return string(b), err
}

// AppendStrftime is [Strftime] appending to b.
func AppendStrftime(b []byte, format string, t time.Time) ([]byte, error) {
	cs, err := parseFormat(format)
	if err != nil {
		return b, err
	}
	return appendConvs(b, cs, t), nil
}

func appendConvs(b []byte, cs []conv, t time.Time) []byte {
	for _, c := range cs {
		b = appendConv(b, c, t)
	}
	return b
}

// pad2 appends v (0 to 99) as two digits.
func pad2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// space2 appends v (0 to 99) as two characters, a space before one digit.
func space2(b []byte, v int) []byte {
	if v < 10 {
		return append(b, ' ', byte('0'+v))
	}
	return pad2(b, v)
}

// appendYear appends a year as %Y does: at least 4 digits.
func appendYear(b []byte, y int) []byte {
	if y >= 0 && y < 1000 {
		return fmt.Appendf(b, "%04d", y)
	}
	return strconv.AppendInt(b, int64(y), 10)
}

// floorDiv returns a/b rounded down, for b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// hour12 returns the hour on a 12-hour clock, 1 to 12.
func hour12(t time.Time) int {
	if h := t.Hour() % 12; h != 0 {
		return h
	}
	return 12
}

// weekOfYear returns the week of the year, 0 to 53, of weeks that start
// on the weekday first (0 Sunday, 1 Monday): days before the year's first
// such weekday are in week 0.
func weekOfYear(t time.Time, first time.Weekday) int {
	yday := t.YearDay() - 1
	wday := (int(t.Weekday()) - int(first) + 7) % 7 // days since the week began
	return (yday + 7 - wday) / 7
}

func appendConv(b []byte, c conv, t time.Time) []byte {
	switch c.verb {
	case 0:
		return append(b, c.text...)
	case 'Y':
		return appendYear(b, t.Year())
	case 'y':
		return pad2(b, (t.Year()%100+100)%100)
	case 'C':
		cent := floorDiv(t.Year(), 100)
		if cent >= 0 && cent < 100 {
			return pad2(b, cent)
		}
		return strconv.AppendInt(b, int64(cent), 10)
	case 'G':
		y, _ := t.ISOWeek()
		return appendYear(b, y)
	case 'g':
		y, _ := t.ISOWeek()
		return pad2(b, (y%100+100)%100)
	case 'V':
		_, w := t.ISOWeek()
		return pad2(b, w)
	case 'U':
		return pad2(b, weekOfYear(t, time.Sunday))
	case 'W':
		return pad2(b, weekOfYear(t, time.Monday))
	case 'm':
		return pad2(b, int(t.Month()))
	case 'd':
		return pad2(b, t.Day())
	case 'e':
		return space2(b, t.Day())
	case 'H':
		return pad2(b, t.Hour())
	case 'k':
		return space2(b, t.Hour())
	case 'I':
		return pad2(b, hour12(t))
	case 'l':
		return space2(b, hour12(t))
	case 'M':
		return pad2(b, t.Minute())
	case 'S':
		return pad2(b, t.Second())
	case 'p':
		if t.Hour() < 12 {
			return append(b, "AM"...)
		}
		return append(b, "PM"...)
	case 'P':
		if t.Hour() < 12 {
			return append(b, "am"...)
		}
		return append(b, "pm"...)
	case 'b', 'h':
		return append(b, t.Month().String()[:3]...)
	case 'B':
		return append(b, t.Month().String()...)
	case 'a':
		return append(b, t.Weekday().String()[:3]...)
	case 'A':
		return append(b, t.Weekday().String()...)
	case 'j':
		return fmt.Appendf(b, "%03d", t.YearDay())
	case 'u':
		wd := int(t.Weekday())
		if wd == 0 {
			wd = 7
		}
		return append(b, byte('0'+wd))
	case 'w':
		return append(b, byte('0'+int(t.Weekday())))
	case 'Z':
		name, _ := t.Zone()
		return append(b, textsafe.Clean(name)...)
	case 'z':
		_, off := t.Zone()
		sign := byte('+')
		if off < 0 {
			sign, off = '-', -off
		}
		off /= 60
		b = append(b, sign)
		return pad2(pad2(b, off/60%100), off%60)
	case 's':
		return strconv.AppendInt(b, t.Unix(), 10)
	case 'c':
		return appendConvs(b, convC, t)
	case 'D', 'x':
		return appendConvs(b, convD, t)
	case 'F':
		return appendConvs(b, convF, t)
	case 'R':
		return appendConvs(b, convR, t)
	case 'r':
		return appendConvs(b, convr, t)
	case 'T', 'X':
		return appendConvs(b, convT, t)
	case 'n':
		return append(b, '\n')
	case 't':
		return append(b, '\t')
	case 'N':
		ns := t.Nanosecond()
		for i := 9; i > c.width; i-- {
			ns /= 10
		}
		return fmt.Appendf(b, "%0*d", c.width, ns)
	case 'f':
		return fmt.Appendf(b, "%06d", t.Nanosecond()/1000)
	case '%':
		return append(b, '%')
	}
	return b
}
