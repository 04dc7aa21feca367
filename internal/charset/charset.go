// Package charset looks up the character sets that the example programs
// accept with -charset NAME, so that every program knows the same names:
// the IANA names and aliases (ianaindex), the WHATWG names of the web
// (htmlindex), and either of them written loosely ("Shift-JIS",
// "Latin-1", "euc kr"). Text on the command line and on the terminal is
// UTF-8; [Encode] turns it into the bytes of a charset for the wire, and
// [Decode] turns bytes from the wire back into UTF-8.
package charset

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
)

// names are the charsets offered in usage texts, by their usual names.
// Lookup knows many more (every IANA and WHATWG alias).
var names = []string{
	"UTF-8", "UTF-16LE", "UTF-16BE",
	"GBK", "GB18030", "Big5",
	"Shift_JIS", "EUC-JP", "ISO-2022-JP", "EUC-KR",
	"ISO-8859-1", "ISO-8859-2", "ISO-8859-5", "ISO-8859-7", "ISO-8859-15",
	"Windows-1250", "Windows-1251", "Windows-1252",
	"KOI8-R", "KOI8-U",
}

// Names returns the usual names of the charsets most worth knowing, for
// usage texts. The slice is the caller's.
func Names() []string { return append([]string(nil), names...) }

// Lookup returns the charset called name, case-insensitively: an IANA
// name or alias first ("latin1" is ISO-8859-1), then a WHATWG name
// ("sjis", "gb2312"), then either with punctuation and spaces ignored
// ("Shift-JIS", "Latin-1").
func Lookup(name string) (encoding.Encoding, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("charset: no name given")
	}
	if e := lookup(name); e != nil {
		return e, nil
	}
	key := loose(name)
	for _, n := range names {
		if loose(n) == key {
			return lookup(n), nil
		}
	}
	if e := lookup(key); e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("charset: unknown charset %q; known ones include %s", name, strings.Join(names, ", "))
}

// lookup returns the charset an IANA or WHATWG name names, or nil.
func lookup(name string) encoding.Encoding {
	// IANA knows some names (GB2312) it has no encoder for: nil, nil.
	if e, err := ianaindex.IANA.Encoding(name); err == nil && e != nil {
		return e
	}
	if e, err := htmlindex.Get(name); err == nil {
		return e
	}
	return nil
}

// loose returns name in lower case, without anything but letters and
// digits.
func loose(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, name)
}

// EncodeError reports text that a charset cannot represent.
type EncodeError struct {
	Offset int  // byte offset in the text
	Rune   rune // the character, or utf8.RuneError for invalid UTF-8
}

func (e *EncodeError) Error() string {
	if e.Rune == utf8.RuneError {
		return fmt.Sprintf("charset: invalid UTF-8 at byte %d", e.Offset)
	}
	return fmt.Sprintf("charset: %q (U+%04X) at byte %d has no encoding in this charset", e.Rune, e.Rune, e.Offset)
}

// Encode returns the UTF-8 text s in the charset e. Invalid UTF-8, and a
// character that e cannot represent, are an [*EncodeError], not a silent
// "?" or U+FFFD.
func Encode(e encoding.Encoding, s string) ([]byte, error) {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return nil, &EncodeError{Offset: i, Rune: r}
			}
		}
	}
	b, err := e.NewEncoder().Bytes([]byte(s))
	if err == nil {
		return b, nil
	}
	for i, r := range s {
		if _, rerr := e.NewEncoder().String(string(r)); rerr != nil {
			return nil, &EncodeError{Offset: i, Rune: r}
		}
	}
	return nil, fmt.Errorf("charset: %w", err)
}

// Decode returns b, text in the charset e, as UTF-8. Bytes that are not
// text in e become U+FFFD; Decode never fails.
func Decode(e encoding.Encoding, b []byte) string {
	s, err := e.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}
