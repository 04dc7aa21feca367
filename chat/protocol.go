package chat

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the first word of a line the server sends. It says what the
// line is, and which fields follow it; see the package documentation.
type Kind string

// The kinds of line a server sends, in the order they usually appear.
const (
	KindHello   Kind = "HELLO"   // HELLO text: greeting, asks for a nickname
	KindWelcome Kind = "WELCOME" // WELCOME nick text: the nickname was accepted
	KindMessage Kind = "MSG"     // MSG room nick text: a message to a room
	KindAction  Kind = "ME"      // ME room nick text: an action (/me)
	KindPrivate Kind = "PRIV"    // PRIV from to text: a private message
	KindJoin    Kind = "JOIN"    // JOIN room nick: nick entered room
	KindPart    Kind = "PART"    // PART room nick: nick left room for another
	KindQuit    Kind = "QUIT"    // QUIT room nick [reason]: nick left the server
	KindNick    Kind = "NICK"    // NICK room old new: old is now called new
	KindRooms   Kind = "ROOMS"   // ROOMS room=count ...: the answer to /rooms
	KindWho     Kind = "WHO"     // WHO room nick ...: the answer to /who
	KindInfo    Kind = "INFO"    // INFO text: help and other notices
	KindError   Kind = "ERR"     // ERR code text: a request failed; the session goes on
	KindBye     Kind = "BYE"     // BYE code text: the last line before the server closes
)

// Error codes carried by ERR lines (in [Event.Code]).
const (
	CodeNeedNick       = "need-nick"       // a command that needs a nickname came first
	CodeBadNick        = "bad-nick"        // the nickname breaks the rules
	CodeNickTaken      = "nick-taken"      // someone else has the nickname
	CodeBadRoom        = "bad-room"        // the room name breaks the rules
	CodeNoSuchNick     = "no-such-nick"    // /msg to a nickname nobody has
	CodeUnknownCommand = "unknown-command" // a /command the server does not know
	CodeUsage          = "usage"           // a command with missing or extra arguments
	CodeTooLong        = "too-long"        // the line was longer than the limit; it was dropped
	CodeBadUTF8        = "bad-utf8"        // the line was not valid UTF-8; it was dropped
	CodeBadCharset     = "bad-charset"     // the line was not valid in the client's charset (not UTF-8); it was dropped
	CodeNoSuchCharset  = "no-such-charset" // /charset NAME for a charset the server does not know
	CodeRejected       = "rejected"        // the server's filter refused the message
)

// Reason codes carried by BYE lines (in [Event.Code]).
const (
	ByeQuit     = "quit"     // the client asked to leave (/quit or a quit word)
	ByeShutdown = "shutdown" // the server is shutting down
	ByeIdle     = "idle"     // nothing was received for the idle timeout
	ByeSlow     = "slow"     // the client did not read fast enough
	ByeFull     = "full"     // the server has too many connections, or too many from the client's address
	ByeTimeout  = "timeout"  // no nickname was given within the registration timeout
)

// Event is one parsed line from the server. Which fields are set depends
// on Kind:
//
//	Kind     Room  Nick    Target  Code  Text
//	HELLO                                text
//	WELCOME        nick                  text
//	MSG      room  sender                text
//	ME       room  sender                text
//	PRIV           sender  to            text
//	JOIN     room  nick
//	PART     room  nick
//	QUIT     room  nick                  reason (may be empty)
//	NICK     room  old     new
//	ROOMS                                "room=count room=count ..."
//	WHO      room                        "nick nick ..."
//	INFO                                 text
//	ERR                            code  text
//	BYE                            code  text
type Event struct {
	Kind   Kind
	Room   string
	Nick   string
	Target string
	Code   string
	Text   string
}

