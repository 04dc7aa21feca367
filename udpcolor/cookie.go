package udpcolor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/netip"
	"time"
)

// cookie returns the cookie for name at from issued at now: base64url
// (no padding) of the issue time in seconds (4 bytes, big-endian) and the
// first 16 bytes of HMAC-SHA256 under the server's key over that time,
// the address (16 bytes), the port (2 bytes) and the name.
func (s *Server) cookie(now time.Time, from netip.AddrPort, name string) string {
	var b [20]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix()))
	copy(b[4:], s.mac(b[:4], from, name))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) mac(t []byte, from netip.AddrPort, name string) []byte {
	h := hmac.New(sha256.New, s.key[:])
	h.Write(t)
	a := from.Addr().As16()
	h.Write(a[:])
	var port [2]byte
	binary.BigEndian.PutUint16(port[:], from.Port())
	h.Write(port[:])
	io.WriteString(h, name)
	return h.Sum(nil)[:16]
}

// validCookie reports whether cookie was issued by this server to from
// for name, no longer than the cookie lifetime ago.
func (s *Server) validCookie(now time.Time, from netip.AddrPort, name, cookie string) bool {
	b, err := b64.DecodeString(cookie)
	if err != nil || len(b) != 20 {
		return false
	}
	age := now.Unix() - int64(binary.BigEndian.Uint32(b[:4]))
	if age < -1 || time.Duration(age)*time.Second > s.cookieLifetime() {
		return false
	}
	return hmac.Equal(b[4:], s.mac(b[:4], from, name))
}
