package chat

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
)

// A session's start and end are info records with the nickname and the
// address, and the end says how long the session lasted and why it ended.
func TestSessionLog(t *testing.T) {
	logs := &clitest.Buffer{}
	s := &Server{Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	addr, stop := start(t, s)
	r := login2(t, addr, "ann", DefaultRoom)
	local := r.c.LocalAddr().String()
	r.send("/quit\n")
	r.expect("BYE quit goodbye")
	r.expectEOF()
	stop()
	type record struct {
		Level, Msg, Nick, Remote, Reason string
		Duration                         *time.Duration
	}
	var got []record
	for line := range strings.Lines(logs.String()) {
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if strings.HasPrefix(rec.Msg, "chat: session") {
			got = append(got, rec)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d session records, want 2:\n%s", len(got), logs.String())
	}
	if b := got[0]; b.Msg != "chat: session started" || b.Level != "INFO" || b.Nick != "ann" || b.Remote != local {
		t.Errorf("start %+v, want ann from %s", b, local)
	}
	if e := got[1]; e.Msg != "chat: session ended" || e.Level != "INFO" || e.Nick != "ann" || e.Remote != local || e.Reason != "quit" || e.Duration == nil || *e.Duration < 0 {
		t.Errorf("end %+v, want ann from %s, quit, with a duration", e, local)
	}
}
