// Package natsembed runs a NATS server, with JetStream, inside the
// process, listening on a loopback port: enough for chat servers on one
// machine to share rooms through [natshub], for trying it out and for
// tests, without installing anything. It is a package of its own so that
// a program that uses natshub against a NATS server of its own does not
// link the NATS server's code.
//
//	ns, err := natsembed.Start(natsembed.Options{})
//	if err != nil { ... }
//	defer ns.Shutdown()
//	hub, err := natshub.Connect(ns.URL(), natshub.Options{})
//
// [natshub]: https://pkg.go.dev/github.com/sockkit/sockkit/chat/natshub
package natsembed

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure [Start]; the zero value works.
type Options struct {
	// Port is the loopback port to listen on. Zero means one the system
	// chooses; a server started again on the port of one that stopped
	// is, to its clients, the same server coming back.
	Port int

	// StoreDir is JetStream's directory. Empty means a new temporary
	// directory, removed by Shutdown. The chat hub keeps everything in
	// memory, so nothing of it survives a restart either way.
	StoreDir string
}

// Server is a running NATS server.
type Server struct {
	ns     *server.Server
	tmpDir string
}

// Start starts a NATS server with JetStream on 127.0.0.1 and waits
// until it accepts connections (five seconds at most).
func Start(o Options) (*Server, error) {
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("natsembed: Port %d: must be 0 to 65535", o.Port)
	}
	s := &Server{}
	dir := o.StoreDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "natsembed-"); err != nil {
			return nil, err
		}
		s.tmpDir = dir
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "sockkit-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		s.removeDir()
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	s.ns = ns
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		s.Shutdown()
		return nil, errors.New("natsembed: the NATS server did not start within 5s")
	}
	return s, nil
}

// URL returns the URL clients connect to: nats://127.0.0.1:PORT.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Port returns the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.ns.Addr().String())
	n, _ := strconv.Atoi(p)
	return n
}

// Shutdown stops the server, closing every connection, waits for it to
// end, and removes the temporary directory Start made.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.removeDir()
}

func (s *Server) removeDir() {
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
}
