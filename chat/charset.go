package chat

import (
	"net"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit/internal/opt"
)

// charset is a character set a connection may speak. Every one of them
// writes ASCII as ASCII, so that "\n", "/" and the protocol's keywords
// are the same bytes in all, and none has a state that runs from one line
// to the next, so that each line is decoded, and encoded, on its own.
type charset struct {
	name    string            // as /charset shows it
	aliases []string          // other names, compared as key does
	enc     encoding.Encoding // nil for UTF-8
	// ffText says that the byte 0xff is a character (ÿ), not only
	// telnet's IAC: a telnet client then gets it doubled.
	ffText bool
}

// charsets are the ones a server knows, UTF-8 first.
var charsets = []*charset{
	{name: "UTF-8"},
	{name: "GBK", aliases: []string{"CP936", "Windows-936", "GB2312", "EUC-CN"}, enc: simplifiedchinese.GBK},
	{name: "GB18030", enc: simplifiedchinese.GB18030},
	{name: "Big5", aliases: []string{"CP950"}, enc: traditionalchinese.Big5},
	{name: "Shift_JIS", aliases: []string{"SJIS", "MS_Kanji", "CP932", "Windows-31J"}, enc: japanese.ShiftJIS},
	{name: "EUC-JP", enc: japanese.EUCJP},
	{name: "EUC-KR", aliases: []string{"CP949", "UHC"}, enc: korean.EUCKR},
	{name: "ISO-8859-1", aliases: []string{"Latin-1", "L1", "CP819"}, enc: charmap.ISO8859_1, ffText: true},
	{name: "ISO-8859-15", aliases: []string{"Latin-9", "L9"}, enc: charmap.ISO8859_15, ffText: true},
	{name: "Windows-1252", aliases: []string{"CP1252"}, enc: charmap.Windows1252, ffText: true},
}

// utf8Charset is the charset of a connection that has not picked one.
var utf8Charset = charsets[0]

// utf8Conn is implemented by connections whose clients speak UTF-8
// whatever Server.Charset says, such as a browser's WebSocket (whose
// text messages are UTF-8): their sessions start in UTF-8.
type utf8Conn interface{ utf8Only() }

// connCharset returns the charset a session on c starts in.
func (s *Server) connCharset(c net.Conn) *charset {
	if _, ok := c.(utf8Conn); ok {
		return utf8Charset
	}
	return s.set.charset
}

// charsetKey is name in lower case with only its letters and digits, so
// that "Shift-JIS", "shift_jis" and "SHIFTJIS" are the same.
func charsetKey(name string) string {
	return strings.Map(func(r rune) rune {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return unicode.ToLower(r)
		}
		return -1
	}, name)
}

// charsetNames lists the names of the charsets, for error texts.
func charsetNames() string {
	names := make([]string, len(charsets))
	for i, cs := range charsets {
		names[i] = cs.name
	}
	return strings.Join(names, ", ")
}

// lookupCharset returns the charset called name, or one of its aliases,
// without regard to case, spaces and punctuation.
func lookupCharset(name string) (*charset, bool) {
	key := charsetKey(name)
	for _, cs := range charsets {
		if charsetKey(cs.name) == key {
			return cs, true
		}
		for _, a := range cs.aliases {
			if charsetKey(a) == key {
				return cs, true
			}
		}
	}
	return nil, false
}

// resolveCharset resolves the Server's Charset field: UTF-8 when empty.
func resolveCharset(r *opt.Resolver, name string) *charset {
	if name == "" {
		return utf8Charset
	}
	cs, ok := lookupCharset(name)
	if !ok {
		r.Fail("Charset", name, "is not a charset the server knows ("+charsetNames()+")")
		return utf8Charset
	}
	return cs
}

// appendTransform appends to dst what t makes of all of src. Where t
// fails on a character (one that an encoder cannot represent), repl
// stands for it. Once dst has room it allocates nothing.
func appendTransform(dst []byte, t transform.Transformer, src []byte, repl string) []byte {
	t.Reset()
	if room := cap(dst) - len(dst); room < len(src) {
		dst = slices.Grow(dst, len(src))
	}
	for {
		nDst, nSrc, err := t.Transform(dst[len(dst):cap(dst)], src, true)
		dst = dst[:len(dst)+nDst]
		src = src[nSrc:]
		switch {
		case err == nil || len(src) == 0:
			return dst
		case err == transform.ErrShortDst:
			dst = slices.Grow(dst, 2*len(src)+utf8.UTFMax)
		default:
			_, size := utf8.DecodeRune(src)
			dst = append(dst, repl...)
			src = src[size:]
			t.Reset()
		}
	}
}
