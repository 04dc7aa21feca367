package main

import (
	"encoding/binary"
	"net/netip"
)

// appendUDP4 appends to b an IPv4 packet that holds a UDP datagram from
// from to to. The kernel fills in the IP header's checksum and
// identification (and checks the total length) on a raw socket; the UDP
// checksum is the packet's own.
func appendUDP4(b []byte, from, to netip.AddrPort, payload []byte) []byte {
	const ipLen, udpLen = 20, 8
	total := ipLen + udpLen + len(payload)
	start := len(b)
	b = append(b, make([]byte, ipLen+udpLen)...)
	b = append(b, payload...)
	p := b[start:]
	p[0] = 0x45 // IPv4, a header of 5 32-bit words
	binary.BigEndian.PutUint16(p[2:], uint16(total))
	p[8] = 64 // TTL
	p[9] = 17 // UDP
	src, dst := from.Addr().As4(), to.Addr().As4()
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	u := p[ipLen:]
	binary.BigEndian.PutUint16(u[0:], from.Port())
	binary.BigEndian.PutUint16(u[2:], to.Port())
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	binary.BigEndian.PutUint16(u[6:], udpChecksum(src, dst, u))
	return b
}

// udpChecksum is the UDP checksum of RFC 768 over the IPv4 pseudo-header
// and the datagram u (whose checksum field is zero): the one's
// complement of the one's complement sum of its 16-bit words, 0xffff
// where that is zero (zero means "no checksum").
func udpChecksum(src, dst [4]byte, u []byte) uint16 {
	sum := uint32(17) + uint32(len(u))
	for _, part := range [][]byte{src[:], dst[:], u} {
		for i := 0; i+1 < len(part); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(part[i:]))
		}
		if len(part)%2 == 1 {
			sum += uint32(part[len(part)-1]) << 8
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	if c := ^uint16(sum); c != 0 {
		return c
	}
	return 0xffff
}
