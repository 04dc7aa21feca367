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

func knownVerb(c byte) bool {
	switch c {
	case 'Y', 'm', 'd', 'H', 'M', 'S', 'y', 'b', 'B', 'a', 'A', 'j', 'p', 'I',
		'Z', 'z', 's', 'F', 'T', 'D', 'e', 'u', 'w', 'N', 'f', '%':
		return true
	}
	return false
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

func appendConv(b []byte, c conv, t time.Time) []byte {
	switch c.verb {
	case 0:
		return append(b, c.text...)
	case 'Y':
		y := t.Year()
		if y >= 0 && y < 1000 {
			return fmt.Appendf(b, "%04d", y)
		}
		return strconv.AppendInt(b, int64(y), 10)
	case 'y':
		return pad2(b, (t.Year()%100+100)%100)
	case 'm':
		return pad2(b, int(t.Month()))
	case 'd':
		return pad2(b, t.Day())
	case 'e':
		if t.Day() < 10 {
			return append(b, ' ', byte('0'+t.Day()))
		}
		return pad2(b, t.Day())
	case 'H':
		return pad2(b, t.Hour())
	case 'I':
		h := t.Hour() % 12
		if h == 0 {
			h = 12
		}
		return pad2(b, h)
	case 'M':
		return pad2(b, t.Minute())
	case 'S':
		return pad2(b, t.Second())
	case 'p':
		if t.Hour() < 12 {
			return append(b, "AM"...)
		}
		return append(b, "PM"...)
	case 'b':
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
	case 'F':
		b = appendConv(b, conv{verb: 'Y'}, t)
		b = append(b, '-')
		b = pad2(b, int(t.Month()))
		b = append(b, '-')
		return pad2(b, t.Day())
	case 'T':
		b = pad2(b, t.Hour())
		b = append(b, ':')
		b = pad2(b, t.Minute())
		b = append(b, ':')
		return pad2(b, t.Second())
	case 'D':
		b = pad2(b, int(t.Month()))
		b = append(b, '/')
		b = pad2(b, t.Day())
		b = append(b, '/')
		return pad2(b, (t.Year()%100+100)%100)
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
