package chat

import (
	"bytes"
	"context"
	"crypto/subtle"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/sockkit/sockkit/internal/opt"
	"github.com/sockkit/sockkit/internal/textsafe"
)

// dialect is the protocol a session speaks.
type dialect uint8

const (
	dialectSniff dialect = iota // plain lines, unless the first line is IRC's
	dialectPlain                // plain lines only
	dialectIRC                  // IRC only
)

// Defaults for the zero fields of [IRCOptions].
const (
	DefaultIRCName            = "sockkit"
	DefaultIRCPingInterval    = 2 * time.Minute
	DefaultIRCRegisterTimeout = 30 * time.Second
)

// IRCOptions configures how a [Server] speaks IRC (see the package
// documentation's IRC section). The zero value works.
type IRCOptions struct {
	// Name is the server's name in IRC: the prefix of its replies, the
	// NETWORK in its 005 reply, and the host part of every user's prefix
	// ("alice!alice@sockkit"), which thus shows nobody's address. Empty
	// means DefaultIRCName; it must be 1 to 63 ASCII letters, digits,
	// '.', '-' or '_'.
	Name string

	// Password, if not empty, is the connection password an IRC client
	// must send with PASS before it registers: a client that sends
	// another one, or none, gets 464 and is disconnected. Empty means
	// that PASS is accepted and ignored. Plain-dialect clients have no
	// way to send a password, so on a port that serves both dialects it
	// keeps out IRC clients only.
	Password string

	// MOTD is the message of the day, one line per element, sent after
	// the welcome and for the MOTD command. Nil means none (the client
	// gets 422).
	MOTD []string

	// PingInterval is how long a registered IRC client may send nothing
	// before the server sends it a PING; a client that then sends
	// nothing for as long again is disconnected with
	// "ERROR :Closing link: ping timeout". IRC sessions use this instead
	// of [Server.IdleTimeout], since IRC clients stay connected while
	// their users are idle. Zero means DefaultIRCPingInterval; negative
	// means never.
	PingInterval time.Duration

	// RegisterTimeout bounds the time from connecting (on a port shared
	// with the plain dialect, from the client's first line) to the end of
	// registration (NICK, USER and, if the client started capability
	// negotiation, CAP END); a client that takes longer is disconnected.
	// Zero means DefaultIRCRegisterTimeout; it must not be negative.
	RegisterTimeout time.Duration
}

// ircConfig is IRCOptions with its defaults filled in.
type ircConfig struct {
	name     string
	password string
	motd     []string // cleaned, one line each
	ping     time.Duration
	register time.Duration
}

// resolve checks o and fills in its defaults, recording what is out of
// range in r.
func (o *IRCOptions) resolve(r *opt.Resolver) ircConfig {
	c := ircConfig{
		name:     opt.Or(o.Name, DefaultIRCName),
		password: o.Password,
		ping:     opt.Unlimited(r, "IRC.PingInterval", o.PingInterval, DefaultIRCPingInterval),
		register: opt.Default(r, "IRC.RegisterTimeout", o.RegisterTimeout, DefaultIRCRegisterTimeout),
	}
	r.Check(validServerName(c.name), "IRC.Name", o.Name, "must be 1-63 letters, digits, '.', '-' or '_'")
	for _, l := range o.MOTD {
		for _, part := range strings.Split(l, "\n") {
			c.motd = append(c.motd, ircText(strings.ToValidUTF8(part, "\uFFFD")))
		}
	}
	return c
}

// validServerName reports whether s may be IRCOptions.Name: 1 to 63
// ASCII letters, digits, '.', '-' or '_'.
func validServerName(s string) bool {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"
	return len(s) > 0 && len(s) <= 63 && strings.Trim(s, chars) == ""
}

// mask returns the prefix that stands for nick: "nick!nick@name".
func (c *ircConfig) mask(nick string) string { return nick + "!" + nick + "@" + c.name }

// ServeIRC is [Server.Serve] for a listener whose clients speak IRC
// only, such as one on port 6667: the server sends nothing before the
// client's first line, and every line is IRC. Its clients share rooms
// and nicknames with those of every other Serve and ServeIRC call.
func (s *Server) ServeIRC(ctx context.Context, l net.Listener) error {
	return s.serve(ctx, l, dialectIRC)
}

