// Package udpcolor is a group chat over UDP with coloured names: a relay
// server that many clients join at once, a client, and a renderer that
// gives every name a stable, readable colour.
//
// It is the reusable version of the tutorials' UDP chat, where a client
// sends "name : text" datagrams and the server prints each line coloured
// by the sender's name. Here the server also relays every message to the
// other members, and it is built so that it cannot be abused: it keeps no
// state for an address until that address has proven it can receive
// there, it never sends an unproven address more bytes than it received
// from it, it limits every source's rate, its member table is bounded,
// and no peer can put an escape sequence on anyone's terminal.
//
// # Protocol
//
// Every datagram is UTF-8 text of at most [MaxDatagram] (1,200) bytes,
// which fits the smallest IPv6 path MTU without fragmentation. It starts
// with a lowercase verb; arguments follow, each after one space (0x20).
// One trailing LF (0x0a) or CR LF is ignored, so tools such as nc can
// speak the protocol. A datagram that is not valid UTF-8, breaks the
// grammar below, or is larger than MaxDatagram is dropped; receivers read
// into a buffer of MaxDatagram+1 bytes, so a datagram cut short by the
// read is seen as too large and dropped whole, never relayed in part.
//
// Names are 1 to [MaxName] (32) bytes of ASCII letters, digits, '-', '_'
// and '.', starting with a letter or a digit (see [ValidName]), and are
// unique per server regardless of case. Message text is 1 to [MaxText]
// (1,024) bytes of UTF-8 on one line (no CR or LF). A cookie is 1 to 64
// bytes of letters, digits, '-' and '_'.
//
// Client to server:
//
//	join NAME [COOKIE] SP*    join, then echo the cookie; padded with spaces to >= MinJoin (256) bytes
//	msg TEXT                  say TEXT to the other members
//	ping                      keep the membership alive; no answer
//	leave                     end the membership
//
// Server to client:
//
//	cookie NAME COOKIE        the challenge: echo it in a second join
//	welcome NAME              admitted
//	relay NAME : TEXT         what member NAME said ("name : text", as in the tutorial)
//	bye NAME REASON           membership over: left, expired or shutdown
//	error CODE [DETAIL]       bad-request, name-taken, full, address-full, bad-cookie or not-member
//
// The server answers nothing but the four client verbs. A datagram of a
// kind that only servers send, and any other datagram that does not start
// with a client verb, is dropped without an error: an error in answer to
// an error would let one spoofed datagram set two servers (or a server
// and any service that answers garbage) talking to each other forever.
//
// For example, alice joins and says hello to bob (→ to the server, ← from
// it; the joins carry 246 and 218 spaces of padding):
//
//	alice → join alice␠␠␠…                       6a 6f 69 6e 20 61 6c 69 63 65 20 20 …  (256 bytes)
//	alice ← cookie alice Z3xV…                   63 6f 6f 6b 69 65 20 61 6c 69 63 65 20 …  (40 bytes)
//	alice → join alice Z3xV…␠␠␠…                 (256 bytes)
//	alice ← welcome alice
//	alice → msg hello
//	bob   ← relay alice : hello                  72 65 6c 61 79 20 61 6c 69 63 65 20 3a 20 68 65 6c 6c 6f
//
// # Joining: the cookie exchange
//
// A join without a cookie gets a cookie (or an error) and nothing else:
// the server stores nothing. The cookie is 27 characters of base64url
// (RFC 4648, no padding) over 20 bytes: the time of issue in seconds
// since 1970 (4 bytes, big-endian) and the first 16 bytes of HMAC-SHA256,
// under a random key that each Server draws when it starts, over that
// time, the client's IP address (16 bytes, IPv4 in its IPv6-mapped form),
// its port (2 bytes, big-endian) and the name. Only a client that
// receives at its source address can echo it, and only for that name,
// within [Server.CookieLifetime] (default [DefaultCookieLifetime]). The
// second join is admitted if the name is still free and the member table
// has room; the server answers "welcome NAME". A client that rejoins under
// its own name (its welcome was lost) gets the welcome again; one that
// joins under another name gives up the first.
//
// Because a spoofed source address cannot echo the cookie, joins that are
// never completed cost the server nothing but a reply, and that reply is
// never larger than the join: every join must be padded to at least
// [MinJoin] bytes (as QUIC pads its Initial packets), while the largest
// cookie or error datagram is far smaller. The same rule holds for every
// datagram from an address that is not a member: an answer larger than
// the request is not sent at all, so the server cannot amplify traffic
// towards a third party.
//
// # Membership
//
// A member's "msg" is relayed to every other member as "relay NAME :
// TEXT", after control characters, escape sequences and bidirectional
// overrides are removed from TEXT (a text with nothing left is not
// relayed); a "msg" from an address that is not a member gets "error
// not-member" if that fits the size rule. Any datagram from a member
// keeps it alive; a member silent for longer than [Server.MemberTimeout]
// (default [DefaultMemberTimeout], 60 s) is dropped and told "bye NAME
// expired". Clients send "ping" every [Client.KeepAlive] (default 20 s).
// "leave" is answered with "bye NAME left"; a graceful [Server.Shutdown]
// tells every member "bye NAME shutdown". Error datagrams answer joins,
// malformed datagrams (a join whose name breaks the rules is one) and a
// msg from a non-member; the server never answers a ping, a bye or an
// error.
//
// # Limits and defaults
//
// Per source IP address (IPv6: per /64), all ports together, the server
// accepts [DefaultRate] datagrams per second in bursts of [DefaultBurst];
// the rest are dropped unread ([Server.Rate], [Server.Burst]). Datagrams
// from source port 0 or below 1024 are dropped: those ports belong to
// services that answer anything, and a spoofed datagram must not start a
// loop between two servers. The member table holds at most
// [DefaultMaxMembers] members ([Server.MaxMembers]), and at most
// [DefaultMaxMembersPerAddr] (4) of them may share one source IP address
// (IPv6: one /64), all ports together ([Server.MaxMembersPerAddr]): one
// host with a thousand ports cannot fill the room, and its extra joins
// get "error address-full". The rate limiter's own table is bounded too. One member's message costs the server one
// datagram per other member; members are proven addresses that asked for
// them, and the per-source rate bounds how fast any one member can do it.
//
// # Colour and terminal safety
//
// [Palette] maps a name to one of [DefaultColors], 24 colours of the
// xterm 256-colour cube that keep a contrast ratio of at least 3.5:1 on
// both black and white backgrounds, by a stable hash (FNV-1a); fixed
// assignments ([Palette.Set], [NewPalette]) override it, as the tutorial's
// dictionary does. [Renderer] prints "name : text" lines with the name
// coloured. With [ColorAuto] it emits colour escape codes only when the
// writer is a terminal and NO_COLOR is unset; [ColorNever] and
// [ColorAlways] override that choice. Names and texts from peers are
// cleaned before they are printed anywhere: by the server before it
// relays them or writes its transcript, and again by the client and the
// renderer.
package udpcolor
