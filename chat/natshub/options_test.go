package natshub

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		err  string // "" for none
	}{
		{"zero", Options{}, ""},
		{"prefix", Options{Prefix: "acme.chat-2"}, ""},
		{"empty token", Options{Prefix: "acme..chat"}, "natshub: Prefix acme..chat: must be"},
		{"wildcard", Options{Prefix: "acme.*"}, "natshub: Prefix acme.*: must be"},
		{"long prefix", Options{Prefix: strings.Repeat("a", 65)}, "natshub: Prefix"},
		{"short ttl", Options{NickTTL: time.Millisecond}, "natshub: NickTTL 1ms: must be 300ms to 24h0m0s"},
		{"negative pending", Options{MaxPendingBytes: -1}, "natshub: MaxPendingBytes -1: must be positive"},
		{"replicas", Options{Replicas: 7}, "natshub: Replicas 7: must be 1 to 5"},
		{"backoff", Options{ReconnectWait: time.Second, MaxReconnectWait: time.Millisecond}, "natshub: MaxReconnectWait 1ms: must not be less than ReconnectWait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.o.resolve()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("resolve: %v", err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Fatalf("resolve: %v, want %q...", err, tc.err)
			}
			if tc.err == "" {
				return // Connect would start a Hub
			}
			if _, cerr := Connect("nats://127.0.0.1:1", tc.o); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Connect: %v, want %v", cerr, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	s, err := (&Options{Prefix: "acme.chat"}).resolve()
	if err != nil {
		t.Fatal(err)
	}
	got := []string{s.roomPrefix, s.privPrefix, s.stream, s.nicksBucket, s.serversBucket}
	want := []string{"acme.chat.room.", "acme.chat.priv.", "ACME_CHAT_ROOMS", "acme_chat_nicks", "acme_chat_servers"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}