// fullLine is what a connection past the limit gets before it is closed.
func fullLine(d dialect, text string) []byte {
	if d == dialectIRC {
		return appendIRC(nil, "", "ERROR", "Closing link: "+text)
	}
	return Event{Kind: KindBye, Code: ByeFull, Text: text}.appendLine(nil, true)
}

// ircState is what an IRC session knows beyond a plain one.
type ircState struct {
	cfg        ircConfig
	registered atomic.Bool            // the welcome has been sent
	away       atomic.Pointer[string] // the AWAY message, nil when here
	real       string                 // the real name from USER; set before registered

	// The session goroutine's alone.
	user        bool   // USER was given
	pass        string // from PASS
	capNeg      bool   // CAP LS or REQ came, CAP END not yet
	invisible   bool   // user mode +i, which changes nothing
	regDeadline time.Time
	lastLine    time.Time
	pingSent    bool
	deadline    time.Time // the read deadline set last
	buf         []byte    // for formatting lines

	out  []byte                          // for translating lines; guarded by session.mu
	last *atomic.Pointer[ircTranslation] // the Server's, shared by its IRC sessions
}

// ircTranslation is a room line and its IRC form, kept by the Server for
// the next IRC member of the room: a line published to a room reaches
// its members one after another, and the IRC form of a room line depends
// only on the server's IRC name, so one translation serves them all
// (instead of a parse per member). It is never changed once stored.
type ircTranslation struct {
	line []byte // the plain-dialect line
	name string // the IRC server name in out
	from string // the sender, who does not get its own MSG and ME lines
	own  bool   // from does not get out
	out  []byte
}

// startIRC makes the session an IRC one.
func (ss *session) startIRC() {
	cfg := ss.srv.set.irc
	st := &ircState{cfg: cfg, lastLine: time.Now(), last: &ss.srv.ircLast}
	if cfg.register > 0 {
		st.regDeadline = st.lastLine.Add(cfg.register)
	}
	ss.mu.Lock()
	ss.irc = st
	ss.mu.Unlock()
	ss.dialect = dialectIRC
	ss.maxLine = ircMaxText
}

// ircReader sets lr to IRC's line limit, keeping what it has buffered.
// IRC clients do not speak telnet.
func ircReader(lr *lineReader) {
	lr.max = ircMaxText
	lr.tn = nil
}

// joined reports whether the session is in the chat: it has a nickname
// and, for IRC, has registered. Other sessions call it after finding ss
// by nickname, which orders it after the setting of ss.irc.
func (ss *session) joined() bool {
	return ss.Nick() != "" && (ss.irc == nil || ss.irc.registered.Load())
}

// awayMessage returns the AWAY message of an IRC session that has one.
func (ss *session) awayMessage() string {
	if ss.irc != nil {
		if a := ss.irc.away.Load(); a != nil {
			return *a
		}
	}
	return ""
}

// ircDeadline sets the read deadline an IRC session waits for: the end
// of registration, the next PING, or the end of the wait for an answer.
// Like the idle timeout, it moves at most about once a second (or an
// eighth of the ping interval, if that is shorter).
func (ss *session) ircDeadline() {
	st := ss.irc
	d := st.readDeadline()
	step := min(time.Second, st.cfg.ping/8)
	if d.Equal(st.deadline) || !d.IsZero() && !st.deadline.IsZero() && d.After(st.deadline) && d.Sub(st.deadline) < step {
		return
	}
	ss.c.SetReadDeadline(d)
	st.deadline = d
}

// readDeadline returns when the session waits for until: the end of
// registration, the next PING, or the end of the wait for an answer;
// zero for never.
func (st *ircState) readDeadline() time.Time {
	switch {
	case !st.registered.Load():
		return st.regDeadline
	case st.cfg.ping > 0:
		return st.lastLine.Add(st.cfg.ping)
	}
	return time.Time{}
}

