// Package natshub spreads the rooms of [chat] over several server
// processes through NATS: each [chat.Server] has its own clients, and a
// message said on one server reaches the members of its room on every
// server, in one order that all of them see. Nicknames are one
// namespace across the servers, and /who, /rooms and /msg NICK reach
// everyone. It lives in a package of its own so that importing chat
// does not bring in NATS.
//
//	hub, err := natshub.Connect("nats://127.0.0.1:4222", natshub.Options{})
//	if err != nil { ... }
//	srv := &chat.Server{Hub: hub}
//	... srv.Serve(ctx, l) ...
//	srv.Shutdown(ctx)
//	hub.Close()
//
// The NATS server must have JetStream enabled ("nats-server -js");
// nats-server 2.9 (Debian's) and 2.15 are tested. [natsembed] runs one
// inside the process, for one machine. Credentials, TLS and the like go
// in [Options].NATS as nats.go options (nats.UserCredentials(file) for a
// NATS in operator mode, whose account for the Hubs needs JetStream).
// A NATS server that answers and refuses the connection, for credentials
// it does not accept or that cannot be read, makes [Connect] fail with
// its reason; one that cannot be reached yet, or cannot set up the
// stream (an account without JetStream), leaves the rooms local-only
// while the Hub keeps trying, and logs why.
//
// # One order for every member
//
// NATS by itself promises less than a chat room needs: the messages of
// one publishing connection on one subject arrive in the order sent, but
// the messages of two connections may reach two subscribers in two
// orders, even through a single nats-server, which hands each message to
// the subscribers from the publisher's own connection (in a cluster,
// routes between the nodes add to this). So a Hub does not publish room
// lines to the members' servers directly: it publishes them to a
// JetStream stream, whose single writer (its leader, in a cluster) gives
// each line the next sequence number, and every Hub reads the stream
// with an ordered consumer, which delivers in sequence order and starts
// again from the line after the last one it had if it misses any. A
// member's own lines take the same way: a server hands a line to its own
// members only when it comes back from the stream, never at once, or its
// members would see it before lines that the stream put first.
//
// What is guaranteed, then: every member of a room, on any server, gets
// the room's lines in stream order (the order of all rooms' lines, in
// fact), the lines of one sender in the order sent, from the moment its
// server has its JOIN on. Two members see the same sequence over any time
// both were members and their servers' links were up. The exceptions are
// the faults below, each of which a user is told of.
//
// # Nicknames
//
// The directory is a JetStream key-value bucket, PREFIX_nicks (dots
// become underscores): one entry per nickname, under the nickname in
// lower case, whose value is "SERVER ROOM NICK" (the server's 16-hex-digit
// ID, the room or "-", the nickname as its owner spelled it). A server
// claims a nickname by creating its entry, which NATS does for one
// server only. Each server also holds a lease in the bucket
// PREFIX_servers, whose entries live NickTTL (15 s by default) and
// which the server renews every NickTTL/3. An entry whose server has no
// lease is stale: a claim takes it over (a compare-and-set on its
// revision, so two claims cannot both win). A nickname given up is
// deleted, also by revision, so that a server never deletes another's.
// Every server watches the directory, and answers /who, /rooms and
// /msg NICK from what it saw, and its own clients from its own state;
// a change on one server reaches the others' answers after a moment
// (a few milliseconds on one machine).
//
// A server that dies without a word keeps its lease until it runs out:
// its users' nicknames are free for others to take at most NickTTL after
// it died, and leave /who and /rooms within 4/3 NickTTL. The live servers
// delete its entries at their next refreshes. [Hub.Close] takes a
// server's nicknames and lease out of NATS at once.
//
// Private messages to a client of another server are a NATS request to
// PREFIX.priv.SERVER carrying the PRIV line; that server delivers it and
// answers "ok", or "no-such-nick". The sender gets its copy on "ok",
// "ERR no-such-nick" otherwise, and "ERR not-delivered" when no answer
// comes within RequestTimeout.
//
// # Faults
//
// When NATS goes away (the connection drops, or a line of this server's
// is not back within EchoTimeout, 3 s by default, which also catches a
// link that has stopped moving), the rooms of each server go on alone:
// every member gets one line
//
//	INFO your room is local-only: the link to the other chat servers (NATS) is down; reconnecting
//
// and lines go to the members of the same server at once. The lines
// that were on their way are delivered here then, in order, and each
// sender gets "ERR not-delivered ... people here got it, those on other
// servers may not have". A member who joins a room meanwhile gets the
// INFO line too. The Hub reconnects, after ReconnectWait (100 ms) doubling
// up to MaxReconnectWait (5 s), with a little at random, and sets the
// stream, buckets and lease up again (a NATS server that restarted has
// forgotten them: they are kept in memory). Then every member gets
//
//	INFO your room is shared with the other chat servers again
//
// and the servers write their nicknames to the directory again. Lines
// said while apart stay apart: a server does not replay them to others.
//
// While apart, a server gives out nicknames on its own, refusing only
// those the directory last gave to a live server. Two servers may thus
// give one nickname to two users; when they join up, the directory keeps
// the first to write it, and the other user gets an INFO line saying so
// and asking for /nick: /msg from other servers reaches the first.
//
// Nothing a user sends is lost without a word. Besides the case above,
// a line is refused with "ERR not-delivered" when the lines on their way
// through NATS pass MaxPendingBytes (1 MiB: a slow NATS never makes a
// session wait), when NATS refuses it (longer than the NATS server's
// max_payload), and when the stream never returns it while later lines
// of the same server come back; in these cases nobody got it.
//
// Other users' messages from NATS reach clients only if they are lines
// a chat.Server could have sent: one line of the right kind for the room
// of its subject, valid names, text without control characters, in the
// server's own spelling. Others are dropped and counted ([Stats]).
//
// # Protocol
//
// Everything lives under Prefix (default "sockkit.chat"; below PREFIX):
//
//	PREFIX.room.ROOM       subject of the lines of ROOM (folded room name)
//	PREFIX_ROOMS           stream (prefix upper-cased, dots as "_") of PREFIX.room.*, in memory, lines kept one minute, at most 64 MiB
//	PREFIX_nicks           key-value bucket: folded nickname -> "SERVER ROOM NICK" ("-" for no room)
//	PREFIX_servers         key-value bucket: SERVER -> SERVER, entries live NickTTL
//	PREFIX.priv.SERVER     subject of private messages to SERVER's clients: request "PRIV from to text\n", reply "ok" or "no-such-nick"
//
// A room message's data is the server line as its clients get it,
// "MSG lobby ann hi\n" (see the chat package's Protocol section for the
// kinds: MSG, ME, JOIN, PART, QUIT and NICK go to rooms); its header
// Sockkit-Origin is "SERVER SEQ": the publishing server's ID and the
// line's number among that server's lines, from 1, by which a server
// knows its own lines when they come back. SERVER is 16 lower-case hex
// digits, new for each Hub.
//
// # What is not shared
//
// The IRC commands that ask about one person (WHOIS, ISON, WHO nick,
// PRIVMSG to a nickname) find the clients of every server through the
// nickname directory, but of another server's client they know only the
// nickname: its AWAY message and IRC real name stay on its own server
// (WHOIS shows the nickname as the real name). Every server
// reads every room's lines and keeps those of the rooms it has members
// in; a chat network too big for that wants a subject filter per room,
// which this package does not do. [chat.Server.Stats] counts the
// server's own clients.
//
// [natsembed]: https://pkg.go.dev/github.com/sockkit/sockkit/chat/natshub/natsembed
package natshub
