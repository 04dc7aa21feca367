// Package chat is a multi-user chat server over TCP, in plain text lines,
// that people join with nc or telnet and programs join with [Dial]. IRC
// clients join the same rooms (see IRC below).
//
// A [Server] keeps rooms of people, each known by a nickname. Whatever
// one of them types reaches everyone in the same room, in the same
// order for all; commands change nickname and room, list rooms and
// people, and send private messages. The server is written for the
// hard cases: clients that stop reading, vanish in the middle of a line,
// send endless lines, invalid UTF-8 or terminal escape sequences, flood,
// or idle for ever. None of them can stall, crash or corrupt the server or
// what the other clients see.
//
// # Protocol
//
// Both directions carry text lines, each ended by "\n" (0x0a), in UTF-8
// unless the client chooses another charset (see Charsets below). The
// server also accepts "\r\n" (0x0d 0x0a), as telnet sends. There is no
// other framing, no binary data and no negotiation: a person can type
// the protocol. What telnet adds to it (its commands, which start with
// the byte 0xff) is taken out; see Telnet below.
//
// Client to server. Each line is at most [Server.MaxLineBytes] bytes
// (default [DefaultMaxLineBytes]) without its line ending. The server
// checks it in this order:
//
//   - longer than the limit: it is dropped, the client gets
//     "ERR too-long ...", and the rest of the line, up to its "\n", is
//     read and thrown away without being stored;
//   - not valid UTF-8: dropped with "ERR bad-utf8 ..." (for a client in
//     another charset, not valid in it: "ERR bad-charset ...");
//   - otherwise escape sequences (ESC 0x1b, CSI 0x9b, OSC ... up to their
//     end), other C0 and C1 control characters except tab, DEL (0x7f) and
//     the bidirectional and invisible controls (U+061C, U+200E, U+200F,
//     U+202A..U+202E, U+2066..U+2069, U+2028, U+2029, U+FEFF) are removed
//     before the text goes anywhere (a nickname that contained any is
//     refused instead);
//   - a line that starts with "/" (0x2f) is a command: the command name
//     runs to the first space (0x20) and is not case-sensitive; the rest,
//     with surrounding spaces trimmed, is its argument. A line that starts
//     with "//" is a message whose text starts with one "/";
//   - a line equal to one of [Server.QuitWords] (ignoring case and
//     surrounding spaces) acts as "/quit";
//   - any other line is a message to the client's room. Empty lines and
//     lines of spaces are ignored.
//
// A line cut short by the end of the connection is dropped. Commands:
//
//	/nick NAME      take or change nickname
//	/join ROOM      leave the room for ROOM, created if nobody is in it
//	/rooms          list the rooms and how many people are in each
//	/who [ROOM]     list the people in ROOM (default: the client's room)
//	/msg NICK TEXT  private message to NICK
//	/me ACTION      an action ("* alice waves")
//	/charset [NAME] show the client's charset, or change it to NAME
//	/quit [REASON]  leave; the others see REASON
//	/help           list the commands
//
// A room may also be written "#room", as IRC users are used to:
// "/join #go" and "/who #go" mean the room "go". /charset and /help also
// work before the client has a nickname.
//
// A nickname is 1 to [MaxNickLen] (16) bytes of ASCII letters, digits,
// "_" and "-", not starting with "-". Nicknames are unique without
// regard to case ("Bob" and "bob" are the same person) and keep the case
// they were given. The charset is deliberately small: it cannot hold
// spaces, which separate fields, nor look-alike letters from other
// scripts. Room names follow the same rules, 1 to [MaxRoomLen] (24)
// bytes, and are folded to lower case.
//
// Server to client. Every line starts with a keyword in capitals (a
// [Kind]), then single-word fields separated by one space (0x20), then,
// for kinds with text, a space and free text up to the line ending. The
// text may contain spaces but never a control character. Fields never
// contain a space, so a program splits the first words and keeps the
// rest as text (see [ParseEvent]); a person reads it as it is.
//
//	HELLO text                 greeting, sent once on connect: choose a nickname
//	WELCOME nick text          the nickname was accepted; a JOIN follows
//	MSG room nick text         nick said text in room
//	ME room nick text          nick did text in room (/me)
//	PRIV from to text          private message; the sender gets a copy
//	JOIN room nick             nick entered room (also sent to nick)
//	PART room nick             nick left room for another one
//	QUIT room nick [reason]    nick left the server
//	NICK room old new          old is now called new
//	ROOMS room=n room=n ...    the answer to /rooms
//	WHO room nick nick ...     the answer to /who
//	INFO text                  help and notices
//	ERR code text              a line was refused; the session goes on
//	BYE code text              the last line: the server closes after it
//
// ERR codes: need-nick, bad-nick, nick-taken (also for the operator's
// nickname, see Operator below), bad-room, no-such-nick,
// unknown-command, usage, too-long, bad-utf8, bad-charset,
// no-such-charset, rejected (by [Server.Filter]), not-delivered (by a
// Hub over a network: see Running several servers). BYE codes: quit
// (the client asked, or its connection closed), shutdown, idle, slow
// (the client did not read its lines fast enough), full (too many
// connections).
//
// A session, byte by byte ("C:" from the client, "S:" from the server):
//
//	S: HELLO sockkit chat: send your nickname (1-16 letters, digits, _ or -); /help lists the commands\n
//	C: alice\n                                  (or "/nick alice\n")
//	S: WELCOME alice welcome; you are in lobby\n
//	S: JOIN lobby alice\n
//	S: JOIN lobby bob\n                         (bob arrives)
//	C: hi bob\r\n                               (telnet's line ending)
//	S: MSG lobby alice hi bob\n
//	S: MSG lobby bob hello\n
//	C: /quit lunch\n
//	S: BYE quit goodbye\n                       (bob gets "QUIT lobby alice lunch\n")
//
// After BYE the server half-closes the connection, reads what the client
// still sends for a moment, and closes.
//
// # Telnet
//
// telnet mixes commands into what it sends (RFC 854), each starting with
// IAC, the byte 0xff; the server takes them out of plain-dialect
// sessions' input, so that they never reach anyone, never spoil the line
// they are in or the next one, and do not count against the line limit:
//
//	ff ff              the data byte 0xff (telnet doubles it)
//	ff f4, ff f8       IP (what telnet sends for Ctrl-C) and EL: the line typed so far is dropped
//	ff fb/fc/fd/fe xx  WILL, WONT, DO, DONT option xx
//	ff fa ... ff f0    a subnegotiation, which may hold any byte, "\n" too, and ends at IAC SE
//	ff f0 to ff f9     other commands (NOP, AYT, GA, ...): ignored
//	ff xx, xx < f0     no command: the bytes 0xff and xx, as data
//
// The server refuses every option: it answers DO xx with WONT xx and WILL
// xx with DONT xx, and WONT and DONT, which ask for what is the case
// already, with nothing (RFC 1143). telnet is thus left in its default
// mode, one line at a time with local echo, which the protocol needs.
// The answer matters for Ctrl-C: telnet sends IAC IP, IAC DO
// TIMING-MARK (ff f4 ff fd 06) and shows nothing the server sends until
// it gets an answer, here ff fc 06. Its terminal has dropped the half
// line when Ctrl-C came, and so does the server.
//
// The commands are recognised on every plain-dialect connection, from
// the first byte, whatever the client: UTF-8 and the multi-byte charsets
// below never use 0xff in text, so that it can only be telnet's. In the
// single-byte charsets where 0xff is a letter (ÿ in ISO-8859-1,
// ISO-8859-15 and Windows-1252) telnet sends it doubled, and a client
// that is not telnet (nc, a script) sends it alone, which the last rule
// above keeps, unless a byte from f0 to fe (ð to þ) follows it. A client
// that has sent a telnet command gets 0xff doubled in its lines, as
// telnet wants; others get it alone. IRC clients do not speak telnet:
// their sessions take 0xff as it is (and refuse it as not UTF-8).
//
// # Charsets
//
// Inside the server every line is UTF-8; at the edge, each plain-dialect
// client has a charset, [Server.Charset] until it picks its own with
// "/charset NAME" ("/charset" alone shows it). What the client sends is
// decoded from its charset, checked and cleaned as above, and what it is
// sent is encoded in it, so that a client in GBK and one in UTF-8 read
// each other's Chinese in the same room:
//
//	C (GBK):   c4 e3 ba c3 0a                  你好
//	S (UTF-8): MSG lobby bob e4 bd a0 e5 a5 bd 0a     to alice
//	S (GBK):   MSG lobby bob c4 e3 ba c3 0a           to bob himself
//
// A line that is not valid in the client's charset (or holds U+FFFD,
// which stands for such bytes) gets "ERR bad-charset line is not valid
// GBK; dropped"; in UTF-8, it is "ERR bad-utf8" as before. A character
// that the recipient's charset lacks (an emoji in GBK) becomes "?". The
// line limit counts the bytes as the client sends them. The charsets:
//
//	UTF-8
//	GBK, GB18030              Chinese, simplified
//	Big5                      Chinese, traditional
//	Shift_JIS, EUC-JP         Japanese
//	EUC-KR                    Korean
//	ISO-8859-1, ISO-8859-15   Western European (Latin-1, Latin-9)
//	Windows-1252              Western European, Windows
//
// /charset and [Server.Charset] take any of their IANA names and aliases
// or WHATWG names, in any case and with or without punctuation ("gbk",
// "GB2312", "cp936", "Shift-JIS", "sjis", "latin1", "cp1252"), as every
// example program's -charset does. Each of them writes ASCII as ASCII, so
// that commands, nicknames and the server's keywords are the same bytes in
// all, and none carries a state from one line to the next. Others (UTF-16,
// ISO-2022-JP, and Windows-1251 and KOI8-R, where 0xff is a common letter
// that telnet's IAC would take) get "ERR no-such-charset ... cannot carry
// this chat's lines". IRC clients always speak UTF-8, and so do browsers
// (whose "/charset NAME" gets "ERR usage"); the operator's session starts
// in UTF-8. A Go program joining a server whose Charset is not UTF-8 sends
// "/charset UTF-8" first.
//
// # Operator
//
// [Server.ServeOperator] puts the person at the server's terminal in the
// chat: a session like a client's, in the room everyone starts in, over a
// connection the program holds (a [net.Pipe]), with the nickname
// [Server.OperatorNick] ("operator"), which no client can take in either
// dialect, whether or not the operator is there. It has no idle or
// registration timeout and no flood control, and sees every line of its
// room; what it types goes to the room like anyone's, and its quit words
// end its session. This is the tutorials' one-to-one chat, where the
// server's user and a client talk until one of them types "byebye" or
// "q"; the command examples/chat serve runs it on its terminal.
//
// # IRC
//
// The server also speaks IRC (RFC 1459 and RFC 2812, the part of them
// that today's clients use), so that people in irssi, WeeChat, HexChat
// or ii share the rooms with those on nc.
//
// On a port served by [Server.Serve], the first line tells the dialect:
// a client whose first line is CAP, NICK, USER or PASS, in any case,
// then a space and more, speaks IRC for the rest of its session; any
// other first line is the plain dialect's. No plain first line can be
// taken for IRC's: a nickname has no space, and a command starts with
// "/". The IRC client has received the HELLO line by then, which IRC
// clients show or ignore. [Server.ServeIRC] serves a listener (on port
// 6667, say) where every client speaks IRC, and the server sends nothing
// before the client does.
//
// Lines are at most 512 bytes with their "\r\n" (a bare "\n" is
// accepted too); a longer one gets 417 and is dropped, and the session
// goes on. Message tags and a prefix from the client are ignored. Lines
// must be UTF-8 (the server says UTF8ONLY): another line gets
// "FAIL <command> INVALID_UTF8" and is dropped. Every line the server
// sends ends with "\r\n" and fits in 512 bytes: a long message from a
// plain user reaches IRC users as several PRIVMSGs, cut between words.
//
// Registration: "CAP LS [302]", "CAP REQ", "CAP LIST" and "CAP END" work;
// the server offers no capabilities and refuses (NAK) every request.
// NICK and USER, in either order, and CAP END if the client started
// with CAP, register the client: it gets 001 to 005, the message of the
// day ([IRCOptions.MOTD]: 375, 372, 376) or 422, and is joined to the
// room everyone starts in. PASS is ignored unless [IRCOptions.Password]
// is set; then a client without the right one gets 464 and is
// disconnected. Before registering, only CAP, NICK, USER, PASS, PING, PONG
// and QUIT work, and anything else gets 451; a client that has not
// registered within [IRCOptions.RegisterTimeout] is disconnected. The
// 005 reply says:
//
//	CHANTYPES=# CHANLIMIT=#:1 NICKLEN=16 CHANNELLEN=25 CASEMAPPING=ascii UTF8ONLY
//	NETWORK=sockkit PREFIX= CHANMODES=,,,nt TARGMAX=PRIVMSG:1,NOTICE:1 SAFELIST
//
// Nicknames follow the one set of rules above, whatever the dialect: an
// IRC nickname with one of IRC's extra characters ([ ] \ ` ^ { | }) or
// over 16 bytes gets 432, and one that someone of either dialect has,
// in any case, gets 433 (CASEMAPPING=ascii). Plain nicknames may start
// with a digit, which RFC 2812 does not allow; IRC users see them as they
// are, which clients accept. A channel is "#" and a room name: #Go is the
// room "go", and the server writes channel names in lower case.
//
// Every user appears to IRC users as "nick!nick@NAME", NAME being
// [IRCOptions.Name] ("sockkit"): the server shows nobody's address, and
// a plain user has no user name, so the nickname stands in for it.
//
// A client is in one room at a time, in both dialects. JOIN #room moves
// an IRC client: it gets PART for its old channel, then JOIN, 353 and
// 366 for the new one, and the others see it leave one room and enter
// the other. Of a list ("JOIN #a,#b"), the last valid channel is joined
// and the others get 405. PART (or "JOIN 0") leaves the channel, and the
// client is then in no room until it joins one; plain users see a PART.
// The commands:
//
//	PRIVMSG target :text      to the client's channel (#room), or to a nickname of either dialect
//	NOTICE target :text       the same, without error replies (RFC 2812 section 3.3.2)
//	JOIN #room[,#room]        move to the (last) room
//	PART #room                leave it
//	NAMES [#room]             353, 366 (default: the client's channel)
//	WHO [#room|nick]          352 (H, or G when away; the real name is the nickname for plain users), 315
//	WHOIS nick                311, 312, 301 if away, 318
//	LIST [#room,...]          322 for each room with people in it, 323
//	TOPIC #room               331: no room has a topic; setting one gets 482
//	MODE #room [b]            324 "+nt", 368 for the ban list; changes get 482 (there are no operators)
//	MODE nick [+i|-i]         221; +i may be set, and changes nothing
//	AWAY [:text]              306 or 305; a PRIVMSG to someone away gets 301
//	ISON nick ...             303
//	MOTD                      375, 372, 376 or 422
//	NICK nick                 a new nickname; everyone in the room sees it
//	PING token, PONG          PONG token; a PONG is taken as a sign of life
//	QUIT [:reason]            "ERROR :Closing link: goodbye", then the end; the others see the reason
//
// Errors each have their numeric: 401 no such nickname, 403 no such
// channel (an invalid name, or a room with nobody in it), 404 a channel
// the client is not in, 405, 407 more than one target, 409, 410 a CAP
// subcommand the server does not know, 411, 412 no text (text that is
// all formatting counts as none), 417, 421 an unknown command, 431, 432,
// 433, 442, 451, 461 too few parameters, 462, 464, 482, 501, 502. A
// message that [Server.Filter] refuses, which IRC has no numeric for,
// gets a NOTICE from the server.
//
// Between the dialects: a PRIVMSG or NOTICE to a channel is a MSG for
// plain users, and a CTCP ACTION ("\x01ACTION waves\x01", what IRC
// clients send for /me) is an ME; a plain user's "/me waves" reaches IRC
// users as
//
//	:alice!alice@sockkit PRIVMSG #lobby :\x01ACTION waves\x01
//
// Private messages go both ways; a private ACTION reaches its recipient,
// of either dialect, as the text "* nick waves", since plain private
// messages have no action form. IRC clients do not get their own
// messages back, as in IRC without the echo-message capability. Joins,
// parts, quits and nickname changes are translated both ways. The
// server answers CTCP VERSION, PING and CLIENTINFO itself, in a NOTICE,
// rather than pass them on (a plain user could not answer); other CTCP
// requests, and CTCP replies, are dropped.
//
// What IRC users send goes through the same flood control,
// [Server.Filter] and cleaning as plain lines. mIRC formatting (0x02
// bold, 0x03 colour with its digits, 0x04 hex colour with its digits,
// 0x0f reset, 0x11 monospace, 0x16 reverse, 0x1d italics, 0x1e
// strike-through, 0x1f underline) is removed, then escape sequences and
// control characters, as above. IRC users do not get formatting either:
// a room carries one form of each line, which must be safe for a
// terminal.
//
// IRC sessions do not use [Server.IdleTimeout], since IRC clients stay
// connected while their users are away: a registered client that sends
// nothing for [IRCOptions.PingInterval] gets "PING :sockkit", and one
// that then sends nothing for as long again is disconnected, and the
// others see it QUIT with "ping timeout". However an IRC session ends
// (QUIT, a shutdown, a client too slow to read, a timeout), its last line
// is "ERROR :Closing link: " and why. A session:
//
//	C: CAP LS 302\r\n
//	C: NICK alice\r\n
//	C: USER alice 0 * :Alice\r\n
//	S: :sockkit CAP * LS :\r\n
//	C: CAP END\r\n
//	S: :sockkit 001 alice :Welcome to the sockkit IRC network, alice!alice@sockkit\r\n
//	S: ...                                     (002 to 005, and 422)
//	S: :alice!alice@sockkit JOIN #lobby\r\n
//	S: :sockkit 353 alice = #lobby :alice bob\r\n
//	S: :sockkit 366 alice #lobby :End of /NAMES list\r\n
//	C: PRIVMSG #lobby :hi bob\r\n              (bob, on nc, gets "MSG lobby alice hi bob\n")
//	S: :bob!bob@sockkit PRIVMSG #lobby :\x01ACTION waves\x01\r\n   (bob typed "/me waves")
//	C: QUIT :lunch\r\n
//	S: ERROR :Closing link: goodbye\r\n        (bob gets "QUIT lobby alice lunch\n")
//
// # Delivery, limits and defaults
//
// Every line published to a room reaches all of its members in the same
// order. Each client has a queue of lines waiting to be written, bounded
// in bytes ([DefaultMaxQueueBytes]), and, while lines wait in it, a
// writer goroutine that writes everything queued in one system call with
// a deadline
// ([DefaultWriteTimeout]), at most once per [Server.WriteInterval] (1 to
// 20 ms by default, growing with the number of connections), so that a
// busy room costs one system call per client per batch, not per line.
// Handing a line to a client never waits for the network, so one slow
// client never slows the others. A client whose
// queue would overflow, or whose write times out, loses what was queued
// and is disconnected with "BYE slow" (delivered if its connection takes
// it) and the others see "QUIT room nick too slow"; nobody else loses a
// line.
//
// A client that stops reading can thus hold at most MaxQueueBytes of the
// server's memory and [DefaultSendBuffer] of the system's socket buffers
// ([Server.SendBuffer]) before it is dropped.
//
// An idle client costs little: on Linux its session waits parked, with
// no goroutine and no buffer, until the client sends something, a
// timeout passes or the server stops, and a line for it starts a writer
// for as long as the writing takes (about 3 KiB each; see
// [Server.MaxConns]).
//
// Other limits: [DefaultMaxConns] connections (more get "BYE full" and
// are closed), [DefaultIdleTimeout] without any line ends a session with
// "BYE idle", and flood control lets a client send [DefaultLineBurst]
// lines at once and [DefaultLineRate] per second after that (the server
// then reads its connection more slowly; nothing is dropped).
//
// # Running several servers
//
// The fan-out sits behind the small [Hub] interface: join, leave,
// publish a line to a room, list. [LocalHub] is the in-process default.
// A Hub over a message bus spreads the rooms over several server
// processes without changing the rest: the package
// [github.com/sockkit/sockkit/chat/natshub] does it through NATS, each
// server with its own clients, one order of lines per room for the
// members of every server. Such a Hub also implements [Directory], so
// that nicknames are one namespace across the servers and /msg, /who and
// /rooms reach them all, and [SenderHub], so that a line that did not
// reach everyone brings its sender "ERR not-delivered" with the reason.
// While the link between the servers is down, each server's rooms go on
// by themselves, and its users get an INFO line saying so, and another
// when the rooms are shared again. The example program runs two servers
// on one machine:
//
//	chat serve -addr 127.0.0.1:7070 -nats embedded     # prints "chat: NATS at nats://127.0.0.1:PORT"
//	chat serve -addr 127.0.0.1:7071 -nats nats://127.0.0.1:PORT
//
// and nc 127.0.0.1 7070 and nc 127.0.0.1 7071 are in one lobby.
//
// A NATS deployment that asks who connects (operator mode: accounts and
// users as JWTs) takes -nats-creds FILE, the credentials of a user, which
// nsc makes: nsc add account --name chat, then nsc edit account --name
// chat --js-mem-storage -1 --js-disk-storage -1 --js-streams -1
// --js-consumer -1 (the account needs JetStream, for the rooms' stream
// and the nickname buckets), nsc add user --account chat --name server,
// nsc generate creds --account chat --name server > chat.creds. Every
// server may use the same file. Credentials NATS refuses, or a file that
// is not a creds file, stop the server with NATS's reason; an account
// without JetStream leaves the rooms local-only, the log saying why.
//
// # Shutdown
//
// [Server.Shutdown] stops accepting, sends every client "BYE shutdown"
// after what is already queued for it, waits for the lines to be written
// and the sessions to end, and returns; [Server.Close] closes everything
// at once. Neither leaves a goroutine running.
//
// # Client
//
// [Dial] (or [Client.Join]) connects, takes the nickname and returns a
// [*Conn]: [Conn.Say] and [Conn.Command] send, [Conn.Events] delivers
// parsed events, and [Conn.Err] says why the session ended (a BYE,
// [Conn.Close], or a dropped connection). Text from the server is made
// safe for a terminal before it is delivered.
//
// # Browser
//
// Browsers join the same rooms over a WebSocket (RFC 6455). A [WebSocket]
// is both an [net/http.Handler], which does the handshake, and a
// [net.Listener], which hands each socket to [Server.Serve]; [WebPage]
// serves the page that talks to it:
//
//	ws := &chat.WebSocket{}
//	go srv.Serve(ctx, ws)
//	mux := http.NewServeMux()
//	mux.Handle("GET /{$}", chat.WebPage()) // the page opens "ws" next to itself
//	mux.Handle("GET /ws", ws)
//	go http.Serve(httpListener, mux)
//
// A browser's session is the session of the protocol above, run by the
// same code: the same commands and lines, the same checks of length,
// UTF-8 and control characters, flood control, idle timeout, limits on
// connections (counted with TCP's, by the browser's TCP address: behind
// a proxy, the proxy's), slow-reader drops ([Server.SendBuffer] applies
// to the TCP connection under the socket) and shutdown; the first line
// tells the dialect as it does on TCP (the page's is "/nick NAME"). Over
// the socket:
//
//   - the handshake is an HTTP/1.1 GET; no subprotocol and no
//     compression are negotiated. It is refused with 403 Forbidden when
//     the request has an Origin header whose host[:port] is not the
//     request's Host and matches none of [WebSocket.OriginPatterns]: the
//     page of another site cannot open a socket in its visitor's name.
//     A request without Origin is not from a browser's page and is let
//     in. A handshake waits for Serve to run; after Serve has ended it
//     gets 503 Service Unavailable;
//   - browser to server: each message is one line. A "\n" or "\r\n" at
//     its end is optional; a message that holds "\n" is several lines;
//     an empty message is ignored. Text and binary messages are read
//     alike. A message longer than MaxLineBytes gets "ERR too-long ..." and the session goes on,
//     exactly as a long line on TCP: it is read and thrown away, never
//     held whole. The server reads at most 2 KiB ahead of the session,
//     so that flood control holds a browser back as TCP holds back nc;
//   - server to browser: each line is one text message, without its
//     "\n". The server's lines are valid UTF-8, as text messages must be;
//   - closing: after its BYE line the server sends a close frame with
//     status 1000 (normal closure) and waits briefly for the browser's.
//     A close frame from the browser is the end of its input, as the end
//     of a TCP stream is.
//
// The page is one HTML file embedded in the package, its script and style
// inline, nothing loaded from elsewhere. It shows the room and its name,
// keeps the list of people (refreshed with /who), sends what is typed as
// it is typed (so "/join ROOM", "/msg NICK TEXT" and "/who" work as in
// nc), and reconnects by itself, with growing pauses, when the connection
// drops or the server restarts. It puts everything from the server in the
// page as text, never as HTML, and is served with a
// Content-Security-Policy that allows its own inline script and style (by
// hash) and WebSockets to its own host, and nothing else. The example
// program serves it with "chat serve -http 127.0.0.1:8080".
//
// # TLS
//
// Every way in works over TLS, with nothing in this package to set: give
// [Server.Serve] and [Server.ServeIRC] a [crypto/tls.NewListener], serve
// the page and the [WebSocket] from an https server (the page then opens
// wss:// next to itself, and the Origin check compares hosts, so an
// https page passes it as an http one does), and give [Client.Dial] a
// [crypto/tls.Dialer]'s DialContext (see the example). The handshake
// happens on a session's first read or write, under its deadlines: a
// client that never completes it is dropped at its registration timeout,
// and one turned away by the connection limits holds up nothing. A TLS
// session cannot be parked, since its reads go through crypto/tls: it
// keeps its goroutine and read buffer while idle (see
// [Server.MaxConns]). [Server.SendBuffer] applies to the TCP connection
// under it.
//
// Peers that speak TLS join as they join in clear: "openssl s_client
// -quiet -connect 127.0.0.1:7070 -CAfile cert.pem" or "socat -
// OPENSSL:127.0.0.1:7070,cafile=cert.pem" for the plain dialect, an IRC
// client with TLS on either port (irssi: "/connect -tls -tls_cafile
// cert.pem localhost 6667"; irssi matches a certificate's DNS names, not
// its IP addresses), a browser at https://. The example program takes
// -tls-cert and -tls-key for all of its listeners.
package chat