// ircTimeout handles a read deadline: it ends the session (registration
// or ping timed out) or sends a PING and returns nil.
func (ss *session) ircTimeout() *reason {
	st := ss.irc
	st.deadline = time.Time{} // it has passed: ircDeadline sets the next
	now := time.Now()
	switch {
	case !st.registered.Load():
		if !st.regDeadline.IsZero() && !now.Before(st.regDeadline) {
			return &reason{ByeIdle, "registration timed out", "registration timed out"}
		}
	case st.pingSent:
		return &reason{ByeIdle, "ping timeout", "ping timeout"}
	case st.cfg.ping > 0 && now.Sub(st.lastLine) >= st.cfg.ping:
		ss.ircSend("", "PING", st.cfg.name)
		st.pingSent = true
		st.lastLine = now // the answer has one more interval
	}
	return nil
}

// ircHandle acts on one line from an IRC client and returns a reason
// when the session must end.
func (ss *session) ircHandle(raw []byte) *reason {
	st := ss.irc
	st.lastLine, st.pingSent = time.Now(), false
	if len(raw) > ircMaxText { // the first line, read with the plain limit
		ss.ircReply("417", "Input line was too long")
		return nil
	}
	m, err := parseIRC(string(raw))
	if !utf8.Valid(raw) {
		cmd := "*"
		if err == nil {
			cmd = m.Command
		}
		ss.ircSend(st.cfg.name, "FAIL", cmd, "INVALID_UTF8", "Message rejected: this server takes UTF-8 only")
		return nil
	}
	switch err {
	case nil:
	case errIRCEmpty:
		return nil
	default:
		ss.ircReply("421", echo(m.Command), "Unknown command")
		return nil
	}
	registered := st.registered.Load()
	switch m.Command {
	case "PING":
		if m.arg(0) == "" {
			ss.ircReply("409", "No origin specified")
		} else {
			ss.ircSend(st.cfg.name, "PONG", st.cfg.name, echo(m.arg(0)))
		}
		return nil
	case "PONG":
		return nil
	case "QUIT":
		return &reason{ByeQuit, "goodbye", ircText(m.arg(0))}
	case "CAP":
		ss.ircCap(&m)
	case "NICK":
		ss.ircNick(&m)
	case "PASS", "USER":
		switch {
		case registered:
			ss.ircReply("462", "You may not reregister")
		case m.Command == "PASS" && len(m.Params) < 1, m.Command == "USER" && len(m.Params) < 4:
			ss.ircReply("461", m.Command, "Not enough parameters")
		case m.Command == "PASS":
			st.pass = m.Params[0]
		default:
			st.user = true
			st.real = echo(m.Params[3])
		}
	default:
		if !registered {
			ss.ircReply("451", "You have not registered")
			return nil
		}
		ss.ircCommand(&m)
		return nil
	}
	if !registered {
		return ss.ircRegister()
	}
	return nil
}

// echo makes a parameter from a client fit to be sent back or shown:
// cleaned, and at most 64 bytes.
func echo(s string) string {
	return ircText(s[:utf8Prefix(s, 64)])
}

// ircRegister completes the registration once NICK and USER have come
// and capability negotiation, if any, has ended.
func (ss *session) ircRegister() *reason {
	st := ss.irc
	nick := ss.Nick()
	if nick == "" || !st.user || st.capNeg {
		return nil
	}
	if st.cfg.password != "" && subtle.ConstantTimeCompare([]byte(st.pass), []byte(st.cfg.password)) != 1 {
		ss.ircReply("464", "Password incorrect")
		return &reason{ByeQuit, "password incorrect", ""}
	}
	c := &st.cfg
	ss.ircReply("001", "Welcome to the "+c.name+" IRC network, "+c.mask(nick))
	ss.ircReply("002", "Your host is "+c.name+", running sockkit chat")
	ss.ircReply("003", "This server serves IRC and plain text lines in the same rooms")
	ss.ircReply("004", c.name, "sockkit", "i", "nt")
	ss.ircReply("005", "CHANTYPES=#", "CHANLIMIT=#:1", "NICKLEN="+strconv.Itoa(MaxNickLen),
		"CHANNELLEN="+strconv.Itoa(1+MaxRoomLen), "CASEMAPPING=ascii", "UTF8ONLY", "NETWORK="+c.name,
		"PREFIX=", "CHANMODES=,,,nt", "TARGMAX=PRIVMSG:1,NOTICE:1", "SAFELIST", "are supported by this server")
	ss.ircMOTD()
	st.registered.Store(true)
	ss.srv.log(slog.LevelInfo, "chat: session started", "remote", ss.c.RemoteAddr(), "nick", nick, "dialect", "irc")
	ss.move(ss.srv.room)
	ss.ircNames(ss.room)
	return nil
}

