package udpcolor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"strconv"
)

// Sizes of a member's key and of the MAC its datagrams carry, in bytes.
const (
	// KeySize is the size of a [Key]: the output size of SHA-256, as
	// RFC 2104 recommends for an HMAC key.
	KeySize = 32
	// MACSize is the size of a MAC: HMAC-SHA256 cut to its first 16
	// bytes, as HMAC-SHA-256-128 in IPsec (RFC 4868).
	MACSize = 16
)

// Key is the secret a member shares with the server. The server draws a
// random one for every member it admits and sends it in the welcome,
// which goes to the address that has just echoed a cookie; from then on
// each msg, ping and leave of the member carries a counter and a MAC
// under the key, so that nobody who did not receive the welcome can
// speak, leave or keep alive in the member's name.
type Key [KeySize]byte

// newKey returns a random key.
func newKey() Key {
	var k Key
	rand.Read(k[:]) // never fails: crypto/rand crashes the program instead
	return k
}

// Sign returns p (a msg, ping or leave, with its Seq set) with its MAC
// under k. The MAC is the first [MACSize] bytes of HMAC-SHA256 under k
// over the datagram without its MAC field: the verb, a space and the
// counter in decimal, and for a msg a space and the text ("msg 7 hello").
func (k Key) Sign(p Packet) Packet {
	p.MAC = k.mac(p)
	return p
}

// Verify reports whether p carries its MAC under k. It takes the same
// time whichever byte of the MAC is wrong.
func (k Key) Verify(p Packet) bool {
	if !p.Kind.signed() {
		return false
	}
	want := k.mac(p)
	return hmac.Equal(p.MAC[:], want[:])
}

// mac returns the MAC of p under k, as Sign describes it.
func (k Key) mac(p Packet) [MACSize]byte {
	h := hmac.New(sha256.New, k[:])
	var head [32]byte // verb, space, 20 digits
	b := append(head[:0], p.Kind.String()...)
	b = strconv.AppendUint(append(b, ' '), p.Seq, 10)
	h.Write(b)
	if p.Kind == KindMsg {
		h.Write([]byte{' '})
		io.WriteString(h, p.Text)
	}
	var sum [sha256.Size]byte
	var mac [MACSize]byte
	copy(mac[:], h.Sum(sum[:0]))
	return mac
}
