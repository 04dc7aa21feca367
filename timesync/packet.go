package timesync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// PacketSize is the size of an NTP header without extension fields or
// MAC: the size of every packet this package sends.
const PacketSize = 48

// ntpEpochOffset is the number of seconds from the NTP prime epoch
// (1900-01-01 00:00:00 UTC) to the Unix epoch.
const ntpEpochOffset = 2208988800

// Mode is the association mode of an NTP packet (the low three bits of
// its first byte).
type Mode uint8

// The modes this package deals with (RFC 5905, figure 10).
const (
	ModeSymmetricActive  Mode = 1
	ModeSymmetricPassive Mode = 2
	ModeClient           Mode = 3
	ModeServer           Mode = 4
	ModeBroadcast        Mode = 5
	ModeControl          Mode = 6
	ModePrivate          Mode = 7
)

// LeapIndicator warns of a leap second to be inserted or deleted at the
// end of the current day; LeapNotSynchronized means the clock is not
// synchronised (the "alarm" condition).
type LeapIndicator uint8

// Leap indicator values (RFC 5905, figure 9).
const (
	LeapNone            LeapIndicator = 0
	LeapAddSecond       LeapIndicator = 1
	LeapDelSecond       LeapIndicator = 2
	LeapNotSynchronized LeapIndicator = 3
)

func (l LeapIndicator) String() string {
	switch l {
	case LeapNone:
		return "none"
	case LeapAddSecond:
		return "add second"
	case LeapDelSecond:
		return "delete second"
	default:
		return "not synchronized"
	}
}

// Timestamp is a 64-bit NTP timestamp: seconds since the start of the
// current NTP era in the high 32 bits, and the fraction of a second in
// units of 2^-32 s in the low 32 bits. Era 0 began on 1900-01-01 and
// era 1 begins on 2036-02-07 06:28:16 UTC; a Timestamp does not say
// which era it is in, so [Timestamp.Time] needs a pivot time.
//
// The zero Timestamp means "unknown" in NTP packets.
type Timestamp uint64

// TimestampOf returns the NTP timestamp of t, in whatever era t falls,
// rounded to the nearest 2^-32 s.
func TimestampOf(t time.Time) Timestamp {
	secs := uint64(t.Unix() + ntpEpochOffset)
	// nsec < 1e9, so nsec<<32 fits in 64 bits; +5e8 rounds to nearest.
	frac := (uint64(t.Nanosecond())<<32 + 5e8) / 1e9
	return Timestamp(secs<<32 | frac) // frac < 2^32 even rounded: 999999999 ns is 0xfffffffb
}

// Seconds returns the seconds part of ts, within its era.
func (ts Timestamp) Seconds() uint32 { return uint32(ts >> 32) }

// Fraction returns the fraction part of ts, in units of 2^-32 s.
func (ts Timestamp) Fraction() uint32 { return uint32(ts) }

// IsZero reports whether ts is the zero timestamp, which NTP uses for
// "unknown" or "not set".
func (ts Timestamp) IsZero() bool { return ts == 0 }

// Time returns the time ts stands for in the era that puts it closest to
// pivot: within 68 years of it, before or after. Any recent reading of the
// local clock is a good pivot, so a Timestamp is read right on both sides
// of the era boundary of 2036-02-07.
func (ts Timestamp) Time(pivot time.Time) time.Time {
	p := pivot.Unix() + ntpEpochOffset // pivot in seconds since 1900
	base := p - 1<<31
	secs := base + int64(uint32(ts.Seconds()-uint32(base)))
	nsec := (uint64(ts.Fraction())*1e9 + 1<<31) >> 32 // rounded to nearest
	return time.Unix(secs-ntpEpochOffset, int64(nsec)).UTC()
}

// Sub returns ts-u as a duration, for two timestamps less than 68 years
// apart; it is right across an era boundary (RFC 5905, section 6: the
// difference of two timestamps is taken modulo 2^64, as a signed value).
func (ts Timestamp) Sub(u Timestamp) time.Duration {
	d := int64(ts - u) // seconds in 32.32 fixed point
	sec := d >> 32
	frac := uint64(uint32(d))
	return time.Duration(sec)*time.Second + time.Duration((frac*1e9+1<<31)>>32)
}

func (ts Timestamp) String() string {
	return fmt.Sprintf("%08x.%08x", ts.Seconds(), ts.Fraction())
}

// Short is an unsigned 32-bit NTP short format value: seconds in the high
// 16 bits and the fraction in units of 2^-16 s in the low 16 bits. It
// carries the root delay and root dispersion.
type Short uint32

// ShortOf returns d in NTP short format, rounded up to the next 2^-16 s
// (so that a small, non-zero dispersion never reads as zero) and clamped
// to the range of the format. Negative durations become zero.
func ShortOf(d time.Duration) Short {
	if d <= 0 {
		return 0
	}
	if d >= 1<<16*time.Second {
		return 0xffffffff
	}
	// d < 2^16 s = 6.6e13 ns, so d<<16 < 4.3e18 fits in int64.
	return Short((uint64(d)<<16 + 1e9 - 1) / 1e9)
}

// Duration returns s as a duration.
func (s Short) Duration() time.Duration {
	return time.Duration((uint64(s)*1e9 + 1<<15) >> 16)
}

