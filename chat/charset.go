package chat

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	icharset "github.com/sockkit/sockkit/internal/charset"
	"github.com/sockkit/sockkit/internal/opt"
)

// charset is a character set a connection may speak. Every one of them
// writes ASCII as ASCII, so that "\n", "/" and the protocol's keywords
// are the same bytes in all, and none has a state that runs from one line
// to the next, so that each line is decoded, and encoded, on its own.
type charset struct {
	name string            // as /charset shows it
	enc  encoding.Encoding // nil for UTF-8
	// ffText says that the byte 0xff is a character (ÿ), not only
	// telnet's IAC: a telnet client then gets it doubled.
	ffText bool
}

// charsets are the ones a server knows, UTF-8 first. Names are looked up
// with internal/charset, as every example program's -charset is.
var charsets = []*charset{
	{name: "UTF-8"},
	{name: "GBK", enc: simplifiedchinese.GBK},
	{name: "GB18030", enc: simplifiedchinese.GB18030},
	{name: "Big5", enc: traditionalchinese.Big5},
	{name: "Shift_JIS", enc: japanese.ShiftJIS},
	{name: "EUC-JP", enc: japanese.EUCJP},
	{name: "EUC-KR", enc: korean.EUCKR},
	{name: "ISO-8859-1", enc: charmap.ISO8859_1, ffText: true},
	{name: "ISO-8859-15", enc: charmap.ISO8859_15, ffText: true},
	{name: "Windows-1252", enc: charmap.Windows1252, ffText: true},
}

// utf8Charset is the charset of a connection that has not picked one.
var utf8Charset = charsets[0]

// utf8Conn is implemented by connections whose clients speak UTF-8
// whatever Server.Charset says, such as a browser's WebSocket (whose
// text messages are UTF-8): their sessions are in UTF-8, which /charset
// cannot change.
type utf8Conn interface{ utf8Only() }

// utf8Only makes a browser's session UTF-8 alone.
func (*wsConn) utf8Only() {}

// isUTF8Conn reports whether c is a [utf8Conn].
func isUTF8Conn(c net.Conn) bool {
	_, ok := c.(utf8Conn)
	return ok
}

// connCharset returns the charset a session on c starts in.
func (s *Server) connCharset(c net.Conn) *charset {
	if isUTF8Conn(c) {
		return utf8Charset
	}
	return s.set.charset
}

// charsetNames lists the names of the charsets, for error texts.
func charsetNames() string {
	names := make([]string, len(charsets))
	for i, cs := range charsets {
		names[i] = cs.name
	}
	return strings.Join(names, ", ")
}

// lookupCharset returns the charset called name, by any of the names
// internal/charset knows for it ("gb2312", "Shift-JIS", "latin1"), or
// why there is none: the name is unknown, or its charset cannot carry
// the protocol's lines.
func lookupCharset(name string) (*charset, error) {
	e, err := icharset.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("no charset %s; the server knows %s", name, charsetNames())
	}
	for _, cs := range charsets {
		if cs.enc == e || cs.enc == nil && e == unicode.UTF8 {
			return cs, nil
		}
	}
	return nil, fmt.Errorf("%s cannot carry this chat's lines; the server knows %s", name, charsetNames())
}

// resolveCharset resolves the Server's Charset field: UTF-8 when empty.
func resolveCharset(r *opt.Resolver, name string) *charset {
	if name == "" {
		return utf8Charset
	}
	cs, err := lookupCharset(name)
	if err != nil {
		r.Fail("Charset", name, err.Error())
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
