package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/sockkit/sockkit/internal/termcolor"
	"github.com/sockkit/sockkit/udpcolor"
)

func init() { register(50, "udpcolor", tourUdpcolor) }

// tourUdpcolor runs a short group conversation: three members join
// through the cookie exchange, talk (one tries to slip an escape sequence
// through), leave, and the server's transcript shows it all.
func tourUdpcolor(ctx context.Context, w io.Writer) error {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	// Names in colour when the tour's output is a terminal that wants it
	// (the same rule as every sockkit program: TERM, NO_COLOR).
	color := udpcolor.ColorNever
	if termcolor.Detect(w, termcolor.Auto).Enabled() {
		color = udpcolor.ColorAlways
	}
	// The server writes its transcript from its own goroutine; the
	// lock orders those lines with the tour's own.
	w = &udpcolorWriter{w: w}
	srv := &udpcolor.Server{Transcript: w, Color: color}
	served := make(chan error, 1)
	go func() { served <- srv.ServePacket(ctx, pc) }()
	defer func() {
		srv.Close()
		<-served
	}()
	addr := pc.LocalAddr().String()

	var cl udpcolor.Client
	names := []string{"alex", "bea", "cy"}
	members := make([]*udpcolor.Conn, len(names))
	for i, name := range names {
		c, err := cl.Join(ctx, addr, name)
		if err != nil {
			return err
		}
		defer c.Close()
		members[i] = c
	}
	lines := []struct {
		from int
		text string
	}{
		{0, "anyone up for lunch?"},
		{1, "yes, at noon"},
		{2, "me too \x1b[2J\x1b]0;owned\x07(no escapes get through)"},
	}
	heard := 0
	for _, l := range lines {
		if err := members[l.from].Send(ctx, l.text); err != nil {
			return err
		}
		// Wait until every other member has heard it, to keep the order.
		for i, c := range members {
			if i == l.from {
				continue
			}
			select {
			case <-c.Messages():
				heard++
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	for _, c := range members {
		if err := c.Leave(ctx); err != nil {
			return err
		}
	}
	st := srv.Stats()
	fmt.Fprintf(w, "%d messages relayed as %d datagrams; %d heard\n", st.Requests, st.Relayed, heard)
	return srv.Shutdown(ctx)
}

// udpcolorWriter serialises writes to w.
type udpcolorWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *udpcolorWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