func (ss *session) ircMOTD() {
	c := &ss.irc.cfg
	if c.motd == nil {
		ss.ircReply("422", "MOTD File is missing")
		return
	}
	ss.ircReply("375", "- "+c.name+" Message of the day - ")
	for _, l := range c.motd {
		ss.ircReply("372", "- "+l)
	}
	ss.ircReply("376", "End of /MOTD command")
}

// ircCap answers capability negotiation (IRCv3 CAP, version 302): the
// server offers no capabilities and refuses every request.
func (ss *session) ircCap(m *ircMessage) {
	st := ss.irc
	to := ss.ircTarget()
	switch sub := strings.ToUpper(m.arg(0)); sub {
	case "LS", "REQ":
		if !st.registered.Load() {
			st.capNeg = true
		}
		if sub == "LS" {
			ss.ircSend(st.cfg.name, "CAP", to, "LS", "")
		} else {
			ss.ircSend(st.cfg.name, "CAP", to, "NAK", echo(m.arg(1)))
		}
	case "LIST":
		ss.ircSend(st.cfg.name, "CAP", to, "LIST", "")
	case "END":
		st.capNeg = false
	case "":
		ss.ircReply("461", "CAP", "Not enough parameters")
	default:
		ss.ircReply("410", echo(sub), "Invalid CAP command")
	}
}

// ircNick takes or changes the nickname.
func (ss *session) ircNick(m *ircMessage) {
	name := m.arg(0)
	switch {
	case name == "":
		ss.ircReply("431", "No nickname given")
		return
	case !ValidNick(name):
		ss.ircReply("432", echo(name), "Erroneous nickname")
		return
	}
	old := ss.Nick()
	if old == name {
		return
	}
	if !ss.srv.claimNick(ss, old, name) {
		ss.ircReply("433", name, "Nickname is already in use")
		return
	}
	ss.nick.Store(&name)
	switch {
	case !ss.irc.registered.Load():
	case ss.room != "":
		ss.publish(ss.room, Event{Kind: KindNick, Room: ss.room, Nick: old, Target: name})
	default: // in no room: nobody else sees it
		ss.ircSendWords(ss.irc.cfg.mask(old), "NICK", name)
	}
}

// ircCommand handles the commands of a registered client.
func (ss *session) ircCommand(m *ircMessage) {
	switch m.Command {
	case "JOIN":
		ss.ircJoin(m)
	case "PART":
		ss.ircPart(m)
	case "PRIVMSG", "NOTICE":
		ss.ircMessage(m)
	case "NAMES":
		ss.ircNamesCmd(m)
	case "WHO":
		ss.ircWho(m)
	case "WHOIS":
		ss.ircWhois(m)
	case "ISON":
		ss.ircIson(m)
	case "LIST":
		ss.ircList(m)
	case "TOPIC":
		ss.ircTopic(m)
	case "MODE":
		ss.ircMode(m)
	case "AWAY":
		if msg := echo(m.arg(0)); strings.TrimSpace(msg) != "" {
			ss.irc.away.Store(&msg)
			ss.ircReply("306", "You have been marked as being away")
		} else {
			ss.irc.away.Store(nil)
			ss.ircReply("305", "You are no longer marked as being away")
		}
	case "MOTD":
		ss.ircMOTD()
	default:
		ss.ircReply("421", m.Command, "Unknown command")
	}
}

// ircRoom returns the room a channel name stands for ("#Go" is "go"),
// and whether the name is valid.
func ircRoom(channel string) (string, bool) {
	if len(channel) < 2 || channel[0] != '#' || !ValidRoom(channel[1:]) {
		return "", false
	}
	return fold(channel[1:]), true
}

