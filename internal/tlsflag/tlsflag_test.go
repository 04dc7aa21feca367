package tlsflag

import (
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockkit/sockkit/internal/tlsflag/tlstest"
)

// parse registers both flag sets on one FlagSet and parses args.
func parse(t *testing.T, args ...string) (*ServerFlags, *ClientFlags) {
	t.Helper()
	fs := flag.NewFlagSet("prog cmd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var sf ServerFlags
	var cf ClientFlags
	sf.Register(fs)
	cf.Register(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return &sf, &cf
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args           []string
		server, client bool   // Enabled
		invalid        string // in Validate's error, of either
	}{
		{args: nil},
		{args: []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"}, server: true},
		{args: []string{"-tls-cert", "c.pem"}, server: true, invalid: "go together"},
		{args: []string{"-tls-key", "k.pem"}, server: true, invalid: "go together"},
		{args: []string{"-tls"}, client: true},
		{args: []string{"-ca", "ca.pem"}, client: true},
		{args: []string{"-insecure"}, client: true},
		{args: []string{"-tls", "-ca", "ca.pem", "-insecure"}, client: true, invalid: "exclude each other"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			sf, cf := parse(t, tt.args...)
			if sf.Enabled() != tt.server || cf.Enabled() != tt.client {
				t.Errorf("Enabled: server %v, client %v; want %v, %v", sf.Enabled(), cf.Enabled(), tt.server, tt.client)
			}
			err := sf.Validate()
			if err == nil {
				err = cf.Validate()
			}
			if tt.invalid == "" && err != nil || tt.invalid != "" && (err == nil || !strings.Contains(err.Error(), tt.invalid)) {
				t.Errorf("Validate = %v, want %q", err, tt.invalid)
			}
			if tt.invalid != "" {
				if _, serr := sf.Config(); serr == nil {
					if _, cerr := cf.Config(io.Discard); cerr == nil {
						t.Error("Config accepted flags that Validate refuses")
					}
				}
			}
		})
	}
	sf, cf := parse(t)
	if c, err := sf.Config(); c != nil || err != nil {
		t.Errorf("server Config without flags = %v, %v; want nil, nil", c, err)
	}
	if c, err := cf.Config(io.Discard); c != nil || err != nil {
		t.Errorf("client Config without flags = %v, %v; want nil, nil", c, err)
	}
}

// serveTLS accepts connections on a TLS listener made with cfg and writes
// "ok" on each, until the test ends.
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "ok") // makes the handshake; fails if the client refused it
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

// dial connects with cfg and reads what the server says.
func dial(addr string, cfg *tls.Config) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := &tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestHandshake(t *testing.T) {
	t.Parallel()
	cert := tlstest.New(t)
	sf, _ := parse(t, "-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile)
	scfg, err := sf.Config()
	if err != nil {
		t.Fatal(err)
	}
	if scfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("server MinVersion %x", scfg.MinVersion)
	}
	addr := serveTLS(t, scfg)

	t.Run("ca", func(t *testing.T) {
		_, cf := parse(t, "-ca", cert.CertFile)
		var warn bytes.Buffer
		cfg, err := cf.Config(&warn)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := dial(addr, cfg); err != nil || got != "ok" {
			t.Fatalf("dial with -ca = %q, %v", got, err)
		}
		if warn.Len() != 0 {
			t.Errorf("-ca warned: %s", warn.String())
		}
	})
	t.Run("system roots refuse a self-signed certificate", func(t *testing.T) {
		_, cf := parse(t, "-tls")
		cfg, err := cf.Config(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		_, err = dial(addr, cfg)
		if err == nil {
			t.Fatal("a self-signed certificate passed the system's roots")
		}
		if msg := Explain(err).Error(); !strings.Contains(msg, "-ca FILE") || !strings.Contains(msg, "-insecure") {
			t.Errorf("Explain = %q, want the flags that help", msg)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		_, cf := parse(t, "-insecure")
		var warn bytes.Buffer
		cfg, err := cf.Config(&warn)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := dial(addr, cfg); err != nil || got != "ok" {
			t.Fatalf("dial with -insecure = %q, %v", got, err)
		}
		if !strings.HasPrefix(warn.String(), "prog cmd: warning: -insecure") {
			t.Errorf("warning = %q", warn.String())
		}
	})
	t.Run("wrong name", func(t *testing.T) {
		_, cf := parse(t, "-ca", cert.CertFile)
		cfg, err := cf.Config(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ServerName = "example.com" // not in the certificate
		if _, err := dial(addr, cfg); err == nil {
			t.Fatal("a certificate for another name was accepted")
		}
	})
}

func TestPlainServer(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, "this is not TLS at all\n")
		c.Close()
	}()
	defer func() { l.Close(); <-done }()
	_, err = dial(l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil || !strings.Contains(Explain(err).Error(), "does not speak TLS") {
		t.Fatalf("TLS to a plain server: %v, explained %v", err, Explain(err))
	}
	plain := io.ErrUnexpectedEOF
	if Explain(plain) != plain {
		t.Error("Explain changed an unrelated error")
	}
}

func TestConfigFileErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cert := tlstest.New(t)
	tests := []struct {
		name   string
		server []string
		client []string
		want   string
	}{
		{"missing cert", []string{"-tls-cert", missing, "-tls-key", cert.KeyFile}, nil, "missing.pem"},
		{"key of no cert", []string{"-tls-cert", notPEM, "-tls-key", cert.KeyFile}, nil, "not.pem"},
		{"missing ca", nil, []string{"-ca", missing}, "-ca"},
		{"ca not PEM", nil, []string{"-ca", notPEM}, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.server != nil {
				sf, _ := parse(t, tt.server...)
				_, err = sf.Config()
			} else {
				_, cf := parse(t, tt.client...)
				_, err = cf.Config(io.Discard)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Config = %v, want an error with %q", err, tt.want)
			}
		})
	}
}
