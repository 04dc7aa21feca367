package logrec

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

func TestLog(t *testing.T) {
	t.Parallel()
	Log(nil, slog.LevelInfo, "nobody listens") // no Logger: nothing, no panic
	var b bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&b, nil))
	Log(l, slog.LevelInfo, "session ended", "remote", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7}, "n", 3)
	if got := b.String(); !strings.Contains(got, `"remote":"127.0.0.1:7"`) || !strings.Contains(got, `"n":3`) {
		t.Errorf("record %s: want the address as a string", got)
	}
	b.Reset()
	Log(l, slog.LevelDebug, "below the level")
	if b.Len() != 0 {
		t.Errorf("a record below the handler's level: %s", b.String())
	}
}