// ircChannel returns room's channel and whether it exists: it has
// members, or it is the client's own.
func (ss *session) ircChannel(channel string) (room string, ok bool) {
	room, ok = ircRoom(channel)
	if !ok || room == ss.room {
		return room, ok
	}
	return room, len(ss.srv.hub.Who(room)) > 0
}

// ircJoin moves the client to a channel. A client is in one room at a
// time (CHANLIMIT=#:1): of a list of channels, it joins the last valid
// one, and gets 405 for the others.
func (ss *session) ircJoin(m *ircMessage) {
	if len(m.Params) == 0 {
		ss.ircReply("461", "JOIN", "Not enough parameters")
		return
	}
	if m.Params[0] == "0" {
		ss.move("")
		return
	}
	var rooms []string
	for _, ch := range strings.Split(m.Params[0], ",") {
		if room, ok := ircRoom(ch); ok {
			rooms = append(rooms, room)
		} else {
			ss.ircReply("403", echo(ch), "No such channel")
		}
	}
	if len(rooms) == 0 {
		return
	}
	last := rooms[len(rooms)-1]
	for _, room := range rooms[:len(rooms)-1] {
		if room != last {
			ss.ircReply("405", "#"+room, "You may be in one channel at a time")
		}
	}
	if last != ss.room {
		ss.move(last)
		ss.ircNames(last)
	}
}

// ircPart leaves the client's channel; it is then in none.
func (ss *session) ircPart(m *ircMessage) {
	if len(m.Params) == 0 {
		ss.ircReply("461", "PART", "Not enough parameters")
		return
	}
	for _, ch := range strings.Split(m.Params[0], ",") {
		room, ok := ss.ircChannel(ch)
		switch {
		case !ok:
			ss.ircReply("403", echo(ch), "No such channel")
		case room != ss.room:
			ss.ircReply("442", ch, "You're not on that channel")
		default:
			ss.move("")
		}
	}
}

// ircMessage handles PRIVMSG and NOTICE. A NOTICE gets no error
// replies (RFC 2812 section 3.3.2) and is delivered as a message.
func (ss *session) ircMessage(m *ircMessage) {
	notice := m.Command == "NOTICE"
	fail := func(code string, args ...string) {
		if !notice {
			ss.ircReply(code, args...)
		}
	}
	target, text := m.arg(0), m.arg(1)
	switch {
	case target == "":
		fail("411", "No recipient given ("+m.Command+")")
		return
	case text == "":
		fail("412", "No text to send")
		return
	case strings.Contains(target, ","):
		fail("407", echo(target), "Too many recipients")
		return
	}
	kind := KindMessage
	if cmd, arg, ok := ctcp(text); ok {
		if notice {
			return // a CTCP reply; there is nobody to pass it to
		}
		if cmd != "ACTION" {
			ss.ircCTCP(target, cmd, arg)
			return
		}
		kind, text = KindAction, arg
	}
	text = ircText(text)
	if strings.TrimSpace(text) == "" {
		fail("412", "No text to send")
		return
	}
	if strings.HasPrefix(target, "#") {
		room, ok := ss.ircChannel(target)
		switch {
		case !ok:
			fail("403", echo(target), "No such channel")
		case room != ss.room:
			fail("404", target, "Cannot send to channel")
		default:
			ss.say(kind, text)
		}
		return
	}
	name, peer, ok := ss.srv.findNick(target)
	if !ok {
		fail("401", echo(target), "No such nick/channel")
		return
	}
	if peer != nil && !notice {
		if away := peer.awayMessage(); away != "" {
			ss.ircReply("301", name, away)
		}
	}
	if kind == KindAction { // private messages have no action form
		text = "* " + ss.Nick() + " " + text
	}
	ss.private(name, text)
}

