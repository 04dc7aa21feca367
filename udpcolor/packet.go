package udpcolor

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of the protocol. See the package documentation for the format.
const (
	// MaxDatagram is the largest datagram either side sends or accepts,
	// in bytes. It fits the smallest path MTU of IPv6 (1,280 bytes) with
	// room for the IP and UDP headers, so datagrams are never fragmented.
	MaxDatagram = 1200
	// MinJoin is the smallest join datagram the server answers: a client
	// pads its join with spaces up to this size, so that the server's
	// reply (a cookie or an error) is never larger than what it received.
	MinJoin = 256
	// MaxName is the longest name, in bytes.
	MaxName = 32
	// MaxText is the longest message text, in bytes. A relayed message
	// (verb, name, separator and text) then still fits in MaxDatagram.
	MaxText = 1024
	// MaxDetail is the longest detail of an error datagram, in bytes.
	MaxDetail = 128
	// Version is the version of the protocol, carried by the verb of a
	// join ("join/2"). The first version, whose join verb was "join"
	// and whose member datagrams carried no MAC, is refused with the
	// error code [CodeVersion].
	Version = 2
)

// Kind is the verb of a datagram.
type Kind uint8

// The kinds of datagram. Clients send join, msg, ping and leave; the
// server sends cookie, welcome, relay, bye, error and plain. A member's
// msg, ping and leave carry a counter (SEQ) and a MAC under the key of
// its welcome.
const (
	KindJoin    Kind = iota + 1 // "join/2 NAME [COOKIE]", padded to MinJoin bytes
	KindCookie                  // "cookie NAME COOKIE"
	KindWelcome                 // "welcome NAME KEY"
	KindMsg                     // "msg SEQ MAC TEXT"
	KindRelay                   // "relay NAME : TEXT"
	KindPing                    // "ping SEQ MAC"
	KindLeave                   // "leave SEQ MAC"
	KindBye                     // "bye NAME REASON"
	KindError                   // "error CODE [DETAIL]"
	KindPlain                   // "plain NAME : TEXT", a plain sender's line relayed to members
)

// joinVerb is the verb of a join of this version.
const joinVerb = "join/2"

var kindNames = [...]string{
	KindJoin:    joinVerb,
	KindCookie:  "cookie",
	KindWelcome: "welcome",
	KindMsg:     "msg",
	KindRelay:   "relay",
	KindPing:    "ping",
	KindLeave:   "leave",
	KindBye:     "bye",
	KindError:   "error",
	KindPlain:   "plain",
}

// String returns the verb of k as it appears on the wire.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// signed reports whether datagrams of kind k are a member's, which carry
// a counter and a MAC: msg, ping and leave.
func (k Kind) signed() bool { return k == KindMsg || k == KindPing || k == KindLeave }

// Reasons carried by a bye datagram.
const (
	ByeLeft     = "left"     // the member sent leave
	ByeExpired  = "expired"  // the member was silent for longer than the member timeout
	ByeShutdown = "shutdown" // the server is shutting down
)

// Codes carried by an error datagram.
const (
	CodeBadRequest = "bad-request"  // the datagram does not parse
	CodeNameTaken  = "name-taken"   // another address holds the name
	CodeFull       = "full"         // the member table is full
	CodeAddrFull   = "address-full" // the source address has as many members as the server allows one address
	CodeBadCookie  = "bad-cookie"   // the cookie is forged, expired or for another address or name
	CodeNotMember  = "not-member"   // msg from an address that has not joined (or has expired)
	CodeVersion    = "version"      // a join of another version of the protocol
)

// Packet is one datagram of the protocol, parsed. Which fields are set
// depends on Kind:
//
//	join     Name, Cookie (empty on the first join)
//	cookie   Name, Cookie
//	welcome  Name, Key
//	msg      Seq, MAC, Text
//	relay    Name, Text
//	plain    Name, Text (a plain sender's name and line)
//	ping     Seq, MAC
//	leave    Seq, MAC
//	bye      Name, Text (the reason)
//	error    Code, Text (the detail, may be empty)
//
// [Key.Sign] sets the MAC of a msg, ping or leave, and [Key.Verify]
// checks it.
type Packet struct {
	Kind   Kind
	Name   string
	Cookie string
	Code   string
	Text   string
	Key    Key           // the member's key, in a welcome
	Seq    uint64        // the member's counter, from 1, in a msg, ping or leave
	MAC    [MACSize]byte // the MAC of a msg, ping or leave under the member's key
}

// ParseError is returned by [Parse] for a datagram that breaks the
// protocol. It wraps [ErrMalformed].
type ParseError struct {
	Kind   Kind   // the verb, if it was recognised
	Reason string // what is wrong
}

