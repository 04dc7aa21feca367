package echo

import (
	"bytes"
	"net"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/transform"

	"github.com/sockkit/sockkit/internal/textsafe"
)

// Upper returns a transformer that maps UTF-8 text to upper case, as the
// tutorials' echo server does. It follows the Unicode case mappings (ß
// becomes SS) and is safe on a stream: a character whose bytes arrive in
// two reads is held back until it is whole. Bytes that are not valid
// UTF-8 pass through unchanged. Use it as [Server.Transform] and
// [Client.Transform]:
//
//	srv := &echo.Server{Transform: echo.Upper}
func Upper() transform.Transformer {
	return cases.Upper(language.Und)
}

// MaxNameLen is the longest name [Hello] greets, in bytes.
const MaxNameLen = 64

// Hello is the [PacketHandler] of the tutorials' UDP server: a datagram
// holding a name gets "Hello, <name>!" back. Surrounding white space is
// trimmed; control characters, escape sequences and bidirectional
// controls are removed. Names that are empty, longer than MaxNameLen
// bytes or not valid UTF-8 get no reply. The reply is 8 bytes longer than
// the name, well within the [AmplificationFactor] rule.
func Hello(reply, req []byte, _ net.Addr) []byte {
	name := bytes.TrimSpace(req)
	if len(name) == 0 || len(name) > MaxNameLen || !utf8.Valid(name) {
		return nil
	}
	clean := textsafe.Clean(string(name))
	if clean == "" {
		return nil
	}
	reply = append(reply, "Hello, "...)
	reply = append(reply, clean...)
	return append(reply, '!')
}
