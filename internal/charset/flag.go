package charset

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// Flag is the -charset flag of the example programs: the charset of the
// terminal or of the peer, for what a program reads and prints. Its zero
// value is UTF-8. It implements flag.Value:
//
//	var cs charset.Flag
//	fs.Var(&cs, "charset", charset.Usage("the message and the reply"))
type Flag struct {
	name string
	enc  encoding.Encoding // nil: UTF-8
}

// Usage returns the usage text of a -charset flag that applies to what.
func Usage(what string) string {
	return "the charset `NAME` of " + what + ": " + strings.Join(Names(), ", ") + ", or another IANA or WHATWG name (default UTF-8)"
}

func (f *Flag) String() string { return f.name }

// Set looks name up ([Lookup]).
func (f *Flag) Set(name string) error {
	enc, err := Lookup(name)
	if err != nil {
		return err
	}
	f.name, f.enc = name, enc
	return nil
}

// Encoding returns the charset, nil for UTF-8 (the default).
func (f *Flag) Encoding() encoding.Encoding { return f.enc }

// Encode returns the bytes of s in the charset; a character the charset
// cannot hold is an error that names the flag.
func (f *Flag) Encode(s string) ([]byte, error) {
	if f.enc == nil {
		return []byte(s), nil
	}
	b, err := Encode(f.enc, s)
	if err != nil {
		return nil, fmt.Errorf("-charset %s: %w", f.name, err)
	}
	return b, nil
}

// Decode returns b, text in the charset, as UTF-8 (invalid bytes become
// U+FFFD). It does not sanitise: what goes to a terminal still goes
// through textsafe.
func (f *Flag) Decode(b []byte) string {
	if f.enc == nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return Decode(f.enc, b)
}

// Writer returns w, taking UTF-8 text and writing it in the charset. Each
// Write must hold whole characters, as fmt's do; a character the charset
// lacks is written as '?'.
func (f *Flag) Writer(w io.Writer) io.Writer {
	if f.enc == nil {
		return w
	}
	return &lossyWriter{w: w, enc: f.enc}
}

// Reader returns r, text in the charset, read as UTF-8.
func (f *Flag) Reader(r io.Reader) io.Reader {
	if f.enc == nil {
		return r
	}
	return transform.NewReader(r, f.enc.NewDecoder())
}

// lossyWriter writes UTF-8 text to w in a charset, '?' for what it lacks.
type lossyWriter struct {
	w   io.Writer
	enc encoding.Encoding
}

func (e *lossyWriter) Write(p []byte) (int, error) {
	b, err := Encode(e.enc, string(p))
	if err != nil {
		s := strings.Map(func(r rune) rune {
			if _, err := Encode(e.enc, string(r)); err != nil {
				return '?'
			}
			return r
		}, strings.ToValidUTF8(string(p), "?"))
		if b, err = Encode(e.enc, s); err != nil {
			return 0, err
		}
	}
	if _, err := e.w.Write(b); err != nil {
		return 0, err
	}
	return len(p), nil
}
