package timesync

import (
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/admit"
	"github.com/sockkit/sockkit/internal/leaktest"
)

// TestFormatReplyBudget: a format reply may be up to three times its
// request and no more; past that, the error reply says which limit was
// hit, cut to the budget. The server's clock is the documentation's
// example.
func TestFormatReplyBudget(t *testing.T) {
	defer leaktest.Check(t)()
	fixed := docTime(t)
	srv := &Server{Now: func() time.Time { return fixed }, Location: fixed.Location(), PacketsPerSecond: -1}
	c := dialUDP(t, startServer(t, srv))
	for _, tc := range []struct{ name, req, reply string }{
		{"the tutorial's bare format", "%Y-%m-%d %H:%M:%S", "2026-03-07 14:05:09"},
		{"exactly 3x", "%c" + strings.Repeat("\x00", 6), "Sat Mar  7 14:05:09 2026"},
		{"bare %c, cut to 6 bytes", "%c", "\x15reply"},
		{"one byte short, cut", "%c" + strings.Repeat("\x00", 5), "\x15reply too large: 24 "},
		{"one byte short", "%c%c%c" + strings.Repeat("\x00", 17), "\x15reply too large: 72 bytes, at most 3x the request's 23"},
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
	if st := srv.Stats(); st.Dropped.Amplification != 3 || st.FormatReplies != 3 || st.FormatErrors != 3 {
		t.Errorf("stats %+v", st)
	}
}