// layout gives the number of single-word fields that follow each kind,
// and where they go, before the free text (if the kind has text).
var layout = map[Kind]struct {
	words   []func(e *Event) *string
	hasText bool
}{
	KindHello:   {nil, true},
	KindWelcome: {[]func(*Event) *string{nickF}, true},
	KindMessage: {[]func(*Event) *string{roomF, nickF}, true},
	KindAction:  {[]func(*Event) *string{roomF, nickF}, true},
	KindPrivate: {[]func(*Event) *string{nickF, targetF}, true},
	KindJoin:    {[]func(*Event) *string{roomF, nickF}, false},
	KindPart:    {[]func(*Event) *string{roomF, nickF}, false},
	KindQuit:    {[]func(*Event) *string{roomF, nickF}, true},
	KindNick:    {[]func(*Event) *string{roomF, nickF, targetF}, false},
	KindRooms:   {nil, true},
	KindWho:     {[]func(*Event) *string{roomF}, true},
	KindInfo:    {nil, true},
	KindError:   {[]func(*Event) *string{codeF}, true},
	KindBye:     {[]func(*Event) *string{codeF}, true},
}

func roomF(e *Event) *string   { return &e.Room }
func nickF(e *Event) *string   { return &e.Nick }
func targetF(e *Event) *string { return &e.Target }
func codeF(e *Event) *string   { return &e.Code }

// ErrBadLine is wrapped by the errors [ParseEvent] returns.
var ErrBadLine = errors.New("chat: malformed server line")

// ParseEvent parses one line sent by a server, without its line ending
// (a trailing "\n" or "\r\n" is tolerated). It checks the form of the
// line, not the rules for nicknames or rooms: a client accepts what its
// server sends. Fields are returned as sent; [Conn] also makes them safe
// for a terminal.
func ParseEvent(line string) (Event, error) {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r")
	kw, rest, _ := strings.Cut(line, " ")
	e := Event{Kind: Kind(kw)}
	l, ok := layout[e.Kind]
	if !ok {
		return Event{}, fmt.Errorf("%w: unknown kind %.20q", ErrBadLine, kw)
	}
	hasRest := strings.Contains(line, " ")
	for i, f := range l.words {
		if !hasRest || rest == "" {
			return Event{}, fmt.Errorf("%w: %s needs %d fields, has %d", ErrBadLine, kw, len(l.words), i)
		}
		var w string
		w, rest, hasRest = strings.Cut(rest, " ")
		if w == "" {
			return Event{}, fmt.Errorf("%w: empty field in %s line", ErrBadLine, kw)
		}
		*f(&e) = w
	}
	if hasRest {
		if !l.hasText {
			return Event{}, fmt.Errorf("%w: extra text after %s line", ErrBadLine, kw)
		}
		e.Text = rest
	}
	return e, nil
}

// String returns the line that carries e, without its "\n": the
// inverse of [ParseEvent] for well-formed events.
func (e Event) String() string {
	return string(e.appendLine(nil, false))
}

// appendLine appends the wire form of e to b, with a "\n" if nl.
func (e Event) appendLine(b []byte, nl bool) []byte {
	l := layout[e.Kind]
	b = append(b, e.Kind...)
	for _, f := range l.words {
		b = append(b, ' ')
		b = append(b, *f(&e)...)
	}
	if l.hasText && e.Text != "" {
		b = append(b, ' ')
		b = append(b, e.Text...)
	}
	if nl {
		b = append(b, '\n')
	}
	return b
}

// Nickname and room name rules.
const (
	MaxNickLen = 16 // bytes; a nickname is 1 to 16 of [A-Za-z0-9_-], not starting with '-'
	MaxRoomLen = 24 // bytes; a room name is 1 to 24 of [a-z0-9_-], not starting with '-'
)

// ValidNick reports whether s is a valid nickname: 1 to [MaxNickLen]
// ASCII letters, digits, '_' or '-', not starting with '-'. Nicknames are
// compared without regard to case.
func ValidNick(s string) bool { return validName(s, MaxNickLen) }

// ValidRoom reports whether s is a valid room name before it is folded
// to lower case: the same characters as a nickname, 1 to [MaxRoomLen].
func ValidRoom(s string) bool { return validName(s, MaxRoomLen) }

func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// fold returns the case-folded form of a valid name (ASCII only).
func fold(s string) string { return strings.ToLower(s) }
