package timesync

import (
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
)

// TestFormatReplyBudget: a format reply may be up to three times its
// request, counted on the wire (28 bytes of IPv4 and UDP headers each
// way), and no more; past that, the error reply says which limit was hit,
// cut to the budget. The server's clock is the documentation's
// example.
func TestFormatReplyBudget(t *testing.T) {
	t.Parallel()
	fixed := docTime(t)
	srv := &Server{Now: func() time.Time { return fixed }, Location: fixed.Location(), PacketsPerSecond: -1}
	c := dialUDP(t, startServer(t, srv))
	for _, tc := range []struct{ name, req, reply string }{
		{"the tutorial's bare format", "%Y-%m-%d %H:%M:%S", "2026-03-07 14:05:09"},
		{"bare %c", "%c", "Sat Mar  7 14:05:09 2026"},
		{"within 3x on the wire", "%c%c%c%c" + strings.Repeat("\x00", 6), strings.Repeat("Sat Mar  7 14:05:09 2026", 4)},
		{"one byte short", "%c%c%c%c" + strings.Repeat("\x00", 5), "\x15reply too large: 96 bytes, at most 95 for a 13-byte request"},
		{"one byte short, cut", "%c%c%c%c%c%c%c%c%c%c", "\x15reply too large: 240 bytes, at most 116 for a 20-byte request"},
		{"newline and tab", "%H%n%M%t%S", "14\n05\t09"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrip(t, c, []byte(tc.req))
			if string(got) != tc.reply {
				t.Errorf("reply %q, want %q", got, tc.reply)
			}
			if len(got) > admit.Budget(len(tc.req)) {
				t.Errorf("reply of %d bytes to %d", len(got), len(tc.req))
			}
		})
	}
	if st := srv.Stats(); st.Dropped.Amplification != 2 || st.FormatReplies != 4 || st.FormatErrors != 2 {
		t.Errorf("stats %+v", st)
	}
}
