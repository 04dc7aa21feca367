// Package timesync serves and measures time over UDP: an SNTPv4 server
// and client (RFC 4330, RFC 5905) that real NTP tools accept, and the
// tutorials' format service, which answers a strftime format with the
// server's time. One [Server] answers both on one port.
//
//	srv := &timesync.Server{}
//	go srv.ServePacket(ctx, pc) // pc from net.ListenPacket("udp", ":123")
//
//	var c timesync.Client
//	r, err := c.Query(ctx, "127.0.0.1:123")         // r.Offset, r.Delay, r.Stratum
//	s, err := c.Format(ctx, "127.0.0.1:123", "%T") // "14:05:09"
//
// # Protocol
//
// Both services use one UDP datagram for a request and one for its reply.
// A UDP source address can be forged, and the server has no proof that
// it is not, so it follows one anti-amplification rule: no reply is more
// than three times the size of its request (QUIC's limit, RFC 9000
// section 8.1). An NTP reply is never larger than its request; a format
// reply may be up to three times as large.
//
// # NTP packets (RFC 5905, section 7.3)
//
// An NTP packet starts with a 48-byte header, all integers big-endian:
//
//	byte  0     LI (2 bits) | VN, the version (3 bits) | Mode (3 bits)
//	byte  1     stratum: 0 Kiss-o'-Death, 1 primary, 2-15 secondary, 16 unsynchronised
//	byte  2     poll: log2 of the poll interval, seconds (signed)
//	byte  3     precision: log2 of the clock's precision, seconds (signed)
//	bytes 4-7   root delay, NTP short format (16.16 fixed point, seconds)
//	bytes 8-11  root dispersion, NTP short format
//	bytes 12-15 reference ID: a kiss code or ASCII source (stratum 0 and 1), an IPv4 address
//	bytes 16-23 reference timestamp: when the clock was last set
//	bytes 24-31 origin timestamp: the request's transmit timestamp, echoed by the server
//	bytes 32-39 receive timestamp: when the request reached the server
//	bytes 40-47 transmit timestamp: when the packet left its sender
//
// Extension fields and a MAC may follow; every NTP packet is a multiple
// of 4 bytes long. A timestamp has 32 bits of seconds since the start of
// its era and 32 bits of fraction; era 0 began on 1900-01-01 00:00:00 UTC
// and era 1 begins on 2036-02-07 06:28:16 UTC. The era is not sent: this
// package reads each timestamp in the era that puts it closest to the
// local clock ([Timestamp.Time]), and takes differences of timestamps
// modulo 2^64 ([Timestamp.Sub]), so it is right on both sides of 2036.
//
// The server answers a request of mode 3 (client) and version 1 to 4
// with a 48-byte reply of mode 4 (server), the same version and poll, the
// request's transmit timestamp as origin, the receive timestamp taken by
// the kernel when the datagram arrived (SO_TIMESTAMPNS on Linux), and the
// transmit timestamp read just before the reply is written. Stratum,
// reference ID, precision, root delay and dispersion and the leap
// indicator come from the [Server] fields; the reference timestamp is the
// start of the current second, so that it is never later than the
// receive time nor ever stale. A request is dropped if it is not a
// multiple of 4 bytes long or its transmit timestamp is zero; packets of
// any other mode are dropped. Extension fields and MACs are not read, and
// the reply has none: it is 48 bytes, never more than the request. On
// Linux the server moves up to 32 datagrams per system call (recvmmsg,
// sendmmsg); the transmit timestamps of a batch are read just before the
// call that sends it.
//
// A source over its rate gets a Kiss-o'-Death reply instead, itself rate
// limited: leap indicator 3, stratum 0, reference ID "RATE", and the
// request's transmit timestamp as origin, receive and transmit timestamp,
// so that it carries no time.
//
// # The format service
//
// A request is a strftime format as UTF-8 text, optionally followed by a
// NUL byte (0x00) and padding of any bytes, which the server ignores:
//
//	format text (no control characters but tab) [ 0x00 padding... ]
//
// The tutorials' client sends the bare format, with no NUL: the 17 bytes
// "%Y-%m-%d %H:%M:%S". The reply is the server's time at the arrival of
// the request, in that format, as UTF-8 text with no NUL and no
// terminator: for that request, the 19 bytes "2026-03-07 14:05:09".
//
// A reply may be at most three times the size of the request: 51 bytes
// for those 17. A client that asks for more pads its request to leave
// room: [Client.Format] sends the format, a NUL, and padding enough for
// the longest reply the format can have ([FormatRequestSize]). The bare
// "%c" (2 bytes, a 24-byte reply) needs 8 bytes, such as "%c" and six
// NULs. A request that cannot be answered gets an error reply: the byte
// 0x15 (ASCII NAK) followed by a short reason in ASCII, which says which
// limit or rule was hit, cut to three times the size of the request:
//
//	0x15 "unknown conversion %Q"
//	0x15 "incomplete conversion %"
//	0x15 "format too long: 300 bytes, at most 256"
//	0x15 "reply too large: 24 bytes, at most 3x the request's 2"
//
// The last one reaches the 2-byte "%c" as 0x15 "reply", its first 6
// bytes. A formatted time never starts with 0x15, since formats may not
// contain control characters and no conversion produces one.
//
// A reply may hold a newline (from %n) and tabs (from %t, or from tabs in
// the format): the only control characters in it, and the only ones a
// client should keep ([Client.Format] removes every other one, and any
// escape sequence from a zone name, before returning the reply).
//
// Datagrams that are not text (empty before the NUL, invalid UTF-8,
// control characters other than tab, bidirectional controls) get no reply
// at all, nor do requests from port 0 or ports below 1024, which belong
// to services that might answer back and start a loop, nor formats with
// no '%' in them. A format without a conversion would come back as
// itself, so a time formatted by one server, sent on to another by a
// spoofed source address, would be answered with itself forever. Every
// '%' in a reply comes from a "%%" in its request, so a chain of replies
// loses at least half its '%' at each step and ends; a reply holding a
// newline is not text to a server and is dropped at the next step; error
// replies start with 0x15 and are never answered.
//
// # Telling the services apart
//
// One server can answer both services on one port. Each datagram is
// classified by this rule, and by nothing else:
//
//   - It is an NTP request if it is 48 bytes long or longer and its first
//     byte has mode 3 and a version from 1 to 4: one of 0x0b, 0x13, 0x1b,
//     0x23, with any leap indicator in the top two bits (0x4b, 0x53, ...,
//     0xe3). As ASCII, these bytes are '#', 'K', 'S', '[' and 'c'.
//   - Every other datagram is a format request.
//
// A format request therefore can not be 48 bytes or longer if it starts
// with one of those 20 bytes (such as '#', 'c', or a character whose
// UTF-8 encoding starts with 0xcb, 0xd3, 0xdb or 0xe3: U+02C0..U+02FF,
// U+04C0..U+04FF, U+06C0..U+06FF and U+3000..U+3FFF, the Japanese kana
// among them). [Client.Format] keeps such requests to 47 bytes, and
// refuses formats that would not fit. Every real NTP client request has a
// mode-3 first byte and is at least 48 bytes, so no NTP request is ever
// taken for a format. When only one service is on ([Server.Services]),
// the rule still applies, and the datagrams of the other are dropped.
//
// With both services on, a datagram of under 48 bytes is a format request
// whatever it holds: an NTP packet cut short is dropped when its bytes are
// not text (the usual case: 0xe3, 0x1b and a NUL are not), but one that
// happens to start with '#' and a NUL reads as the format "#", which has
// no conversion and gets no reply. With only NTP on, every short datagram is dropped.
//
// # Format conversions
//
// The conversions are the locale-independent ones of C's strftime (C99
// and POSIX, with the GNU extensions %k, %l, %P and %s) and of Python's
// time.strftime, which calls it; names are English and %c, %r, %x and %X
// are those of the C locale, so the server and a C or Python program in
// the same zone format the same time alike. The time is the server's, in
// [Server.Location] (the local zone by default). The examples are for
// Saturday 2026-03-07 14:05:09.123456789 in CET:
//
//	%a  abbreviated weekday name                   Sat
//	%A  full weekday name                          Saturday
//	%b  abbreviated month name                     Mar
//	%h  the same as %b                             Mar
//	%B  full month name                            March
//	%c  date and time, "%a %b %e %H:%M:%S %Y"      Sat Mar  7 14:05:09 2026
//	%C  century, the year divided by 100, 2 digits 20
//	%d  day of the month, 01-31                    07
//	%D  %m/%d/%y                                   03/07/26
//	%e  day of the month, space-padded             " 7"
//	%F  %Y-%m-%d                                   2026-03-07
//	%G  year of the ISO 8601 week (see %V)         2026
//	%g  year of the ISO 8601 week, 2 digits        26
//	%H  hour, 00-23                                14
//	%I  hour, 01-12                                02
//	%j  day of the year, 001-366                   066
//	%k  hour, 0-23, space-padded                   14
//	%l  hour, 1-12, space-padded                   " 2"
//	%m  month, 01-12                               03
//	%M  minute, 00-59                              05
//	%n  a newline
//	%p  AM or PM                                   PM
//	%P  am or pm                                   pm
//	%r  %I:%M:%S %p                                02:05:09 PM
//	%R  %H:%M                                      14:05
//	%s  seconds since 1970-01-01 00:00:00 UTC      1772888709
//	%S  second, 00-60                              09
//	%t  a tab
//	%T  %H:%M:%S                                   14:05:09
//	%u  weekday, 1-7, Monday is 1                  6
//	%U  week of the year, 00-53, weeks from Sunday 09
//	%V  ISO 8601 week, 01-53                       10
//	%w  weekday, 0-6, Sunday is 0                  6
//	%W  week of the year, 00-53, weeks from Monday 09
//	%x  date, %m/%d/%y                             03/07/26
//	%X  time, %H:%M:%S                             14:05:09
//	%y  year in the century, 2 digits              26
//	%Y  year, at least 4 digits                    2026
//	%z  offset from UTC, +hhmm or -hhmm            +0100
//	%Z  time zone abbreviation                     CET
//	%%  a literal %
//
// Three more are this package's own, for fractions of a second:
//
//	%N  nanoseconds, 9 digits                      123456789
//	%3N fraction of a second, 1-9 digits (%1N to %9N), truncated: %3N is milliseconds
//	%f  microseconds, 6 digits                     123456
//
// In %U and %W, the days of the year before its first Sunday (Monday) are
// in week 00. An ISO 8601 week (%V) starts on Monday, and week 01 is the
// one with the year's first Thursday: 2027-01-01, a Friday, is in week 53
// of ISO year 2026 ("%G-W%V-%u" gives 2026-W53-5).
//
// Any other character after % is an error, and so is a % at the end:
// flags, field widths and the E and O modifiers of C are not supported.
//
// # Limits and defaults
//
// Every limit of a zero [Server] is safe for a public address: each
// source (an IPv4 address, an IPv6 /64) may send 8 datagrams a second
// with bursts of 16 ([Server.PacketsPerSecond], [Server.PacketBurst]);
// an NTP request past that gets at most one Kiss-o'-Death every two
// seconds, and a format request nothing. The table of sources is bounded
// ([Server.MaxSources]). Datagrams over 2048 bytes ([Server.MaxDatagram])
// and formats over 256 bytes ([Server.MaxFormat]) are refused. No reply is
// more than three times as large as its request, and format requests from ports below 1024 are
// dropped, so the server cannot be turned against a third party or
// another service. [Server.Stats] counts what was answered and dropped.
//
// # Shutdown
//
// [Server.Shutdown] stops reading (a read deadline in the past), lets the
// replies already computed go out, and waits for every
// [Server.ServePacket] to return; [Server.Close] and cancelling the
// context of ServePacket close the packet conns at once. Either way
// ServePacket returns [ErrServerClosed], and no goroutine is left.
//
// # Client
//
// [Client.Query] sends several requests ([Client.Samples]), each with a
// random transmit timestamp, at most one every [Client.Interval]: by
// default the rate a default Server allows each source, so that a default
// Client never meets a default Server's Kiss-o'-Death, however many
// samples it takes. It drops replies whose origin does not match, that
// are too short, or that come from another address, validates the rest
// as strict clients do (mode 4, stratum 1 to 15, leap indicator not 3,
// timestamps present and in order, root distance under 1.5 s), stops at a
// Kiss-o'-Death with a [*KissOfDeathError] (keeping the samples it has
// for a "RATE"), and returns the sample with the least round-trip delay.
// With T1 the client's transmit time, T2 the
// server's receive time, T3 its transmit time and T4 the client's
// receive time (read by the kernel where it can):
//
//	offset = ((T2 - T1) + (T3 - T4)) / 2
//	delay  = (T4 - T1) - (T3 - T2)
package timesync
