package udpcolor

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func FuzzValidCookie(f *testing.F) {
	s := &Server{}
	s.init()
	now := time.Unix(1_800_000_000, 0)
	from := netip.MustParseAddrPort("10.0.0.1:41000")
	issued := s.cookie(now, from, "alice")
	// The last character carries 2 unused bits: the same bytes, spelt
	// otherwise, are not the cookie.
	last := strings.IndexByte(b64chars, issued[26])
	respelt := issued[:26] + string(b64chars[last^1])
	for _, c := range []string{issued, respelt, issued[:26], issued + "A", "", "AAAA", strings.Repeat("A", 27), "-_-_-_-_-_-_-_-_-_-_-_-_-_-"} {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		if s.validCookie(now, from, "alice", cookie) != (cookie == issued) {
			t.Fatalf("validCookie(%q) disagrees (issued %q)", cookie, issued)
		}
	})
}
