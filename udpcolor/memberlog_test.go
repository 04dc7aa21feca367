package udpcolor

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/clitest"
)

// Each join and leave is an info record with the member's name, address
// and, on leaving, how long it was a member.
func TestMemberLog(t *testing.T) {
	logs := &clitest.Buffer{}
	h := newHarness(t, &Server{Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	h.join(alice, "alice")
	h.clock.Add(3 * time.Second)
	h.leave(alice)
	h.drain()
	type record struct {
		Level, Msg, Name, From string
		Duration               *time.Duration
	}
	var got []record
	for line := range strings.Lines(logs.String()) {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if r.Name == "alice" {
			got = append(got, r)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d records of alice, want 2:\n%s", len(got), logs.String())
	}
	if j := got[0]; j.Msg != "udpcolor: member joined" || j.Level != "INFO" || j.From != alice.String() || j.Duration != nil {
		t.Errorf("join record %+v", j)
	}
	if l := got[1]; l.Msg != "udpcolor: member left" || l.Level != "INFO" || l.From != alice.String() || l.Duration == nil || *l.Duration != 3*time.Second {
		t.Errorf("leave record %+v", l)
	}
}