func (e *ParseError) Error() string {
	if e.Kind != 0 {
		return "udpcolor: malformed " + e.Kind.String() + " datagram: " + e.Reason
	}
	return "udpcolor: malformed datagram: " + e.Reason
}

// Unwrap returns [ErrMalformed].
func (e *ParseError) Unwrap() error { return ErrMalformed }

// ErrMalformed is wrapped by every error of [Parse].
var ErrMalformed = errors.New("udpcolor: malformed datagram")

func bad(k Kind, reason string) error { return &ParseError{Kind: k, Reason: reason} }

// ValidName reports whether name may be used in a join: 1 to [MaxName]
// bytes of ASCII letters, digits, '-', '_' and '.', starting with a letter
// or a digit. Names are unique per server regardless of case.
func ValidName(name string) bool {
	if len(name) == 0 || len(name) > MaxName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case i > 0 && (c == '-' || c == '_' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// validToken reports whether s is a cookie or an error code: 1 to 64
// bytes of ASCII letters, digits, '-' and '_'.
func validToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// b64 encodes keys and MACs: base64url without padding (RFC 4648
// section 5), strict, so that each value has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// Lengths of a key and a MAC in base64url.
var (
	keyChars = b64.EncodedLen(KeySize)
	macChars = b64.EncodedLen(MACSize)
)

// parseSeq parses a counter: 1 to 20 decimal digits without a leading
// zero, from 1 to 2^64-1.
func parseSeq(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// parseProof parses the "SEQ MAC" that starts s into p, and returns
// what follows them after one space, if anything does.
func parseProof(p *Packet, s string) (rest string, hasRest, ok bool) {
	seq, s, _ := strings.Cut(s, " ")
	mac, rest, hasRest := strings.Cut(s, " ")
	var valid bool
	if p.Seq, valid = parseSeq(seq); !valid || len(mac) != macChars {
		return "", false, false
	}
	if n, err := b64.Decode(p.MAC[:], []byte(mac)); err != nil || n != MACSize {
		return "", false, false
	}
	return rest, hasRest, true
}

// validText reports whether s may be the text of a msg or relay: 1 to
// [MaxText] bytes with no CR or LF. Other control characters are allowed
// on the wire; receivers remove them before printing.
func validText(s string) bool {
	return len(s) > 0 && len(s) <= MaxText && !strings.ContainsAny(s, "\r\n")
}

// Parse parses one datagram. The whole datagram must be valid UTF-8 and
// at most [MaxDatagram] bytes; one trailing LF or CRLF is ignored, and so
// are the spaces that pad a join. Parse does not check the size of a join
// against [MinJoin]: the server does, because it depends on the sender.
// Every error wraps [ErrMalformed].
func Parse(b []byte) (Packet, error) {
	if len(b) > MaxDatagram {
		return Packet{}, bad(0, fmt.Sprintf("%d bytes, more than %d", len(b), MaxDatagram))
	}
	if !utf8.Valid(b) {
		return Packet{}, bad(0, "not UTF-8")
	}
	s := string(b)
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	verb, rest, hasRest := strings.Cut(s, " ")
	var p Packet
	switch verb {
	case joinVerb:
		p.Kind = KindJoin
		rest = strings.TrimRight(rest, " ")
		name, cookie, hasCookie := strings.Cut(rest, " ")
		if !ValidName(name) {
			return Packet{}, bad(p.Kind, "bad name")
		}
		if hasCookie && !validToken(cookie) {
			return Packet{}, bad(p.Kind, "bad cookie")
		}
		p.Name, p.Cookie = name, cookie
	case "cookie":
		p.Kind = KindCookie
		name, cookie, _ := strings.Cut(rest, " ")
		if !ValidName(name) || !validToken(cookie) {
			return Packet{}, bad(p.Kind, "want NAME COOKIE")
		}
		p.Name, p.Cookie = name, cookie
	case "welcome":
		p.Kind = KindWelcome
		name, key, _ := strings.Cut(rest, " ")
		if !ValidName(name) {
			return Packet{}, bad(p.Kind, "bad name")
		}
		if len(key) != keyChars {
			return Packet{}, bad(p.Kind, "bad key")
		}
		if n, err := b64.Decode(p.Key[:], []byte(key)); err != nil || n != KeySize {
			return Packet{}, bad(p.Kind, "bad key")
		}
		p.Name = name
	case "msg":
		p.Kind = KindMsg
		text, _, ok := parseProof(&p, rest)
		if !ok {
			return Packet{}, bad(p.Kind, "want SEQ MAC TEXT")
		}
		if !validText(text) {
			return Packet{}, bad(p.Kind, "text empty, too long or not one line")
		}
		p.Text = text
	case "relay", "plain":
		p.Kind = KindRelay
		if verb == "plain" {
			p.Kind = KindPlain
		}
		name, text, ok := strings.Cut(rest, " : ")
		if !ok || !ValidName(name) || !validText(text) {
			return Packet{}, bad(p.Kind, "want NAME : TEXT")
		}
		p.Name, p.Text = name, text
	case "ping", "leave":
		p.Kind = KindPing
		if verb == "leave" {
			p.Kind = KindLeave
		}
		_, extra, ok := parseProof(&p, rest)
		if !ok {
			return Packet{}, bad(p.Kind, "want SEQ MAC")
		}
		if extra {
			return Packet{}, bad(p.Kind, "unexpected argument")
		}
	case "bye":
		p.Kind = KindBye
		name, reason, _ := strings.Cut(rest, " ")
		if !ValidName(name) || !validToken(reason) {
			return Packet{}, bad(p.Kind, "want NAME REASON")
		}
		p.Name, p.Text = name, reason
	case "error":
		p.Kind = KindError
		code, detail, _ := strings.Cut(rest, " ")
		if !validToken(code) || len(detail) > MaxDetail || strings.ContainsAny(detail, "\r\n") {
			return Packet{}, bad(p.Kind, "want CODE [DETAIL]")
		}
		p.Code, p.Text = code, detail
	default:
		return Packet{}, bad(0, "unknown verb")
	}
	if !hasRest {
		return Packet{}, bad(p.Kind, "missing argument")
	}
	return p, nil
}

// Append appends the datagram for p to b and returns it. It checks p as
// [Parse] would, and pads a join with spaces to [MinJoin] bytes. The
// result is at most [MaxDatagram] bytes and parses back to p.
func (p Packet) Append(b []byte) ([]byte, error) {
	start := len(b)
	fail := func(reason string) ([]byte, error) { return b[:start], bad(p.Kind, reason) }
	b = append(b, p.Kind.String()...)
	switch p.Kind {
	case KindJoin:
		if !ValidName(p.Name) {
			return fail("bad name")
		}
		b = append(append(b, ' '), p.Name...)
		if p.Cookie != "" {
			if !validToken(p.Cookie) {
				return fail("bad cookie")
			}
			b = append(append(b, ' '), p.Cookie...)
		}
		for len(b)-start < MinJoin {
			b = append(b, ' ')
		}
	case KindCookie:
		if !ValidName(p.Name) || !validToken(p.Cookie) {
			return fail("bad name or cookie")
		}
		b = append(append(append(append(b, ' '), p.Name...), ' '), p.Cookie...)
	case KindWelcome:
		if !ValidName(p.Name) {
			return fail("bad name")
		}
		b = append(append(b, ' '), p.Name...)
		b = b64.AppendEncode(append(b, ' '), p.Key[:])
	case KindMsg:
		if !validText(p.Text) || !utf8.ValidString(p.Text) {
			return fail("text empty, too long, not one line or not UTF-8")
		}
		if p.Seq == 0 {
			return fail("counter 0")
		}
		b = appendProof(b, p)
		b = append(append(b, ' '), p.Text...)
	case KindRelay, KindPlain:
		if !ValidName(p.Name) || !validText(p.Text) || !utf8.ValidString(p.Text) {
			return fail("bad name or text")
		}
		b = append(append(append(append(b, ' '), p.Name...), " : "...), p.Text...)
	case KindPing, KindLeave:
		if p.Seq == 0 {
			return fail("counter 0")
		}
		b = appendProof(b, p)
	case KindBye:
		if !ValidName(p.Name) || !validToken(p.Text) {
			return fail("bad name or reason")
		}
		b = append(append(append(append(b, ' '), p.Name...), ' '), p.Text...)
	case KindError:
		if !validToken(p.Code) || len(p.Text) > MaxDetail || strings.ContainsAny(p.Text, "\r\n") || !utf8.ValidString(p.Text) {
			return fail("bad code or detail")
		}
		b = append(append(b, ' '), p.Code...)
		if p.Text != "" {
			b = append(append(b, ' '), p.Text...)
		}
	default:
		return fail("unknown kind")
	}
	return b, nil
}

// appendProof appends " SEQ MAC" of p to b.
func appendProof(b []byte, p Packet) []byte {
	b = strconv.AppendUint(append(b, ' '), p.Seq, 10)
	return b64.AppendEncode(append(b, ' '), p.MAC[:])
}

// otherVersionJoin reports whether b is a join of another version of the
// protocol: its verb is "join" (the first version) or "join/N" for
// another N.
func otherVersionJoin(b []byte) bool {
	verb, _, _ := strings.Cut(string(b), " ")
	verb = strings.TrimRight(verb, "\r\n")
	return verb == "join" || strings.HasPrefix(verb, "join/") && verb != joinVerb
}