// ircCTCP answers a CTCP request other than ACTION on the target's
// behalf, from the server: requests are not passed on, since a client of
// the plain dialect could not answer them and the 0x01 framing does not
// survive the room's text rules.
func (ss *session) ircCTCP(target, cmd, arg string) {
	if strings.HasPrefix(target, "#") {
		if room, ok := ss.ircChannel(target); !ok || room != ss.room {
			ss.ircReply("404", echo(target), "Cannot send to channel")
			return
		}
	} else if _, _, ok := ss.srv.findNick(target); !ok {
		ss.ircReply("401", echo(target), "No such nick/channel")
		return
	}
	var reply string
	switch cmd {
	case "VERSION":
		reply = "VERSION sockkit chat (CTCP is answered by the server)"
	case "PING":
		reply = "PING " + echo(arg)
	case "CLIENTINFO":
		reply = "CLIENTINFO ACTION CLIENTINFO PING VERSION"
	default:
		return
	}
	ss.ircSend(ss.irc.cfg.name, "NOTICE", ss.Nick(), "\x01"+reply+"\x01")
}

// ircNames sends the members of room (353) and the end (366).
func (ss *session) ircNames(room string) {
	if room == "" {
		return
	}
	ch := "#" + room
	ss.ircReplyList("353", []string{"=", ch}, ss.srv.hub.Who(room))
	ss.ircReply("366", ch, "End of /NAMES list")
}

func (ss *session) ircNamesCmd(m *ircMessage) {
	if len(m.Params) == 0 {
		ss.ircNames(ss.room)
		if ss.room == "" {
			ss.ircReply("366", "*", "End of /NAMES list")
		}
		return
	}
	for _, ch := range strings.Split(m.Params[0], ",") {
		if room, ok := ss.ircChannel(ch); ok {
			ss.ircNames(room)
		} else {
			ss.ircReply("366", echo(ch), "End of /NAMES list")
		}
	}
}

// ircWho answers WHO for a channel (the client's own by default) or a
// nickname: a 352 per person, then 315.
func (ss *session) ircWho(m *ircMessage) {
	mask := m.arg(0)
	var nicks []string
	channel := "*"
	switch room, ok := ircRoom(mask); {
	case mask == "" || mask == "*" || mask == "0":
		if ss.room != "" {
			channel = "#" + ss.room
			nicks = ss.srv.hub.Who(ss.room)
		}
	case ok:
		channel = "#" + room
		nicks = ss.srv.hub.Who(room)
	default:
		if name, _, ok := ss.srv.findNick(mask); ok {
			nicks = []string{name}
		}
	}
	c := &ss.irc.cfg
	for _, n := range nicks {
		away, real := ss.srv.ircPerson(n)
		flag := "H"
		if away != "" {
			flag = "G"
		}
		ss.ircReply("352", channel, n, c.name, c.name, n, flag, "0 "+real)
	}
	ss.ircReply("315", echo(mask), "End of /WHO list")
}

// ircPerson returns what the server knows of nick beyond its name: its
// AWAY message and its real name (the nickname for plain-dialect users).
func (s *Server) ircPerson(nick string) (away, real string) {
	p := s.lookupNick(nick)
	if p == nil || !p.joined() || p.irc == nil {
		return "", nick
	}
	return p.awayMessage(), p.irc.real
}

func (ss *session) ircWhois(m *ircMessage) {
	nick := m.arg(len(m.Params) - 1) // WHOIS [server] nick
	if nick == "" {
		ss.ircReply("431", "No nickname given")
		return
	}
	c := &ss.irc.cfg
	if n, _, ok := ss.srv.findNick(nick); ok {
		away, real := ss.srv.ircPerson(n)
		ss.ircReply("311", n, n, c.name, "*", real)
		ss.ircReply("312", n, c.name, "sockkit chat")
		if away != "" {
			ss.ircReply("301", n, away)
		}
	} else {
		ss.ircReply("401", echo(nick), "No such nick/channel")
	}
	ss.ircReply("318", echo(nick), "End of /WHOIS list")
}

// ircIson answers ISON with the nicknames given that are here, on this
// server or (with a [Directory] Hub) another.
func (ss *session) ircIson(m *ircMessage) {
	if len(m.Params) == 0 {
		ss.ircReply("461", "ISON", "Not enough parameters")
		return
	}
	var here []string
	for _, p := range m.Params {
		for _, n := range strings.Fields(p) {
			if name, _, ok := ss.srv.findNick(n); ok {
				here = append(here, name)
			}
		}
	}
	ss.ircReply("303", strings.Join(here, " "))
}

