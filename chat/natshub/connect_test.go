package natshub

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// TestConnectRefused: a NATS server that is there and refuses the Hub
// makes Connect fail with what NATS said, where one that cannot be
// reached gives a Hub with local-only rooms that keeps trying.
func TestConnectRefused(t *testing.T) {
	noLeaks(t)
	ns := startNATS(t, &server.Options{
		Username: "chat", Password: "secret",
	})
	notCreds := filepath.Join(t.TempDir(), "x.creds")
	if err := os.WriteFile(notCreds, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []nats.Option
		want string // in the error; "" for a Hub
		auth bool   // the error is nats.ErrAuthorization
	}{
		{"no password", nil, "natshub: NATS refused the credentials (or their absence): nats: Authorization Violation", true},
		{"wrong password", []nats.Option{nats.UserInfo("chat", "guess")}, "Authorization Violation", true},
		{"not a creds file", []nats.Option{nats.UserCredentials(notCreds)}, "natshub: connecting to NATS: error signing nonce", false},
		{"right password", []nats.Option{nats.UserInfo("chat", "secret")}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions()
			o.NATS = tc.opts
			h, err := Connect(ns.ClientURL(), o)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				if !h.Shared() {
					t.Error("the rooms are not shared")
				}
				return
			}
			if err == nil {
				h.Close()
				t.Fatalf("Connect succeeded, want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, nats.ErrAuthorization) != tc.auth {
				t.Errorf("Connect: %v, want %q (authorization error: %v)", err, tc.want, tc.auth)
			}
		})
	}

	// Nothing listens on a port that was just closed: that may pass.
	url := ns.ClientURL()
	ns.Shutdown()
	ns.WaitForShutdown()
	o := testOptions()
	o.NATS = []nats.Option{nats.UserInfo("chat", "secret")}
	h, err := Connect(url, o)
	if err != nil {
		t.Fatalf("Connect to a NATS that is not there: %v, want a local-only Hub", err)
	}
	defer h.Close()
	if h.Shared() {
		t.Error("shared rooms without NATS")
	}
}

// TestConnectTLSRefused: a NATS that answers over TLS with a certificate
// the Hub does not trust is a server that answered, not one that is not
// there: Connect fails with the reason instead of retrying it for ever.
func TestConnectTLSRefused(t *testing.T) {
	noLeaks(t)
	srvCert, otherCA := tlstest.New(t), tlstest.New(t)
	ns := startNATS(t, &server.Options{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{srvCert.TLS}, MinVersion: tls.VersionTLS12},
	})
	o := testOptions()
	o.NATS = []nats.Option{nats.Secure(&tls.Config{RootCAs: otherCA.Pool, MinVersion: tls.VersionTLS12})}
	h, err := Connect(ns.ClientURL(), o)
	if err == nil {
		h.Close()
		t.Fatal("Connect with an untrusted server certificate succeeded, want its error")
	}
	if !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Connect: %v, want the certificate's error", err)
	}

	// A server that wants a client certificate, and gets none, answers
	// with a TLS alert: a refusal too, not an absence.
	mtls := startNATS(t, &server.Options{
		TLSVerify: true,
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{srvCert.TLS}, MinVersion: tls.VersionTLS12,
			ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: otherCA.Pool,
		},
	})
	o.NATS = []nats.Option{nats.Secure(&tls.Config{RootCAs: srvCert.Pool, MinVersion: tls.VersionTLS12})}
	h, err = Connect(mtls.ClientURL(), o)
	if err == nil {
		shared := h.Shared()
		h.Close()
		t.Fatalf("Connect without the client certificate a NATS asks for: a Hub (shared: %v), want the TLS error", shared)
	} else {
		t.Logf("Connect without the client certificate: %v", err)
	}

	// With the right CA, the rooms are shared.
	o.NATS = []nats.Option{nats.Secure(&tls.Config{RootCAs: srvCert.Pool, MinVersion: tls.VersionTLS12})}
	h, err = Connect(ns.ClientURL(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !h.Shared() {
		t.Error("the rooms are not shared over TLS")
	}
}

// startNATS starts an in-process NATS server with JetStream on the
// loopback with o's other options, stopped when the test ends.
func startNATS(t *testing.T, o *server.Options) *server.Server {
	t.Helper()
	o.Host, o.Port, o.JetStream, o.StoreDir = "127.0.0.1", server.RANDOM_PORT, true, t.TempDir()
	o.NoLog, o.NoSigs = true, true
	ns, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(bound) {
		t.Fatal("the NATS server did not start")
	}
	return ns
}
