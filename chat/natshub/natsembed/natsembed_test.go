package natsembed

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestStartAgainOnItsPort(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	if want := fmt.Sprintf("nats://127.0.0.1:%d", port); s.URL() != want {
		t.Errorf("URL %q, want %q", s.URL(), want)
	}
	ping(t, s.URL())
	s.Shutdown()
	s, err = Start(Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown()
	ping(t, s.URL())
}

// ping connects and checks that JetStream answers.
func ping(t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	resp, err := nc.Request("$JS.API.INFO", nil, 10*time.Second)
	if err != nil || !strings.Contains(string(resp.Data), "io.nats.jetstream.api.v1.account_info_response") {
		t.Fatalf("JetStream: %v %v", err, resp)
	}
}

func TestBadPort(t *testing.T) {
	for _, p := range []int{-1, 65536} {
		if _, err := Start(Options{Port: p}); err == nil || !strings.Contains(err.Error(), "Port") {
			t.Errorf("Start with port %d: %v", p, err)
		}
	}
}
