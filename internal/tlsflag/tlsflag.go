// Package tlsflag gives the example programs the same TLS flags and the
// same *tls.Config behind them. A server takes a certificate and its key:
//
//	prog serve -tls-cert cert.pem -tls-key key.pem
//
// and a client either checks the server's certificate against the
// system's roots, or against the CA certificates of a file, or (only for
// trying things out, with a warning) not at all:
//
//	prog send -tls [-ca ca.pem | -insecure]
//
// Register the flags on a [flag.FlagSet], call Validate after parsing (a
// mistake there is a usage error), then Config.
package tlsflag

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// MinVersion is the oldest TLS version either side accepts.
const MinVersion = tls.VersionTLS12

// ServerFlags are a server's TLS flags: -tls-cert FILE and -tls-key FILE.
type ServerFlags struct {
	CertFile string // PEM certificate chain, the server's own first
	KeyFile  string // PEM private key of the certificate
}

// Register adds -tls-cert and -tls-key to fs.
func (f *ServerFlags) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.CertFile, "tls-cert", "", "serve TCP with TLS, with the PEM certificate (chain) in `FILE`; needs -tls-key")
	fs.StringVar(&f.KeyFile, "tls-key", "", "PEM private key of -tls-cert, in `FILE`")
}

// Enabled reports whether the flags ask for TLS.
func (f *ServerFlags) Enabled() bool { return f.CertFile != "" || f.KeyFile != "" }

// Validate reports flags that do not go together: one of -tls-cert and
// -tls-key without the other.
func (f *ServerFlags) Validate() error {
	if (f.CertFile == "") != (f.KeyFile == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	return nil
}

// Config returns the server's TLS configuration, or nil when the flags
// do not ask for TLS.
func (f *ServerFlags) Config() (*tls.Config, error) {
	if err := f.Validate(); err != nil || !f.Enabled() {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", f.CertFile, f.KeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: MinVersion}, nil
}

// ClientFlags are a client's TLS flags: -tls, -ca FILE and -insecure.
type ClientFlags struct {
	TLS      bool   // use TLS; implied by CAFile and Insecure
	CAFile   string // PEM certificates of the CAs to trust instead of the system's
	Insecure bool   // do not check the server's certificate at all

	prog string // the flag set's name, for the warning
}

// Register adds -tls, -ca and -insecure to fs.
func (f *ClientFlags) Register(fs *flag.FlagSet) {
	f.prog = fs.Name()
	fs.BoolVar(&f.TLS, "tls", false, "connect with TLS, checking the server's certificate against the system's CAs")
	fs.StringVar(&f.CAFile, "ca", "", "with TLS, trust only the PEM CA certificates in `FILE` (such as a server's own self-signed one); implies -tls")
	fs.BoolVar(&f.Insecure, "insecure", false, "with TLS, accept any certificate: the connection is encrypted but anyone on the way can pose as the server; implies -tls")
}

// Enabled reports whether the flags ask for TLS.
func (f *ClientFlags) Enabled() bool { return f.TLS || f.CAFile != "" || f.Insecure }

// Validate reports flags that do not go together: -ca with -insecure.
func (f *ClientFlags) Validate() error {
	if f.CAFile != "" && f.Insecure {
		return errors.New("-ca and -insecure exclude each other: -ca checks the server's certificate, -insecure does not")
	}
	return nil
}

// Config returns the client's TLS configuration, or nil when the flags do
// not ask for TLS. With -insecure it writes a warning to warn. The server
// name to check is left empty: a [tls.Dialer] takes it from the address
// it dials.
func (f *ClientFlags) Config(warn io.Writer) (*tls.Config, error) {
	if err := f.Validate(); err != nil || !f.Enabled() {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: MinVersion}
	switch {
	case f.Insecure:
		cfg.InsecureSkipVerify = true
		prefix := ""
		if f.prog != "" {
			prefix = f.prog + ": "
		}
		fmt.Fprintf(warn, "%swarning: -insecure: the server's certificate is not checked; anyone between here and the server can pose as it and read everything\n", prefix)
	case f.CAFile != "":
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate in it", f.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// Explain adds to err, when the server's certificate failed the check,
// which flag would change that; other errors come back as they are.
func Explain(err error) error {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) {
		return fmt.Errorf("%w (-ca FILE trusts the CA certificate in FILE, such as the server's own self-signed one; -insecure skips the check)", err)
	}
	var rerr tls.RecordHeaderError
	if errors.As(err, &rerr) {
		return fmt.Errorf("%w (the server does not speak TLS on that port)", err)
	}
	return err
}
