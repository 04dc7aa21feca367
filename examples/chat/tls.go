package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/sockkit/sockkit/chat"
	"github.com/sockkit/sockkit/internal/tlsflag"
)

// listenTLS puts TLS with cfg on each of serve's listeners that is not
// nil: the main one, the IRC one and the web one. The web server gets a
// copy of cfg that offers HTTP/1.1 alone, since a WebSocket needs it and
// the chat ports speak no HTTP at all.
func listenTLS(cfg *tls.Config, l, irc, web net.Listener) (net.Listener, net.Listener, net.Listener) {
	l = tls.NewListener(l, cfg)
	if irc != nil {
		irc = tls.NewListener(irc, cfg)
	}
	if web != nil {
		wcfg := cfg.Clone()
		wcfg.NextProtos = []string{"http/1.1"}
		web = tls.NewListener(web, wcfg)
	}
	return l, irc, web
}

// joinClient is join's chat.Client: one that dials with TLS when the
// flags ask for it (the warning of -insecure goes to warn).
func joinClient(tf *tlsflag.ClientFlags, warn io.Writer) (*chat.Client, error) {
	cfg, err := tf.Config(warn)
	if err != nil {
		return nil, err
	}
	client := new(chat.Client)
	if cfg != nil {
		client.Dial = (&tls.Dialer{Config: cfg}).DialContext
	}
	return client, nil
}

// explainJoin adds to a failure to join what the TLS flags have to do
// with it: the flag that would trust the server's certificate, the server
// not speaking TLS, or (without TLS) a server that waits for a handshake.
func explainJoin(err error, overTLS bool) error {
	if !overTLS && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (a server serving TLS waits for a handshake: add -tls, -ca FILE or -insecure)", err)
	}
	return tlsflag.Explain(err)
}
