package natshub

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// The header of every room line that a Hub publishes: the publishing
// server's ID and the line's number among that server's lines.
const originHeader = "Sockkit-Origin"

// idLen is the length of a server ID: 16 lower-case hex digits.
const idLen = 16

// maxLineBytes bounds a room or private line taken from NATS: the
// longest line a chat.Server can send, with room for its fields.
const maxLineBytes = chat.MaxMaxLineBytes + 256

// errBadWire is wrapped by the errors of the decoders below.
var errBadWire = errors.New("natshub: malformed message from NATS")

// origin says where a room line comes from.
type origin struct {
	server string // ID of the publishing Hub
	seq    uint64 // 1, 2, ... for its lines
}

func (o origin) String() string { return o.server + " " + strconv.FormatUint(o.seq, 10) }

// parseOrigin reads the value of the origin header: "ID SEQ".
func parseOrigin(s string) (origin, error) {
	id, n, ok := strings.Cut(s, " ")
	if !ok || !validID(id) {
		return origin{}, fmt.Errorf("%w: origin %.40q", errBadWire, s)
	}
	seq, err := strconv.ParseUint(n, 10, 64)
	if err != nil || seq == 0 || n[0] == '+' || n[0] == '0' {
		return origin{}, fmt.Errorf("%w: origin %.40q", errBadWire, s)
	}
	return origin{server: id, seq: seq}, nil
}

// validID reports whether s is a server ID.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// entry is the value of one nickname in the directory: the server whose
// client has it, the room that client is in ("" for none) and the
// nickname as the client spelled it.
type entry struct {
	server, room, nick string
}

// encode returns the value stored for e: "ID ROOM NICK", with "-" for
// no room (no room name starts with "-").
func (e entry) encode() []byte {
	room := e.room
	if room == "" {
		room = "-"
	}
	return []byte(e.server + " " + room + " " + e.nick)
}

// parseEntry reads a directory value; key is the folded nickname it is
// stored under, which the value's nickname must fold to.
func parseEntry(key string, b []byte) (entry, error) {
	f := strings.Split(string(b), " ")
	if len(f) != 3 || !validID(f[0]) || !chat.ValidNick(f[2]) || strings.ToLower(f[2]) != key {
		return entry{}, fmt.Errorf("%w: directory entry %.60q", errBadWire, b)
	}
	e := entry{server: f[0], nick: f[2]}
	if f[1] != "-" {
		if !chat.ValidRoom(f[1]) || strings.ToLower(f[1]) != f[1] {
			return entry{}, fmt.Errorf("%w: directory entry %.60q", errBadWire, b)
		}
		e.room = f[1]
	}
	return e, nil
}

// roomKinds are the kinds of line that a chat.Server publishes to a room.
var roomKinds = map[chat.Kind]bool{
	chat.KindMessage: true, chat.KindAction: true, chat.KindJoin: true,
	chat.KindPart: true, chat.KindQuit: true, chat.KindNick: true,
}

// checkLine reports whether b, taken from NATS, is one server line that a
// chat.Server could have sent, of one of kinds, safe to hand to clients
// as it is: one line ended by "\n", with valid names, and text that
// is valid UTF-8 without control characters (the fields are checked by
// name rules, which allow ASCII alone). It returns the parsed line.
func checkLine(b []byte, kinds map[chat.Kind]bool) (chat.Event, error) {
	bad := func(why string) (chat.Event, error) {
		return chat.Event{}, fmt.Errorf("%w: %s: %.60q", errBadWire, why, b)
	}
	if len(b) > maxLineBytes || len(b) == 0 || b[len(b)-1] != '\n' || bytes.IndexByte(b, '\n') != len(b)-1 || bytes.IndexByte(b, '\r') >= 0 {
		return bad("not one line")
	}
	e, err := chat.ParseEvent(string(b))
	if err != nil {
		return chat.Event{}, fmt.Errorf("%w: %w", errBadWire, err)
	}
	if e.String()+"\n" != string(b) {
		return bad("not as a server writes it")
	}
	if !kinds[e.Kind] {
		return bad("kind")
	}
	if !chat.ValidNick(e.Nick) || e.Target != "" && !chat.ValidNick(e.Target) || e.Kind == chat.KindNick && e.Target == "" {
		return bad("nickname")
	}
	if e.Room != "" && (!chat.ValidRoom(e.Room) || strings.ToLower(e.Room) != e.Room) {
		return bad("room")
	}
	if err := textsafe.Check(e.Text); err != nil {
		return chat.Event{}, fmt.Errorf("%w: text: %w", errBadWire, err)
	}
	return e, nil
}

// checkRoomLine is checkLine for a line published to room.
func checkRoomLine(room string, b []byte) error {
	e, err := checkLine(b, roomKinds)
	if err == nil && e.Room != room {
		err = fmt.Errorf("%w: line for room %q published to %q", errBadWire, e.Room, room)
	}
	return err
}
