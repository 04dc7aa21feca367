package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockkit/sockkit/timesync"
)

func init() { register(30, "timesync", tourTimesync) }

// tourTimesync runs one server for both services, NTP and the format
// service, on one UDP port; the client measures the clock with NTP and
// asks for the time in a strftime format. The server's clock is made to
// run an hour and a half ahead, so that the transcript shows a real offset
// without showing the time of day.
func tourTimesync(ctx context.Context, w io.Writer) error {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	const skew = 90 * time.Minute
	srv := &timesync.Server{
		Now:       func() time.Time { return time.Now().Add(skew) },
		Location:  time.UTC,
		MaxFormat: 32,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServePacket(ctx, pc) }()
	addr := pc.LocalAddr().String()
	fmt.Fprintln(w, "server: SNTPv4 and the format service on one UDP port, its clock 1h30m ahead")

	// The tutorial's own client: the bare format in one datagram, with no
	// padding, then a blocking read of the reply.
	tut, err := net.Dial("udp", addr)
	if err != nil {
		return err
	}
	defer tut.Close()
	const tutorialFormat = "%Y-%m-%d %H:%M:%S"
	if _, err := tut.Write([]byte(tutorialFormat)); err != nil {
		return err
	}
	tut.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	n, err := tut.Read(buf)
	if err != nil {
		return fmt.Errorf("the tutorial's request: %w", err)
	}
	fmt.Fprintf(w, "tutorial client: sendto %q -> %q\n", tutorialFormat, buf[:n])

	var c timesync.Client
	r, err := c.Query(ctx, addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "client: %d NTP samples, stratum %d, refid %s, offset %v to the nearest second\n",
		r.Samples, r.Stratum, timesync.RefIDString(r.Stratum, r.RefID), r.Offset.Round(time.Second))

	s, err := c.Format(ctx, addr, "%Z %z")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "client: format %q -> %q\n", "%Z %z", s)
	long := "%A %e %B %Y, %H:%M:%S.%6N %Z (%z)"
	var se *timesync.ServerError
	if _, err := c.Format(ctx, addr, long); errors.As(err, &se) {
		fmt.Fprintf(w, "client: format %q -> error reply %q\n", long, se.Reason)
	} else {
		return fmt.Errorf("a format longer than MaxFormat got %v", err)
	}

	shutCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, timesync.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	st := srv.Stats()
	fmt.Fprintf(w, "server: shut down after %d NTP replies, %d formatted time(s), %d error reply(ies)\n",
		st.NTPReplies, st.FormatReplies, st.FormatErrors)
	return nil
}