// ircList lists the rooms (322) that have people, or those asked for,
// and the end (323). No room has a topic.
func (ss *session) ircList(m *ircMessage) {
	var want map[string]bool
	if ch := m.arg(0); ch != "" {
		want = make(map[string]bool)
		for _, c := range strings.Split(ch, ",") {
			if room, ok := ircRoom(c); ok {
				want[room] = true
			}
		}
	}
	for _, r := range ss.srv.hub.Rooms() {
		if want == nil || want[r.Name] {
			ss.ircReply("322", "#"+r.Name, strconv.Itoa(r.Members), "")
		}
	}
	ss.ircReply("323", "End of /LIST")
}

// ircTopic answers TOPIC: rooms have no topic, and nobody may set one.
func (ss *session) ircTopic(m *ircMessage) {
	ch := m.arg(0)
	if ch == "" {
		ss.ircReply("461", "TOPIC", "Not enough parameters")
		return
	}
	room, ok := ss.ircChannel(ch)
	switch {
	case !ok:
		ss.ircReply("403", echo(ch), "No such channel")
	case len(m.Params) < 2:
		ss.ircReply("331", ch, "No topic is set")
	case room != ss.room:
		ss.ircReply("442", ch, "You're not on that channel")
	default:
		ss.ircReply("482", ch, "You're not channel operator")
	}
}

// ircMode answers MODE. Every channel is +nt (no messages from outside,
// topic set by operators, of whom there are none) and has no bans; a
// user may set and clear +i, which changes nothing.
func (ss *session) ircMode(m *ircMessage) {
	target, modes := m.arg(0), m.arg(1)
	if target == "" {
		ss.ircReply("461", "MODE", "Not enough parameters")
		return
	}
	if strings.HasPrefix(target, "#") {
		_, ok := ss.ircChannel(target)
		switch {
		case !ok:
			ss.ircReply("403", echo(target), "No such channel")
		case modes == "":
			ss.ircReply("324", target, "+nt")
		case strings.TrimLeft(modes, "+") == "b" && len(m.Params) == 2:
			ss.ircReply("368", target, "End of channel ban list")
		default:
			ss.ircReply("482", target, "You're not channel operator")
		}
		return
	}
	st := ss.irc
	if !strings.EqualFold(target, ss.Nick()) {
		ss.ircReply("502", "Cannot change mode for other users")
		return
	}
	if modes == "" {
		ss.ircReply("221", umode(st.invisible))
		return
	}
	was, set, unknown := st.invisible, true, false
	for _, c := range modes {
		switch c {
		case '+', '-':
			set = c == '+'
		case 'i':
			st.invisible = set
		default:
			unknown = true
		}
	}
	if st.invisible != was {
		change := "-i"
		if st.invisible {
			change = "+i"
		}
		ss.ircSend(st.cfg.mask(ss.Nick()), "MODE", ss.Nick(), change)
	}
	if unknown {
		ss.ircReply("501", "Unknown MODE flag")
	}
}

func umode(invisible bool) string {
	if invisible {
		return "+i"
	}
	return "+"
}

// ircTarget is the first parameter of a reply: the client's nickname,
// or "*" before it has one.
func (ss *session) ircTarget() string {
	if n := ss.Nick(); n != "" {
		return n
	}
	return "*"
}

// ircSend queues one IRC line for this client alone.
func (ss *session) ircSend(prefix, command string, params ...string) {
	st := ss.irc
	st.buf = appendIRC(st.buf[:0], prefix, command, params...)
	ss.queue(st.buf, false)
}

// ircSendWords is ircSend for lines whose parameters are single words.
func (ss *session) ircSendWords(prefix, command string, params ...string) {
	st := ss.irc
	st.buf = appendIRCWords(st.buf[:0], prefix, command, params...)
	ss.queue(st.buf, false)
}

// ircReply sends a numeric reply: from the server, to the client.
func (ss *session) ircReply(code string, params ...string) {
	ss.ircSend(ss.irc.cfg.name, code, append([]string{ss.ircTarget()}, params...)...)
}

