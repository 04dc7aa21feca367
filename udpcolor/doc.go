// Package udpcolor is a group chat over UDP with coloured names: a relay
// server that many clients join at once, a client, and a renderer that
// gives every name a stable, readable colour.
//
// It is the reusable version of the tutorials' UDP chat, where a client
// sends "name : text" datagrams and the server prints each line coloured
// by the sender's name. Here the server also relays every message to the
// other members, and it is built so that it cannot be abused: it keeps no
// member state for an address until that address has proven it can
// receive there, it never sends an unproven address more than three
// times the bytes it received from it, every datagram a member sends
// after joining carries a MAC under a key only that member received, it
// limits every source's rate and every host's share of the member table,
// and no peer can put an escape sequence on anyone's terminal.
//
// The tutorial's own client still works: the server also reads its plain
// "alex : 我要退学" datagrams, shows them as the tutorial's server does,
// and answers, so that a client blocked in recvfrom gets its reply (see
// "The plain dialect" below).
//
// # Protocol
//
// This is version 2 of the protocol ([Version]). Every datagram is UTF-8
// text of at most [MaxDatagram] (1,200) bytes, which fits the smallest
// IPv6 path MTU without fragmentation. It starts with a lowercase verb;
// arguments follow, each after one space (0x20). One trailing LF (0x0a)
// or CR LF is ignored. A datagram that is not valid UTF-8, breaks the
// grammar below, or is larger than MaxDatagram is dropped; receivers read
// into a buffer of MaxDatagram+1 bytes, so a datagram cut short by the
// read is seen as too large and dropped whole, never relayed in part.
//
// Names are 1 to [MaxName] (32) bytes of ASCII letters, digits, '-', '_'
// and '.', starting with a letter or a digit (see [ValidName]), and are
// unique per server regardless of case. Message text is 1 to [MaxText]
// (1,024) bytes of UTF-8 on one line (no CR or LF). A cookie is 1 to 64
// bytes of letters, digits, '-' and '_'. SEQ is a member's counter: 1 to
// 20 decimal digits without a leading zero, from 1 to 2^64-1. MAC is 22
// characters of base64url (RFC 4648 section 5, no padding, the unused
// low bits of the last character zero) encoding [MACSize] (16) bytes;
// KEY is 43 such characters encoding [KeySize] (32) bytes.
//
// Client to server:
//
//	join/2 NAME [COOKIE] SP*  join, then echo the cookie; padded with spaces to >= MinJoin (256) bytes
//	msg SEQ MAC TEXT          say TEXT to the other members
//	ping SEQ MAC              keep the membership alive; no answer
//	leave SEQ MAC             end the membership
//
// Server to client:
//
//	cookie NAME COOKIE        the challenge: echo it in a second join
//	welcome NAME KEY          admitted; KEY signs the member's msg, ping and leave
//	relay NAME : TEXT         what member NAME said ("name : text", as in the tutorial)
//	bye NAME REASON           membership over: left, expired or shutdown
//	error CODE [DETAIL]       bad-request, name-taken, full, address-full, bad-cookie, not-member or version
//	plain NAME : TEXT         what plain sender NAME said (unverified; see "The plain dialect")
//
// The server answers nothing but the four client verbs and the plain
// lines described below. A datagram of a kind that only servers send,
// and any other datagram that does not start with a client verb and is
// not a plain line, is dropped without an error: an error in answer to
// an error would let one spoofed datagram set two servers (or a server
// and any service that answers garbage) talking to each other forever.
// A join of another version (the verb "join" of version 1, whose member
// datagrams had no MAC, or "join/N") is answered "error version this
// server speaks join/2"; a server of version 1 ignores "join/2", so a
// client of this version gets no answer from it.
//
// For example, alice joins and says hello to bob (→ to the server, ← from
// it; the joins carry 244 and 216 spaces of padding, and alice's key is
// all zero bytes here, to keep the example reproducible):
//
//	alice → join/2 alice␠␠␠…                     6a 6f 69 6e 2f 32 20 61 6c 69 63 65 20 20 …  (256 bytes)
//	alice ← cookie alice Z3xV…                   63 6f 6f 6b 69 65 20 61 6c 69 63 65 20 …  (40 bytes)
//	alice → join/2 alice Z3xV…␠␠␠…               (256 bytes)
//	alice ← welcome alice AAAA…AAA               77 65 6c 63 6f 6d 65 20 61 6c 69 63 65 20 41 41 …  (57 bytes)
//	alice → msg 1 E2-vNq2SXM_Ybw0DyFgR0Q hello   (34 bytes, below)
//	bob   ← relay alice : hello                  72 65 6c 61 79 20 61 6c 69 63 65 20 3a 20 68 65 6c 6c 6f
//
// alice's msg, byte by byte:
//
//	6d 73 67 20                 "msg "
//	31 20                       SEQ: 1, the first datagram since the welcome; a space
//	45 32 2d 76 … 52 30 51 20   MAC: 22 characters, "E2-vNq2SXM_Ybw0DyFgR0Q"; a space
//	68 65 6c 6c 6f              TEXT: "hello"
//
// # Joining: the cookie exchange
//
// A join without a cookie gets a cookie (or an error) and nothing else:
// the server stores nothing. The cookie is 27 characters of base64url
// (as MAC and KEY are) over 20 bytes: the time of issue in seconds
// since 1970 (4 bytes, big-endian) and the first 16 bytes of HMAC-SHA256,
// under a random key that each Server draws when it starts, over that
// time, the client's IP address (16 bytes, IPv4 in its IPv6-mapped form),
// its port (2 bytes, big-endian) and the name. Only a client that
// receives at its source address can echo it, and only for that name,
// within [Server.CookieLifetime] (default [DefaultCookieLifetime]). The
// second join is admitted if the name is still free and the member table
// has room; the server draws a random [Key] for the new member and
// answers "welcome NAME KEY". A client that echoes a valid cookie for the
// name it already holds at that address (its welcome was lost) gets the
// same welcome again, with the same key, and the counters go on; one
// that joins under another name gives up the first and gets a new key.
// A client that has lost its key joins again from a new port, as
// [Client.Join] does with every call: the old membership expires.
//
// Because a spoofed source address cannot echo the cookie, joins that are
// never completed cost the server nothing but a reply, and that reply is
// never larger than the join: every join must be padded to at least
// [MinJoin] bytes (as QUIC pads its Initial packets), while the largest
// cookie or error datagram is far smaller (67 and 66 bytes). The same
// rule holds for every datagram of the protocol that is not a member's
// signed datagram: an answer larger than the request is not sent at all,
// so the server sends a source that has not proven its address at most
// as many bytes as it received, inside the three times that the project
// allows (RFC 9000 section 8.1). Only the welcome, to an address that has
// just echoed its cookie, and what members receive as members (relays,
// bye), are larger; the answers to plain lines use the three times, as
// "The plain dialect" describes.
//
// # Member datagrams: counters and MACs
//
// The cookie proves the address once, at the join. Each later msg, ping
// and leave proves again that it comes from the member: it carries SEQ,
// the number of datagrams the member has signed since its welcome (1,
// 2, 3...), and MAC, the first 16 bytes of HMAC-SHA256 under the
// member's key over the datagram without its MAC field: the verb, a
// space, SEQ in decimal, and for a msg a space and the text ("msg 1
// hello" above). See [Key.Sign] and [Key.Verify]. The server looks up the
// member by the datagram's source address and port and drops, without
// an answer, a datagram whose MAC is wrong ([Stats].BadMACs) or whose
// counter it has seen before or that is more than 63 below the highest
// it has seen ([Stats].Replays): it accepts each counter once, and
// tolerates datagrams that UDP delivers out of order (a window of 64, as
// IPsec and DTLS do). Only such a datagram keeps the membership alive.
//
// # The plain dialect
//
// The tutorial's client sends its line as one bare datagram, "alex :
// 我要退学", and blocks in recvfrom until the server answers. The server
// reads such plain lines next to its protocol:
//
//	61 6c 65 78                 NAME: "alex"
//	20 3a 20                    " : ", the separator; ":" alone will do
//	e6 88 91 e8 a6 81 e9 80 80 e5 ad a6   TEXT: "我要退学" in UTF-8
//
// Byte by byte, a datagram is a plain line when all of this holds:
//
//   - its first word (the bytes before its first space, 0x20, or all of
//     it) is none of the protocol's verbs, of this version or another
//     ("join/2", "join", "join/N", "msg", "ping", "leave", "cookie",
//     "welcome", "relay", "plain", "bye", "error"): those are always
//     read as the protocol, so a plain sender cannot be called "msg";
//   - it is at most MaxDatagram bytes; one trailing LF (0x0a) or CR LF is
//     ignored;
//   - the rest is valid UTF-8 without control characters (C0 but tab,
//     DEL, C1), bidirectional controls, U+2028, U+2029 or U+FEFF: only
//     printable text;
//   - it holds a colon (0x3a). NAME is what comes before the first
//     colon, TEXT what follows it, each without the blanks (space and
//     tab) at either end; "alex : hi", "alex:hi" and " alex\t: hi\n" are
//     the same line, and "alex : at 10:30" has the text "at 10:30";
//   - NAME is a valid name ([ValidName]) that starts with a letter (so
//     that "14:05:09", a time service's answer, is not a line from
//     "14"), and TEXT is 1 to MaxText bytes.
//
// Any other datagram that is not of the protocol is dropped without an
// answer ([Stats].Dropped.Malformed): an answer to garbage could start a
// loop with a service that answers garbage. So is a plain line in the
// name of the operator, [OperatorName] ("server"), in any letter case:
// that is what this server's answers look like, so such a line is an
// echo of one of them, or another udpcolor server's answer.
//
// A plain line takes its turn in its source's rate ([Server.PacketsPerSecond]), as
// every datagram does, and then in a rate shared by all plain senders
// ([Server.PlainRate], [DefaultPlainRate] a second, in bursts of five
// seconds' worth); beyond either it is dropped. A line whose NAME a member
// holds (regardless of case) is answered "server : the name NAME is a
// member's; choose another" and goes no further. Any other line is
//
//   - written to the Transcript as "NAME : TEXT" with NAME in its
//     colour, exactly as the tutorial's server prints it;
//   - relayed to the members as "plain NAME : TEXT", within a rate shared
//     by all plain senders ([Server.PlainRelayRate],
//     [DefaultPlainRelayRate] a second, in bursts of five); the lines over
//     it are only written to the Transcript. A [Client] delivers them
//     with [Message].Unverified set, and [Renderer.Print] shows them as
//     "alex (unverified) : 我要退学". [Server.Plain] can keep them from the
//     members ([PlainShown]) or turn the dialect off ([PlainOff]);
//   - answered with the plain line "server : received" (73 65 72 76 65 72
//     20 3a 20 72 65 63 65 69 76 65 64, 17 bytes), which the tutorial's
//     client prints. With [Server.Operator] set there is no such answer:
//     the operator answers with [Server.Say], as the tutorial's operator
//     types the reply, and the client waits for it.
//
// [Server.Say] sends the operator's line under the reserved name: to every
// member as "relay server : TEXT", and as the plain line "server : TEXT"
// to the last plain sender whose line was shown, if it has sent one within
// [Server.MemberTimeout]. No member may join as "server".
//
// Everything sent to a plain sender, the automatic answers and the
// operator's lines together, fits in three times what it has sent,
// counted on the wire with 28 bytes of headers per datagram (RFC 9000
// section 8.1, as every server of the module counts it): a 3-byte "a:b"
// may get the 17-byte answer and an operator's line of 11 bytes of text,
// and no more until it sends again. What it is owed is
// capped at three times one datagram of MaxDatagram bytes, and forgotten
// after MemberTimeout of silence; a line that does not fit is not sent
// (Say returns a [BudgetError]). The server remembers at most 256
// plain senders (the one silent longest is forgotten first): how much it
// may still send each, and a hash of its last datagram.
//
// The same datagram from the same source is answered at most three times
// in a row. With the rules above this is what keeps one spoofed
// datagram from setting the server and another service talking forever:
// ports below 1024 are never answered; another udpcolor server, or an echo
// service (even one that changes letter case), sends back a line in the
// operator's name, which is dropped; a service that answers everything
// with the same line gets three answers and then none. A service that
// answers each datagram with a different line that looks like a plain
// line could keep an exchange going at the plain senders' rate; each of
// its rounds costs the server one short answer.
//
// # Threat model
//
// An off-path attacker can send datagrams with any source address, but
// does not see the traffic between the server and its members. Such an
// attacker
//
//   - cannot join as an address where it does not receive: it never sees
//     that address's cookie, and guessing one is a chance of 2^-128 per
//     try, each try charged to the spoofed address's rate;
//   - cannot speak, leave or keep a membership alive in a member's name:
//     it never sees the member's key, the server relays nothing, ends
//     nothing and refreshes nothing without a valid MAC, and guessing one
//     is again a chance of 2^-128 per datagram;
//   - cannot replay a member's datagram, should it come by one: its
//     counter has been seen;
//   - can make the server parse each datagram it spoofs from a member's
//     exact address and port and compute one HMAC for it (about a
//     microsecond), for no answer; datagrams spoofed from other addresses
//     cost a table lookup and count against their address's rate;
//   - can reflect traffic off the server towards a victim at no more than
//     the bytes it sends (one cookie or error datagram, at most as large
//     as the spoofed request, per request within the victim's rate);
//   - can use up the rate of the address it spoofs for unsigned
//     datagrams, so that a new join from that host may be dropped while
//     the flood lasts; a member's signed datagrams count against the
//     member's own allowance instead, and go through;
//   - can send a member, if it knows the server's address and guesses the
//     member's port, datagrams that look as if they came from the server:
//     a false relay shown to that member, a false bye that ends the
//     session on the member's side (the server keeps the membership until
//     it expires), or, during a join, a false welcome whose key the server
//     will not accept. Datagrams from the server carry no MAC in this
//     version.
//
// A plain sender proves nothing: neither its address nor its name. Anyone,
// including an off-path attacker who spoofs its source, can therefore
//
//   - write "NAME : TEXT" lines on the server's Transcript under any free
//     name that starts with a letter, at its source's rate, within the
//     rate shared by all plain senders, so that a flood of spoofed lines
//     can crowd the real plain senders out (members are not affected);
//   - have members shown a few of those lines, always marked unverified
//     ("plain NAME : TEXT", "alex (unverified) : ..."), within the relay
//     rate shared by all plain senders;
//   - get automatic answers and the operator's next lines sent to the
//     address it claims, within three times the bytes it sent there;
//   - become "the last plain sender", so that the operator's next line
//     goes to an address of its choosing (within that budget) rather
//     than to the sender the operator meant;
//   - push other plain senders out of the server's table of 256, which
//     only forgets what they may still be sent.
//
// A plain sender cannot speak as a member or as the operator (a member's
// name is refused, the operator's dropped), cannot receive what members
// say to each other (the server relays nothing to plain senders but the
// operator's lines), cannot join, leave or keep a membership alive, and
// cannot make the server send any address more than three times what it
// received from there.
//
// An on-path attacker, who can read the traffic, sees each member's key in
// its welcome and can then do all of the above and speak for the member.
// Protecting against it takes a handshake with encryption, such as DTLS
// 1.3 (RFC 9147), which is out of the scope of this package.
//
// # Membership
//
// A member's "msg" is relayed to every other member as "relay NAME :
// TEXT", after control characters, escape sequences and bidirectional
// overrides are removed from TEXT (a text with nothing left is not
// relayed); a "msg" from an address that is not a member gets "error
// not-member" if that fits the size rule. A member's signed datagrams
// keep it alive; a member silent for longer than [Server.MemberTimeout]
// (default [DefaultMemberTimeout], 60 s) is dropped and told "bye NAME
// expired". Clients send "ping" every [Client.KeepAlive] (default 20 s).
// "leave" is answered with "bye NAME left"; a graceful [Server.Shutdown]
// tells every member "bye NAME shutdown". Error datagrams answer joins,
// malformed datagrams (a join whose name breaks the rules is one) and a
// msg from a non-member; the server never answers a ping, a bye, an error
// or a datagram whose MAC or counter it refused.
//
// # Limits and defaults
//
// Per source IP address (IPv6: per /64), all ports together, the server
// accepts [DefaultPacketsPerSecond] datagrams per second in bursts of [DefaultPacketBurst];
// the rest are dropped unread ([Server.PacketsPerSecond], [Server.PacketBurst]). A member's
// signed datagrams count instead against an allowance of the same size
// of the member's own, after their MAC has been checked, so that
// datagrams spoofed from its address cannot silence it. Datagrams from
// source port 0 or below 1024 are dropped: those ports belong to services
// that answer anything, and a spoofed datagram must not start a loop
// between two servers. The member table holds at most
// [DefaultMaxMembers] members ([Server.MaxMembers]), and at most
// [DefaultMaxMembersPerAddr] (4) of them may share one source IP address
// (IPv6: one /64), all ports together ([Server.MaxMembersPerAddr]): one
// host with a thousand ports cannot fill the room, and its extra joins
// get "error address-full". The rate limiter's own table is bounded too.
// One member's message costs the server one datagram per other member;
// members are proven addresses that asked for them, and the member's rate
// bounds how fast any one member can do it.
//
// # Colour and terminal safety
//
// [Palette] maps a name to one of [DefaultColors], 24 colours of the
// xterm 256-colour cube that keep a contrast ratio of at least 3.5:1 on
// both black and white backgrounds, by a stable hash (FNV-1a); fixed
// assignments ([Palette.Set], [NewPalette]) override it, as the tutorial's
// dictionary does. [Renderer] prints "name : text" lines with the name
// coloured. With [ColorAuto] it emits colour escape codes only when the
// writer is a terminal, TERM is set and is not "dumb", and NO_COLOR is
// unset or empty (https://no-color.org); [ColorNever] and [ColorAlways]
// override that choice. A terminal whose TERM does not contain
// "256color" (and whose COLORTERM is neither "truecolor" nor "24bit")
// gets the nearest of the 16 ANSI colours instead of the palette's. Every
// program of the module decides colour this way. Names and texts from
// peers are cleaned before they are printed anywhere: by the server
// before it relays them or writes its transcript, and again by the
// client and the renderer.
package udpcolor
