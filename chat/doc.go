// Package chat is a multi-user chat server over TCP, in plain text lines,
// that people join with nc or telnet and programs join with [Dial].
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
// Both directions carry UTF-8 text lines, each ended by "\n" (0x0a). The
// server also accepts "\r\n" (0x0d 0x0a), as telnet sends. There is no
// other framing, no binary data and no negotiation: a person can type
// the protocol.
//
// Client to server. Each line is at most [Server.MaxLineBytes] bytes
// (default [DefaultMaxLineBytes]) without its line ending. The server
// checks it in this order:
//
//   - longer than the limit: it is dropped, the client gets
//     "ERR too-long ...", and the rest of the line, up to its "\n", is
//     read and thrown away without being stored;
//   - not valid UTF-8: dropped with "ERR bad-utf8 ...";
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
//	/quit [REASON]  leave; the others see REASON
//	/help           list the commands
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
// ERR codes: need-nick, bad-nick, nick-taken, bad-room, no-such-nick,
// unknown-command, usage, too-long, bad-utf8, rejected (by
// [Server.Filter]). BYE codes: quit (the client asked, or its connection
// closed), shutdown, idle, slow (the client did not read its lines fast
// enough), full (too many connections).
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
// # Delivery, limits and defaults
//
// Every line published to a room reaches all of its members in the same
// order. Each client has a queue of lines waiting to be written, bounded
// in bytes ([DefaultMaxQueueBytes]), and one writer goroutine that writes
// everything queued in one system call with a deadline
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
// Other limits: [DefaultMaxConns] connections (more get "BYE full" and
// are closed), [DefaultIdleTimeout] without any line ends a session with
// "BYE idle", and flood control lets a client send [DefaultLineBurst]
// lines at once and [DefaultLineRate] per second after that (the server
// then reads its connection more slowly; nothing is dropped).
//
// # Rooms on several servers
//
// The fan-out sits behind the small [Hub] interface: join, leave,
// publish a line to a room, list. [LocalHub] is the in-process default;
// a Hub over a message bus can spread rooms over several server
// processes without changing the rest.
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
package chat