// ircReplyList sends a numeric reply whose last parameter is a list of
// words, in as many lines as the 512-byte limit needs (one, for an
// empty list).
func (ss *session) ircReplyList(code string, params []string, words []string) {
	head := 1 + len(ss.irc.cfg.name) + 1 + len(code) + 1 + len(ss.ircTarget()) + 2
	for _, p := range params {
		head += len(p) + 1
	}
	for first := true; first || len(words) > 0; first = false {
		n, size := 0, head
		for n < len(words) && (n == 0 || size+1+len(words[n]) <= ircMaxText) {
			size += len(words[n]) + 1
			n++
		}
		ss.ircReply(code, append(params[:len(params):len(params)], strings.Join(words[:n], " "))...)
		words = words[n:]
	}
}

// translate turns a line of the plain dialect, as the hub delivers it,
// into the IRC lines this client gets, in st.out, which it returns; nil
// means the client gets nothing. self is the client's nickname: IRC
// clients do not get their own messages back. session.mu is held.
func (st *ircState) translate(line []byte, self string) []byte {
	if !st.registered.Load() {
		return nil
	}
	if t := st.last.Load(); t != nil && t.name == st.cfg.name && bytes.Equal(t.line, line) {
		if t.own && t.from == self {
			return nil
		}
		return t.out
	}
	e, err := ParseEvent(string(line))
	if err != nil || e.Nick != "" && !ValidNick(e.Nick) || e.Room != "" && !ValidRoom(e.Room) {
		return nil
	}
	text := textsafe.Clean(e.Text)
	c := &st.cfg
	b := st.out[:0]
	switch e.Kind {
	case KindMessage, KindAction:
		if e.Nick == self {
			return nil
		}
		b = appendPrivmsg(b, c.mask(e.Nick), "#"+e.Room, text, e.Kind == KindAction)
	case KindPrivate:
		if e.Nick == self && e.Target != self || !ValidNick(e.Target) {
			return nil
		}
		b = appendPrivmsg(b, c.mask(e.Nick), e.Target, text, false)
	case KindJoin:
		b = appendIRCWords(b, c.mask(e.Nick), "JOIN", "#"+e.Room)
	case KindPart:
		b = appendIRCWords(b, c.mask(e.Nick), "PART", "#"+e.Room)
	case KindQuit:
		if text == "" {
			text = "Quit"
		}
		b = appendIRC(b, c.mask(e.Nick), "QUIT", text)
	case KindNick:
		if !ValidNick(e.Target) {
			return nil
		}
		b = appendIRCWords(b, c.mask(e.Nick), "NICK", e.Target)
	case KindInfo:
		b = appendIRC(b, c.name, "NOTICE", self, text)
	case KindError:
		b = appendIRC(b, c.name, "NOTICE", self, textsafe.Clean(e.Code)+": "+text)
	default:
		return nil
	}
	st.out = b
	switch e.Kind {
	case KindMessage, KindAction, KindJoin, KindPart, KindQuit, KindNick:
		st.last.Store(&ircTranslation{
			line: bytes.Clone(line), name: c.name, from: e.Nick,
			own: e.Kind == KindMessage || e.Kind == KindAction,
			out: bytes.Clone(b),
		})
	}
	return b
}

// appendPrivmsg appends text from prefix to target as PRIVMSG lines,
// as many as the 512-byte limit needs, split between words where it can
// be; an action goes in CTCP ACTION framing.
func appendPrivmsg(b []byte, prefix, target, text string, action bool) []byte {
	room := ircMaxText - (1 + len(prefix) + len(" PRIVMSG ") + len(target) + len(" :"))
	if action {
		room -= len("\x01ACTION \x01")
	}
	for first := true; first || text != ""; first = false {
		n := utf8Prefix(text, room)
		if n < len(text) {
			if i := strings.LastIndexByte(text[:n], ' '); i > n/2 {
				n = i + 1
			}
		}
		chunk := text[:n]
		text = text[n:]
		if action {
			chunk = "\x01ACTION " + chunk + "\x01"
		}
		b = appendIRC(b, prefix, "PRIVMSG", target, chunk)
	}
	return b
}