// Packet is the 48-byte header of an NTPv4 packet (RFC 5905, section 7.3),
// decoded. Extension fields and MACs are not kept.
type Packet struct {
	Leap      LeapIndicator
	Version   uint8 // 1 to 4 for the packets this package accepts
	Mode      Mode
	Stratum   uint8 // 0: unspecified or Kiss-o'-Death; 1: primary; 2-15: secondary; 16: unsynchronised
	Poll      int8  // log2 of the poll interval in seconds
	Precision int8  // log2 of the precision of the clock in seconds

	RootDelay      Short
	RootDispersion Short
	RefID          [4]byte // a kiss code, an ASCII source, or an address

	Reference Timestamp // when the clock was last set or corrected
	Origin    Timestamp // the client's transmit time, echoed by the server
	Receive   Timestamp // when the server received the request
	Transmit  Timestamp // when the packet left its sender
}

// Errors returned by [Packet.UnmarshalBinary].
var (
	ErrShortPacket = errors.New("timesync: NTP packet shorter than 48 bytes")
	ErrBadLength   = errors.New("timesync: NTP packet length not a multiple of 4")
)

// UnmarshalBinary decodes the NTP header at the start of b. It fails when
// b is shorter than 48 bytes or not a multiple of 4 bytes long (every NTP
// packet is, with or without extension fields and MAC); the bytes past
// the header are not examined. The fields are not validated: that is for
// the server or the client, which know what they expect.
func (p *Packet) UnmarshalBinary(b []byte) error {
	if len(b) < PacketSize {
		return ErrShortPacket
	}
	if len(b)%4 != 0 {
		return ErrBadLength
	}
	be := binary.BigEndian
	*p = Packet{
		Leap:           LeapIndicator(b[0] >> 6),
		Version:        b[0] >> 3 & 7,
		Mode:           Mode(b[0] & 7),
		Stratum:        b[1],
		Poll:           int8(b[2]),
		Precision:      int8(b[3]),
		RootDelay:      Short(be.Uint32(b[4:])),
		RootDispersion: Short(be.Uint32(b[8:])),
		RefID:          [4]byte(b[12:16]),
		Reference:      Timestamp(be.Uint64(b[16:])),
		Origin:         Timestamp(be.Uint64(b[24:])),
		Receive:        Timestamp(be.Uint64(b[32:])),
		Transmit:       Timestamp(be.Uint64(b[40:])),
	}
	return nil
}

// AppendBinary appends the 48-byte encoding of p to b. Fields too large
// for their bits (a Leap above 3, a Version or Mode above 7) are masked.
func (p *Packet) AppendBinary(b []byte) ([]byte, error) {
	be := binary.BigEndian
	b = append(b, byte(p.Leap&3)<<6|(p.Version&7)<<3|byte(p.Mode&7), p.Stratum, byte(p.Poll), byte(p.Precision))
	b = be.AppendUint32(b, uint32(p.RootDelay))
	b = be.AppendUint32(b, uint32(p.RootDispersion))
	b = append(b, p.RefID[:]...)
	b = be.AppendUint64(b, uint64(p.Reference))
	b = be.AppendUint64(b, uint64(p.Origin))
	b = be.AppendUint64(b, uint64(p.Receive))
	b = be.AppendUint64(b, uint64(p.Transmit))
	return b, nil
}

// MarshalBinary returns the 48-byte encoding of p.
func (p *Packet) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, PacketSize))
}

// putTransmit overwrites the transmit timestamp of an encoded packet, so
// that it can be taken at the last moment before the packet is sent.
func putTransmit(b []byte, ts Timestamp) {
	binary.BigEndian.PutUint64(b[40:48], uint64(ts))
}

// KissCode returns the kiss code of a Kiss-o'-Death packet (stratum 0,
// such as "RATE" or "DENY"), or "" if p is not one. Non-printable bytes
// are dropped so the code is safe to show.
func (p *Packet) KissCode() string {
	if p.Stratum != 0 {
		return ""
	}
	return refIDText(p.RefID)
}

// refIDText returns the printable ASCII of a reference ID, up to the
// first NUL.
func refIDText(id [4]byte) string {
	var b []byte
	for _, c := range id {
		if c == 0 {
			break
		}
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// RefIDString formats a reference ID the way NTP tools show it: four
// ASCII characters for a stratum 0 or 1 packet (a kiss code or the source
// of a primary server), and a dotted IPv4 address (or, for IPv6 peers,
// the first four bytes of a hash of it) for higher strata.
func RefIDString(stratum uint8, id [4]byte) string {
	if stratum <= 1 {
		return refIDText(id)
	}
	return fmt.Sprintf("%d.%d.%d.%d", id[0], id[1], id[2], id[3])
}

// isNTPRequestHeader reports whether a datagram is taken as an NTP client
// request: at least 48 bytes, with version 1 to 4 and mode 3 in its first
// byte. See the package documentation, "Telling the services apart".
func isNTPRequestHeader(b []byte) bool {
	if len(b) < PacketSize {
		return false
	}
	v := b[0] >> 3 & 7
	return Mode(b[0]&7) == ModeClient && v >= 1 && v <= 4
}
